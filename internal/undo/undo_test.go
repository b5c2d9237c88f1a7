package undo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/names/namestest"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

const api = "https://acme.kapturecrm.com"

// job is a fake tenant, a snapshot of its tickets before a job, the job
// (hand-made results of updates applied to the fake) and its files.
type job struct {
	h        *kapturetest.Handler
	dir      string
	snap     string
	results  string
	ids      []string
	before   map[string]kapturetest.Holding
	queue    bool // reads carry the queue
	readKeys bool // reads show keys
}

func newJob(t *testing.T, n int, queue bool) *job {
	j := &job{h: kapturetest.NewHandler(kapturetest.Options{}), dir: t.TempDir(), queue: queue, before: map[string]kapturetest.Holding{}}
	j.snap = filepath.Join(j.dir, "snap.csv")
	j.results = filepath.Join(j.dir, "job.results.csv")
	for i := range n {
		j.ids = append(j.ids, fmt.Sprintf("7135165513%02d", i))
	}
	return j
}

// read is ticket id as a Get Ticket read shows it.
func (j *job) read(id string) batch.Ticket {
	return namestest.Read(j.h, id, namestest.Shape{Keys: j.readKeys, Queue: j.queue})
}

// backup writes the snapshot of ids, keys resolved through b.
func (j *job) backup(t *testing.T, b *names.Book, ids ...string) {
	t.Helper()
	w, err := snapshot.Open(j.snap, api)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, id := range ids {
		if kt, ok := j.h.Ticket(id); ok {
			j.before[id] = kt.Holding()
		}
		if err := w.Add([]snapshot.Entry{snapshot.NewEntry(j.read(id), time.Now(), api, b)}); err != nil {
			t.Fatal(err)
		}
	}
}

// outcome is what the job did to a ticket.
type outcome int

const (
	succeeded outcome = iota
	failed            // refused: the ticket is as it was
	inFlight          // killed while the request was out: applied
	resumed           // in flight, then recorded so by a resume: applied
)

