package verify

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/names/namestest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// tenant is the fake Kapture: tickets with a state drawn from their ids,
// hand edits, and reads shown as Get Ticket shows them (names, no queue
// unless asked).
type tenant struct {
	h     *kapturetest.Handler
	queue bool // reads carry the queue

	mu    sync.Mutex
	calls [][]string
	// drop, when set, leaves field names out of a call's reads: call
	// number → fields.
	drop map[int][]string
}

func newTenant(queue bool) *tenant {
	return &tenant{h: kapturetest.NewHandler(kapturetest.Options{}), queue: queue}
}

func (tn *tenant) read(_ context.Context, ids []string) ([]batch.Ticket, error) {
	tn.mu.Lock()
	call := len(tn.calls)
	tn.calls = append(tn.calls, slices.Clone(ids))
	tn.mu.Unlock()
	out := make([]batch.Ticket, len(ids))
	for i, id := range ids {
		t := namestest.Read(tn.h, id, namestest.Shape{Queue: tn.queue})
		t.Raw = nil
		for _, f := range tn.drop[call] {
			switch f {
			case "queue":
				t.Queue = batch.Code{}
			case "sub_status":
				t.SubStatus = batch.Code{}
			case "disposition":
				t.Disposition, t.DispositionGiven = "", false
			}
		}
		out[i] = t
	}
	return out, nil
}

// set makes ticket id hold sub, queue and disposition.
func (tn *tenant) set(t *testing.T, id, sub, queue, dispo string) {
	t.Helper()
	if err := tn.h.SetTicket(id, kapturetest.Holding{SubStatus: sub, Queue: queue, Disposition: dispo}); err != nil {
		t.Fatal(err)
	}
}

// book is what a run's replies teach about the fake tenant.
func book() *names.Book { return namestest.Catalogue() }

