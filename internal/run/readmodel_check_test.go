package run

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/report"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/internal/undo"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// inputRows returns the valid rows of an input file, in order, keyed as
// a run keys them.
func (h *readHistory) inputRows(path string) []resume.Row {
	rows, _ := h.walkInput(path)
	return rows
}

// walkInput returns the valid rows of an input file, in order, keyed as
// a run keys them, and counts its invalid ones.
func (h *readHistory) walkInput(path string) (rows []resume.Row, invalid int64) {
	rd, err := reader.Open(mustOpen(h.t, path), reader.Options{Name: path})
	if err != nil {
		h.t.Fatal(err)
	}
	err = resume.Walk(rd, 0, nil, func(r *resume.Row) error {
		if r.Invalid != "" {
			invalid++
			return nil
		}
		c := *r
		c.Object = nil
		rows = append(rows, c)
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return rows, invalid
}

// latestResults returns each row's latest result in a results file, by
// key.
func (h *readHistory) latestResults(path string) map[string]writer.Row {
	latest := map[string]writer.Row{}
	err := writer.ReadRows(mustOpen(h.t, path), path, func(r writer.Row) error {
		if r.KeyOK {
			latest[r.Key.String()] = r
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return latest
}

// lastApplied returns the fake's last application of row r since a
// phase began (mark), nil when none.
func (h *readHistory) lastApplied(r resume.Row, mark map[string]int) *kapturetest.Update {
	us := h.api.History(r.TicketID)
	for i := len(us) - 1; i >= mark[r.TicketID]; i-- {
		it := us[i].Item
		if it["sub_status"] == r.SubStatus && it["queue"] == r.Queue && it["disposition"] == r.Disposition && it["comment"] == r.Comment {
			return &us[i]
		}
	}
	return nil
}

// checkResults checks a job's results against what the fake applied
// since mark: a row recorded success was applied as sent, its
// sub-status not kept; a row failed as not applied had its sub-status
// kept; every other row of a ticket the tenant has succeeded. With a
// backup, the rows of a ticket the tenant does not have were never sent:
// the read of its pre-image did not show it. The last run and report
// count the rows not applied as failed.
func (h *readHistory) checkResults(input, results string, backup bool, mark map[string]int, last Snapshot) {
	t := h.t
	rows, invalid := h.walkInput(input)
	latest := h.latestResults(results)
	same := map[string]int{} // identical rows: the fake cannot tell whose application it saw
	for _, r := range rows {
		same[r.TicketID+"\x00"+r.Comment+r.SubStatus+r.Queue+r.Disposition]++
	}
	var failed, notApplied int64
	for _, r := range rows {
		got, ok := latest[r.Key.String()]
		if !ok {
			t.Errorf("%s line %d (ticket %s): no result after the job", input, r.Line, r.TicketID)
			continue
		}
		if got.Status != writer.StatusSuccess {
			failed++
		}
		if _, known := h.before[r.TicketID]; !known {
			if got.Status != writer.StatusFailed || backup && got.Message != batch.NotShown {
				t.Errorf("%s line %d: ticket %s the tenant does not have recorded %s %q (backup %v)", input, r.Line, r.TicketID, got.Status, got.Message, backup)
			}
			continue
		}
		app := h.lastApplied(r, mark)
		alone := same[r.TicketID+"\x00"+r.Comment+r.SubStatus+r.Queue+r.Disposition] == 1
		switch {
		case got.Status == writer.StatusSuccess && app == nil:
			t.Errorf("%s line %d (ticket %s): recorded success, never applied\n%s", input, r.Line, r.TicketID, h.story(r.TicketID))
		case got.Status == writer.StatusSuccess && alone && app.KeptSubStatus != "":
			t.Errorf("%s line %d (ticket %s): recorded success, but the reply showed the ticket keeping %s, not %s\n%s",
				input, r.Line, r.TicketID, app.KeptSubStatus, r.SubStatus, h.story(r.TicketID))
		case got.Status == writer.StatusSuccess:
		case strings.HasPrefix(got.Message, batch.NotAppliedPrefix):
			notApplied++
			if app == nil || (alone && app.KeptSubStatus == "") {
				t.Errorf("%s line %d (ticket %s): recorded %q, but the fake applied it as sent\n%s", input, r.Line, r.TicketID, got.Message, h.story(r.TicketID))
			}
		default:
			t.Errorf("%s line %d (ticket %s): recorded %s %q after the last clean resume\n%s", input, r.Line, r.TicketID, got.Status, got.Message, h.story(r.TicketID))
		}
	}
	if last.NotApplied != notApplied {
		t.Errorf("%s: the last run counts %d rows not applied, its results %d", input, last.NotApplied, notApplied)
	}
	rep, err := report.Build(report.Options{Results: results, Input: input, Reader: reader.Options{Name: input}})
	if err != nil {
		t.Fatal(err)
	}
	var grouped int64
	for _, g := range rep.Reasons {
		if strings.HasPrefix(g.Reason, batch.NotAppliedPrefix) {
			grouped += g.Count
		}
	}
	if rep.Failed != failed || grouped != notApplied || rep.Invalid != invalid || rep.Done() != (failed+invalid == 0) {
		t.Errorf("%s: report counts %d failed (%d not applied), %d invalid, done %v; the results hold %d failed, %d of them not applied, and %d invalid",
			input, rep.Failed, grouped, rep.Invalid, rep.Done(), failed, notApplied, invalid)
	}
}

// checkBackup checks the backup: every entry holds what its ticket held
// before the job, and each ticket of the input's valid rows has one. When
// the job's resumes were given another backup file from some point on,
// both files are held to it: the second must hold no ticket as an earlier
// run of the job left it, and the two hold every ticket between them.
func (h *readHistory) checkBackup() {
	t := h.t
	valid, want := map[string]bool{}, map[string]bool{}
	for _, r := range h.inputRows(h.input) {
		valid[r.TicketID], want[r.TicketID] = true, true
	}
	files := []string{h.backup}
	if h.switched {
		files = append(files, h.backup2)
	}
	for _, path := range files {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && path == h.backup2 {
			continue // the resumes given it had nothing left to send
		}
		err := snapshot.Read(path, func(e snapshot.Entry) error {
			if !valid[e.Ticket.ID] {
				t.Errorf("%s line %d: ticket %s of no valid row", filepath.Base(path), e.Line, e.Ticket.ID)
			}
			delete(want, e.Ticket.ID)
			h.checkPreImage(path, e)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("backup: %v, mode %v; want 0600", err, fi.Mode())
		}
		if b, _ := os.ReadFile(path); strings.Contains(string(b), "@example.com") {
			t.Error("the backup holds a customer's e-mail")
		}
	}
	for id := range want {
		t.Errorf("ticket %s has no pre-image in the backup", id)
	}
}

// checkPreImage checks that a backup's entry holds what its ticket held
// before the job.
func (h *readHistory) checkPreImage(path string, e snapshot.Entry) {
	id := e.Ticket.ID
	kt, known := h.before[id]
	if e.Ticket.Found != known {
		h.t.Errorf("%s line %d: ticket %s found %v, want %v", filepath.Base(path), e.Line, id, e.Ticket.Found, known)
		return
	}
	if !known {
		return
	}
	ok := h.sameCode(e.Ticket.SubStatus, kt.SubStatus.Key, kt.SubStatus.Name) && e.Ticket.Disposition == kt.Disposition
	if h.shape.queue {
		ok = ok && h.sameCode(e.Ticket.Queue, kt.Queue.Key, kt.Queue.Name)
	}
	if !ok && h.homonym(kt.SubStatus.Name) && e.Ticket.SubStatus.Key != kt.SubStatus.Key && !*readStrict {
		h.log = append(h.log, fmt.Sprintf("the backup takes sub-status %q of ticket %s for %s; it held %s", kt.SubStatus.Name, id, e.Ticket.SubStatus.Key, kt.SubStatus.Key))
		return // see readStrict
	}
	if !ok {
		h.t.Errorf("%s line %d: ticket %s backed up as %+v, but held %+v before the job\n%s", filepath.Base(path), e.Line, id, e.Ticket, kt.Holding(), h.story(id))
	}
}

// undoSnapshot is the snapshot undo restores the job from: the backup,
// or, when the job's resumes were given another file, the two pasted
// together (a ticket's first entry counts), as an operator would.
func (h *readHistory) undoSnapshot() string {
	if !h.switched {
		return h.backup
	}
	first, _ := os.ReadFile(h.backup)
	second, err := os.ReadFile(h.backup2)
	if _, rest, ok := strings.Cut(string(second), "\n"); err == nil && ok {
		first = append(first, rest...)
	}
	path := h.path("snap.both.csv")
	h.writeFile(path, string(first))
	return path
}

// sameCode reports whether a snapshot's code stands for key (named
// name): its key, or, without one, the value the read showed.
func (h *readHistory) sameCode(c batch.Code, key, name string) bool {
	if c.Key != "" {
		return c.Key == key
	}
	return c.Value == h.shown(key, name)
}

// undo plans the restore of the job from the backup and its results,
// runs it, and checks that every ticket the job changed holds what it
// held before (in the fields undo can restore), or was left out for a
// reason that holds, or its restore row was refused by the workflow.
func (h *readHistory) undo() {
	t := h.t
	book := h.operatorBook(h.results)
	var out bytes.Buffer
	res, err := undo.Plan(undo.Options{Snapshot: h.undoSnapshot(), Results: h.results, Book: book, Out: &out})
	if err != nil {
		t.Fatalf("undo: %v", err)
	}
	h.log = append(h.log, fmt.Sprintf("undo: %d restored, %d left out, not carried %v", res.Restored, res.LeftOutTotal, res.NotCarried))
	left := map[string]undo.LeftOut{}
	for _, lo := range res.LeftOut {
		left[lo.TicketID] = lo
	}
	restore, results := h.path("restore.csv"), h.path("restore.results.csv")
	h.writeFile(restore, out.String())
	rows := map[string]resume.Row{}
	if res.Restored > 0 {
		mark := h.applied()
		last := h.job("restore", restore, results, "")
		h.checkResults(restore, results, false, mark, last)
		for _, r := range h.inputRows(restore) {
			rows[r.TicketID] = r
		}
	}
	var latest map[string]writer.Row
	if len(rows) > 0 {
		latest = h.latestResults(results)
	}
	for id, r := range rows {
		if !h.changed[id] {
			t.Errorf("undo: ticket %s is restored (line %d), but the job never changed it", id, r.Line)
		}
	}
	for id, changed := range h.changed {
		if !changed {
			continue
		}
		pre, now := h.before[id], h.ticket(id)
		if lo, ok := left[id]; ok {
			if why := h.leftOutCause(book, pre); why == "" {
				t.Errorf("undo: ticket %s left out (%s), but the book translates what it held: %+v\n%s", id, lo.Reason, pre.Holding(), h.story(id))
			}
			continue
		}
		if r, ok := rows[id]; ok {
			if got := latest[r.Key.String()]; got.Status != writer.StatusSuccess {
				continue // refused by the workflow: checkResults held it to its reply
			}
			if r.SubStatus != pre.SubStatus.Key && h.homonym(pre.SubStatus.Name) && !*readStrict {
				h.log = append(h.log, fmt.Sprintf("undo takes sub-status %q of ticket %s for %s; it held %s", pre.SubStatus.Name, id, r.SubStatus, pre.SubStatus.Key))
				continue // see readStrict
			}
		}
		if !h.restored(pre, now) {
			t.Errorf("undo: ticket %s holds %+v; before the job it held %+v (restore row %+v)\n%s",
				id, now.Holding(), pre.Holding(), rows[id].Record, h.story(id))
		}
	}
}

// ticket is what the fake holds for id, which it has.
func (h *readHistory) ticket(id string) kapturetest.Ticket {
	kt, ok := h.api.Ticket(id)
	if !ok {
		h.t.Fatalf("the fake has no ticket %s", id)
	}
	return kt
}

// restored reports whether now holds what pre held in the fields undo
// can restore: the sub-status; the queue when reads carry it and there
// was one; the disposition when there was one (an update cannot clear
// a field).
func (h *readHistory) restored(pre, now kapturetest.Ticket) bool {
	return now.SubStatus.Key == pre.SubStatus.Key &&
		(!h.shape.queue || pre.Queue.Key == "" || now.Queue.Key == pre.Queue.Key) &&
		(pre.Disposition == "" || now.Disposition == pre.Disposition)
}

// leftOutCause says why undo cannot restore pre with book: a value no
// one key explains; "" when it can.
func (h *readHistory) leftOutCause(book *names.Book, pre kapturetest.Ticket) string {
	if _, ok := h.expectKey(book, names.SubStatus, h.shown(pre.SubStatus.Key, pre.SubStatus.Name), pre.SubStatus.Status); !ok {
		return "sub-status"
	}
	if _, ok := h.expectKey(book, names.Queue, h.shown(pre.Queue.Key, pre.Queue.Name), kapturetest.Status{}); h.shape.queue && !ok {
		return "queue"
	}
	return ""
}

// story tells what happened to a ticket: what it held before the job,
// the rows of the input, and what the fake applied.
func (h *readHistory) story(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  before the job: %+v\n", h.before[id].Holding())
	for i, r := range h.rows {
		if r.ticket == id {
			fmt.Fprintf(&b, "  input row %d (line %d): %+v\n", i, i+2, r)
		}
	}
	for _, u := range h.api.History(id) {
		fmt.Fprintf(&b, "  applied by request %d: %s %s %s %s kept %q\n", u.Request, u.Item["sub_status"], u.Item["queue"], u.Item["disposition"], u.Item["comment"], u.KeptSubStatus)
	}
	return b.String()
}