// run applies the job's updates to the fake and records them as outcomes
// says, with RESULTS.names.csv beside the results (the pairs of the
// replies).
func (j *job) run(t *testing.T, to kapturetest.Holding, outcomes map[string]outcome) {
	t.Helper()
	w, err := writer.Open(j.results, writer.Create)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StartJournal(1, len(outcomes)); err != nil {
		t.Fatal(err)
	}
	var rows []writer.Result
	line := 1
	for _, id := range j.ids {
		o, ok := outcomes[id]
		if !ok {
			continue
		}
		line++
		key := rowkey.New(id, []byte(id+to.SubStatus))
		switch o {
		case inFlight:
			if err := w.Sending(0, []writer.InFlight{{Key: key, Line: line, TicketID: id}}); err != nil {
				t.Fatal(err)
			}
		case succeeded:
			rows = append(rows, writer.Result{TicketID: id, Status: writer.StatusSuccess, Line: line, Attempts: 1, Key: key})
		case failed:
			rows = append(rows, writer.Result{TicketID: id, Status: writer.StatusFailed, Message: "refused", Line: line, Attempts: 1, Key: key})
			continue
		case resumed:
			rows = append(rows, writer.Result{TicketID: id, Status: writer.StatusFailed, Message: resume.MsgUnknown, Line: line, Attempts: 1, Key: key})
		}
		hd := j.before[id]
		hd.SubStatus = to.SubStatus
		if to.Queue != "" {
			hd.Queue = to.Queue
		}
		if to.Disposition != "" {
			hd.Disposition = to.Disposition
		}
		if err := j.h.SetTicket(id, hd); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := catalogue().Save(names.ResultsPath(j.results), api); err != nil {
		t.Fatal(err)
	}
}

// catalogue is what the fake tenant's update replies teach.
func catalogue() *names.Book { return namestest.Catalogue() }

// restore runs RESTORE.csv as the API would (an empty cell changes
// nothing) after checking it is an ordinary input: what validate checks.
func (j *job) restore(t *testing.T, file []byte) {
	t.Helper()
	if _, err := reader.Check(bytes.NewReader(file), reader.Options{Name: "RESTORE.csv"}); err != nil {
		t.Fatalf("RESTORE.csv is no input: %v", err)
	}
	rd, err := reader.Open(bytes.NewReader(file), reader.Options{Name: "RESTORE.csv"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil || rec.Invalid != "" {
			t.Fatalf("RESTORE.csv row: %v %s", err, rec.Invalid)
		}
		kt, _ := j.h.Ticket(rec.TicketID)
		hd := kt.Holding()
		hd.SubStatus = rec.SubStatus
		if rec.Queue != "" {
			hd.Queue = rec.Queue
		}
		if rec.Disposition != "" {
			hd.Disposition = rec.Disposition
		}
		if err := j.h.SetTicket(rec.TicketID, hd); err != nil {
			t.Fatal(err)
		}
	}
}

func plan(t *testing.T, opts Options) (*Result, []byte) {
	t.Helper()
	var out bytes.Buffer
	opts.Out = &out
	res, err := Plan(opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, out.Bytes()
}

// TestRestore: backup, a job, undo: every ticket the job changed (a
// success, or a request in flight at a kill) holds what it held before,
// but for a field it held none of (an update cannot clear one) and the
// tickets listed as untranslatable; the others are not in RESTORE.csv.
func TestRestore(t *testing.T) {
	j := newJob(t, 10, true)
	for i, hd := range []kapturetest.Holding{
		{SubStatus: "PS", Queue: "L2-Billing", Disposition: "Query|Order Status"},
		{SubStatus: "P", Queue: "L1-Support"},
		{SubStatus: "RS", Queue: "", Disposition: "Request|Refund"}, // in no queue
		{SubStatus: "PO", Queue: "ESC"},                             // "Others": PO under Pending, CO under Complete
		{SubStatus: "PC", Queue: "ESC"},                             // in flight at a kill
		{SubStatus: "CD", Queue: "L1-Support"},                      // failed: untouched
		{SubStatus: "P", Queue: "L2-Billing"},                       // not in the job
		{SubStatus: "RS", Queue: "ESC"},                             // in flight, recorded so by a resume
	} {
		if err := j.h.SetTicket(j.ids[i], hd); err != nil {
			t.Fatal(err)
		}
	}
	j.backup(t, catalogue(), j.ids[:8]...)
	j.run(t, kapturetest.Holding{SubStatus: "CL", Queue: "ESC", Disposition: "Complaint|Late Delivery"}, map[string]outcome{
		j.ids[0]: succeeded, j.ids[1]: succeeded, j.ids[2]: succeeded, j.ids[3]: succeeded,
		j.ids[4]: inFlight, j.ids[5]: failed, j.ids[7]: resumed,
		j.ids[9]: succeeded, // no pre-image: the backup lacks it
	})
	res, file := plan(t, Options{Snapshot: j.snap, Results: j.results, Book: catalogue()})
	want := "ticket_id,sub_status,queue,disposition\n" +
		j.ids[0] + ",PS,L2-Billing,Query|Order Status\n" +
		j.ids[1] + ",P,L1-Support,\n" +
		j.ids[2] + ",RS,,Request|Refund\n" +
		j.ids[3] + ",PO,ESC,\n" +
		j.ids[4] + ",PC,ESC,\n" +
		j.ids[7] + ",RS,ESC,\n"
	if string(file) != want {
		t.Errorf("RESTORE.csv:\n%s\nwant:\n%s", file, want)
	}
	if res.Changed != 7 || res.Restored != 6 || res.Unsnapped != 1 || !slices.Equal(res.UnsnappedLines, []int{9}) || res.Complete() {
		t.Errorf("result: %+v", res)
	}
	if res.LeftOutTotal != 0 || len(res.Names) != 0 {
		t.Errorf("left out: %+v; names %+v", res.LeftOut, res.Names)
	}
	if res.NoneBefore["queue"] != 1 || res.NoneBefore["disposition"] != 4 || len(res.NotCarried) != 0 || res.API != api {
		t.Errorf("none before: %v; not carried %v; api %q", res.NoneBefore, res.NotCarried, res.API)
	}
	j.restore(t, file)
	for i, id := range j.ids[:8] {
		kt, _ := j.h.Ticket(id)
		want := j.before[id]
		switch i {
		case 2:
			want.Queue = "ESC" // it was in none: the job's stays
		case 1, 3, 4, 7:
			want.Disposition = "Complaint|Late Delivery" // it had none
		}
		if got := kt.Holding(); got != want {
			t.Errorf("ticket %d after undo holds %+v, want %+v", i, got, want)
		}
	}
}

// TestUntranslatable: a snapshot of names no pair gives a key for leaves
// every ticket out, grouped by name with the line to add; with those lines
// in a names file, the same snapshot restores them all.
func TestUntranslatable(t *testing.T) {
	j := newJob(t, 6, false)
	j.backup(t, nil, append(j.ids, "999900000001")...)
	res, file := plan(t, Options{Snapshot: j.snap})
	if res.Restored != 0 || res.LeftOutTotal != 7 || string(file) != Header+"\n" {
		t.Fatalf("result %+v\n%s", res, file)
	}
	if !slices.Equal(res.NotCarried, []string{"queue"}) {
		t.Errorf("not carried: %v", res.NotCarried)
	}
	var lines []string
	var total int64
	for _, n := range res.Names {
		if n.Add == "" {
			t.Errorf("no line to add for %+v", n)
		}
		lines = append(lines, strings.Replace(n.Add, "KEY", keyOf(t, n.Value), 1))
		total += n.Tickets
	}
	if total != 6 || !strings.Contains(res.LeftOut[6].Reason, "not found") {
		t.Errorf("names %+v, left out %+v", res.Names, res.LeftOut)
	}
	names := filepath.Join(j.dir, "names.csv")
	if err := os.WriteFile(names, []byte("kind,key,name,parent\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := namesBook(t, names)
	res, file = plan(t, Options{Snapshot: j.snap, Book: b})
	if res.Restored != 6 || res.LeftOutTotal != 1 {
		t.Errorf("with the names file: %+v", res)
	}
	j.restore(t, file)
}

func namesBook(t *testing.T, path string) *names.Book {
	b := names.NewBook()
	if err := b.Load(path); err != nil {
		t.Fatal(err)
	}
	return b
}

// keyOf is what the operator looks up in Kapture's admin: the key of a
// sub-status name (unique among the tickets of TestUntranslatable).
func keyOf(t *testing.T, name string) string {
	for _, s := range kapturetest.DefaultCatalogue().SubStatuses {
		if s.Name == name {
			return s.Key
		}
	}
	t.Fatalf("no key named %q", name)
	return ""
}

func TestRefusals(t *testing.T) {
	j := newJob(t, 4, true)
	j.backup(t, catalogue(), j.ids[:2]...)
	j.run(t, kapturetest.Holding{SubStatus: "CL"}, map[string]outcome{j.ids[2]: succeeded, j.ids[3]: succeeded})
	var out bytes.Buffer
	if _, err := Plan(Options{Snapshot: j.snap, Results: j.results, Book: catalogue(), Out: &out}); !errors.Is(err, ErrOtherTickets) {
		t.Errorf("a snapshot of other tickets: %v, want ErrOtherTickets", err)
	}

	// The results' names file says they were sent to another API.
	b := names.NewBook()
	b.Learn(names.SubStatus, "CL", "Closed")
	os.Remove(names.ResultsPath(j.results))
	if err := b.Save(names.ResultsPath(j.results), "https://other.kapturecrm.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := Plan(Options{Snapshot: j.snap, Results: j.results, Out: &out}); !errors.Is(err, ErrOtherTenant) || !strings.Contains(err.Error(), "other.kapturecrm.com") {
		t.Errorf("a snapshot of another tenant: %v, want ErrOtherTenant", err)
	}
	if _, err := Plan(Options{Snapshot: j.results, Out: &out}); !errors.Is(err, snapshot.ErrNotSnapshot) {
		t.Errorf("a results file given as the snapshot: %v", err)
	}
	if _, err := Plan(Options{Snapshot: j.snap, Results: filepath.Join(j.dir, "missing.csv")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing results: %v", err)
	}
}

// TestDamagedResults: a results row that cannot be read but names a
// ticket may be a success: its ticket is restored.
func TestDamagedResults(t *testing.T) {
	j := newJob(t, 2, true)
	j.backup(t, catalogue(), j.ids...)
	j.run(t, kapturetest.Holding{SubStatus: "CL"}, map[string]outcome{j.ids[0]: failed})
	f, err := os.OpenFile(j.results, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s,success,ok,3,200,1,2025-03-01T09:30:00.000Z,k12 (edited)\n", j.ids[1])
	f.Close()
	res, file := plan(t, Options{Snapshot: j.snap, Results: j.results, Book: catalogue()})
	if res.Changed != 1 || res.Restored != 1 || !strings.Contains(string(file), "\n"+j.ids[1]+",") {
		t.Errorf("result %+v\n%s", res, file)
	}
}

// TestParentlessPairsPerStatus: undo groups the names it cannot translate
// by the status they were read under, with the line to add giving it as
// the parent; a pair without a parent translates neither ticket (the one
// under Pending is PO, not CO); the line as advised restores the one it
// names and leaves the other listed (F14).
func TestParentlessPairsPerStatus(t *testing.T) {
	j := newJob(t, 2, false)
	for i, sub := range []string{"PO", "CO"} { // Pending/Others, Complete/Others
		if err := j.h.SetTicket(j.ids[i], kapturetest.Holding{SubStatus: sub}); err != nil {
			t.Fatal(err)
		}
	}
	j.backup(t, nil, j.ids...)
	j.run(t, kapturetest.Holding{SubStatus: "CL"}, map[string]outcome{j.ids[0]: succeeded, j.ids[1]: succeeded})
	advice := []string{"sub_status,KEY,Others,Pending", "sub_status,KEY,Others,Complete"}
	for _, tt := range []struct {
		file    string
		restore string   // RESTORE.csv's rows
		advice  []string // the lines undo asks for
	}{
		{"", "", advice},
		{"kind,key,name\nsub_status,CO,Others\n", "", advice},
		{"kind,key,name,parent\nsub_status,CO,Others,Complete\n", j.ids[1] + ",CO,,\n", advice[:1]},
	} {
		b := names.NewBook()
		if tt.file != "" {
			path := filepath.Join(t.TempDir(), "names.csv")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			b = namesBook(t, path)
		}
		res, file := plan(t, Options{Snapshot: j.snap, Results: j.results, Book: b})
		if string(file) != Header+"\n"+tt.restore {
			t.Errorf("names file %q: RESTORE.csv:\n%s\nwant the rows:\n%s", tt.file, file, tt.restore)
		}
		var got []string
		for _, n := range res.Names {
			if n.Tickets != 1 {
				t.Errorf("names file %q: %+v groups %d tickets, want 1", tt.file, n, n.Tickets)
			}
			got = append(got, n.Add)
		}
		if !slices.Equal(got, tt.advice) {
			t.Errorf("names file %q: undo asks for %q, want %q", tt.file, got, tt.advice)
		}
	}
}