func writeInput(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// check runs Check and returns its result and VERIFY.csv's rows by ticket.
func check(t *testing.T, opts Options) (*Result, map[string][]string, *bytes.Buffer) {
	t.Helper()
	var out, fix bytes.Buffer
	opts.Out, opts.Differs = &out, &fix
	if opts.Book == nil {
		opts.Book = book()
	}
	opts.TempDir = t.TempDir()
	res, err := Check(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != Header {
		t.Fatalf("VERIFY.csv: %v\n%s", err, out.String())
	}
	rows := map[string][]string{}
	for _, r := range recs[1:] {
		if _, dup := rows[r[0]]; dup {
			t.Errorf("ticket %s has two rows", r[0])
		}
		rows[r[0]] = r
	}
	if got := int64(len(recs) - 1); got != res.Tickets {
		t.Errorf("%d rows, but Tickets = %d", got, res.Tickets)
	}
	if entries, _ := os.ReadDir(opts.TempDir); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	return res, rows, &fix
}

// TestVerdicts: each verdict, against the ticket's last valid row, field
// by field for the fields the row sets.
func TestVerdicts(t *testing.T) {
	tn := newTenant(true)
	tn.set(t, "713516551100", "CL", "ESC", "Query|Refund") // matches its row
	tn.set(t, "713516551101", "PS", "L1-Support", "")      // its last row wants CL
	tn.set(t, "713516551102", "PO", "", "")                // "Others": PO under Pending, CO under Complete
	tn.set(t, "713516551103", "CL", "ESC", "")             // read without its queue
	tn.set(t, "713516551104", "RS", "L2-Billing", "x")     // queue differs, sub-status matches
	tn.set(t, "713516551105", "P", "", "")                 // matches; a later row is invalid
	tn.drop = map[int][]string{}
	in := writeInput(t, "ticket_id,sub_status,queue,comment,disposition\n"+
		"713516551100,CL,ESC,done,Query|Refund\n"+
		"713516551101,P,,first,\n"+
		"713516551101,CL,,second,\n"+
		"713516551102,PO,,,\n"+
		"713516551103,CL,ESC,,\n"+
		"713516551104,RS,ESC,,\n"+
		"999900000001,CL,,,\n"+
		"713516551105,P,,,\n"+
		"713516551105,,,invalid: no sub-status,\n")
	calls := 0
	res, rows, _ := check(t, Options{Input: in, Read: func(ctx context.Context, ids []string) ([]batch.Ticket, error) {
		got, err := tn.read(ctx, ids)
		for i := range got {
			if got[i].ID == "713516551103" {
				got[i].Queue = batch.Code{}
			}
		}
		calls++
		return got, err
	}})
	want := map[string]string{
		"713516551100": "match|sub_status; queue; disposition|CL (Closed); ESC (Escalations); Query|Refund|CL (Closed); ESC (Escalations); Query|Refund|2",
		"713516551101": "differs|sub_status|PS (Pending Seller)|CL (Closed)|4",
		"713516551102": "match|sub_status|PO (Others)|PO (Others)|5",
		"713516551103": "unknown|queue|(not in the read)|ESC (Escalations)|6",
		"713516551104": "differs|queue|L2-Billing (L2 Billing)|ESC (Escalations)|7",
		"999900000001": "not_found||||8",
		"713516551105": "match|sub_status|P (Pending)|P (Pending)|9",
	}
	for id, w := range want {
		r := rows[id]
		if r == nil {
			t.Errorf("ticket %s: no row", id)
			continue
		}
		if got := strings.Join(r[1:6], "|"); got != w {
			t.Errorf("ticket %s: %s\nwant        %s (detail %q)", id, got, w, r[6])
		}
	}
	if res.Match != 3 || res.Differs != 2 || res.Unknown != 1 || res.NotFound != 1 || res.InvalidRows != 1 || res.AllMatch() {
		t.Errorf("result: %+v", res)
	}
	if len(res.NotVerifiable) != 0 || calls != 1 {
		t.Errorf("not verifiable: %v; calls %d", res.NotVerifiable, calls)
	}
	var groups []string
	for _, g := range res.Reasons {
		groups = append(groups, fmt.Sprintf("%s %d %s", g.Status, g.Count, g.Reason))
	}
	if len(groups) != 4 || !slices.Contains(groups, "differs 1 differs: sub_status holds PS (Pending Seller), wants CL (Closed)") {
		t.Errorf("reasons:\n%s", strings.Join(groups, "\n"))
	}
}

// TestNotVerifiableOnTenant: a field no read carries is said once and
// makes no ticket unknown; one carried by some reads makes the tickets
// whose reads lack it unknown, also those read before the first read
// that carried it.
func TestNotVerifiableOnTenant(t *testing.T) {
	tn := newTenant(false) // the vendor's reads: no queue
	var in strings.Builder
	in.WriteString("ticket_id,sub_status,queue\n")
	ids := make([]string, 7)
	for i := range ids {
		ids[i] = fmt.Sprintf("7135165512%02d", i)
		tn.set(t, ids[i], "CL", "ESC", "")
		fmt.Fprintf(&in, "%s,CL,ESC\n", ids[i])
	}
	path := writeInput(t, in.String())
	res, rows, _ := check(t, Options{Input: path, Read: tn.read, Batch: 3})
	if !res.AllMatch() || !slices.Equal(res.NotVerifiable, []string{"queue"}) {
		t.Errorf("a tenant whose reads carry no queue: %+v", res)
	}
	if got := rows[ids[0]][2]; got != "sub_status" {
		t.Errorf("a match names the fields compared: %q", got)
	}

	tn.queue = true
	tn.calls = nil
	tn.drop = map[int][]string{0: {"queue"}, 1: {"queue"}} // the first reads lack it
	res, rows, _ = check(t, Options{Input: path, Read: tn.read, Batch: 3})
	if res.Match != 1 || res.Unknown != 6 || len(res.NotVerifiable) != 0 {
		t.Errorf("queue carried by the last read only: %+v", res)
	}
	for _, id := range ids[:6] {
		if r := rows[id]; strings.Join(r[1:5], "|") != "unknown|queue|(not in the read)|ESC (Escalations)" || !strings.Contains(r[6], "though this tenant's reads carry it") {
			t.Errorf("ticket %s read before the queue was carried: %q", id, r)
		}
	}
	if len(tn.calls) != 3 || len(tn.calls[0]) != 3 || len(tn.calls[2]) != 1 {
		t.Errorf("reads in batches of 3: %v", tn.calls)
	}
}

// TestDiffersFile: the rows of the tickets that differ, in the input's own
// columns and delimiter, with what differs in an error column the reader
// does not send, formula-like cells as they were: an input to run.
func TestDiffersFile(t *testing.T) {
	tn := newTenant(false)
	tn.set(t, "713516551100", "CL", "", "")
	tn.set(t, "713516551101", "PS", "", "")
	tn.set(t, "713516551102", "RS", "", "")
	in := writeInput(t, "Ticket ID;Sub Status;Comment;note\n"+
		"713516551100;CL;ok;a\n"+
		"713516551101;P;\"=HYPERLINK(\"\"x\"\")\";b\n"+
		"713516551101;CL;\"two\nlines\";c\n"+
		"713516551102;-P;+1;d\n")
	res, rows, fix := check(t, Options{Input: in, Read: tn.read})
	if res.Differs != 2 || res.DiffersWritten != 2 {
		t.Fatalf("result: %+v", res)
	}
	if got := rows["713516551102"][4]; got != "'-P" {
		t.Errorf("VERIFY.csv's wants cell %q: a formula-like value must be neutralised", got)
	}
	rd, err := reader.Open(bytes.NewReader(fix.Bytes()), reader.Options{Name: "FIX.csv", AllExtra: true, KeepRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rd.RawHeader(), "|"); got != "Ticket ID|Sub Status|Comment|note|error" {
		t.Errorf("header %q", got)
	}
	var got []string
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || rec.Invalid != "" {
			t.Fatalf("FIX.csv row: %v %q", err, rec.Invalid)
		}
		if len(rec.Extra) != 1 || rec.Extra[0].Name != "note" {
			t.Errorf("sent extra columns: %+v", rec.Extra)
		}
		got = append(got, strings.Join([]string{rec.TicketID, rec.SubStatus, rec.Comment, rec.Raw[4]}, "|"))
	}
	want := []string{
		"713516551101|CL|two\nlines|differs: sub_status holds PS (Pending Seller), wants CL (Closed)",
		"713516551102|-P|+1|differs: sub_status holds RS (Resolved), wants -P",
	}
	if !slices.Equal(got, want) {
		t.Errorf("FIX.csv rows:\n%q\nwant\n%q", got, want)
	}
}

func TestReadErrors(t *testing.T) {
	in := writeInput(t, "ticket_id,sub_status\n713516551100,CL\n713516551101,CL\n")
	stop := errors.New("API down")
	for _, tt := range []struct {
		name string
		read func(context.Context, []string) ([]batch.Ticket, error)
		want string
	}{
		{"the read fails", func(context.Context, []string) ([]batch.Ticket, error) { return nil, stop }, "API down"},
		{"too few tickets", func(_ context.Context, ids []string) ([]batch.Ticket, error) {
			return []batch.Ticket{{ID: ids[0]}}, nil
		}, "1 tickets for 2 ids"},
		{"another ticket", func(_ context.Context, ids []string) ([]batch.Ticket, error) {
			return []batch.Ticket{{ID: ids[1]}, {ID: ids[0]}}, nil
		}, `ticket "713516551101" where "713516551100" was asked`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Check(context.Background(), Options{Input: in, Read: tt.read, TempDir: dir})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: %v, want …%s…", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("temporary files left: %v", entries)
			}
		})
	}
	res, err := Check(context.Background(), Options{Input: writeInput(t, "ticket_id,sub_status\n713516551100,\n"),
		Read: newTenant(false).read, TempDir: t.TempDir()})
	if err != nil || res.AllMatch() || res.Tickets != 0 || res.InvalidRows != 1 {
		t.Errorf("an input of invalid rows only: %+v, %v; want nothing verified, not all match", res, err)
	}
}

// TestParentlessPairIsNoMatch: a row's key K matches a read of a name
// under a status only when the book knows K sits under that status. A
// names file's pair without a parent (sub_status,PO,Others) does not
// make a ticket in Complete/Others (CO) match a row that wants PO: the
// verdict is unknown, and its detail names the line to add with the
// status read as the parent (F14).
func TestParentlessPairIsNoMatch(t *testing.T) {
	tn := newTenant(false)
	tn.set(t, "713516551112", "CO", "", "") // Complete/Others
	tn.set(t, "713516551113", "PO", "", "") // Pending/Others
	in := writeInput(t, "ticket_id,sub_status\n713516551112,PO\n713516551113,PO\n")
	for _, tt := range []struct {
		file string
		want map[string]string // ticket → verdict
	}{
		{"kind,key,name\nsub_status,PO,Others\n", map[string]string{"713516551112": "unknown", "713516551113": "unknown"}},
		{"kind,key,name,parent\nsub_status,PO,Others,Pending\n", map[string]string{"713516551112": "unknown", "713516551113": "match"}},
	} {
		path := filepath.Join(t.TempDir(), "names.csv")
		if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
			t.Fatal(err)
		}
		b := names.NewBook()
		if err := b.Load(path); err != nil {
			t.Fatal(err)
		}
		_, rows, _ := check(t, Options{Input: in, Read: tn.read, Book: b})
		for id, want := range tt.want {
			if got := rows[id]; got == nil || got[1] != want {
				t.Errorf("names file %q: ticket %s: %q, want %s", tt.file, id, got, want)
			}
		}
		if d := rows["713516551112"][6]; !strings.Contains(d, "sub_status,KEY,Others,Complete") {
			t.Errorf("names file %q: the unknown verdict's detail does not give the line with its parent: %q", tt.file, d)
		}
	}
}
