package report

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/rowkey"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// The error cell of a failed row that has no message of its own.
const (
	msgNotSent    = "not sent"
	msgUnreadable = "its latest result in the results file could not be read (edited or re-saved by a spreadsheet?)"
)

// msgOutOfOrder is the error cell of a row that is done but must go out
// again after an earlier row of its ticket.
func msgOutOfOrder(ticket string) string {
	return fmt.Sprintf("done, but sent again after the rows of ticket %s above it, so that the ticket ends in this row's state", ticket)
}

// walker is one read of the input against the results.
type walker struct {
	res     *results
	rep     *Report
	plan    *resume.Plan[heldRow] // nil when the results hold no row
	tally   *reason.Tally
	failing map[int]string // with failed rows to write: the rows not done, by ordinal, and their error
}

// heldRow is a row the order rules hold back until they know whether it
// is its ticket's last: done so far, maybe to be sent again.
type heldRow struct {
	ordinal int
	st      state
	ticket  string
}

// walkInput reads the input in order and fills rep with the final state of
// each of its rows; with Options.FailedRows it then writes the rows not
// done.
func walkInput(opts Options, res *results, rep *Report) error {
	w := &walker{res: res, rep: rep, tally: reason.NewTally(0)}
	if st := res.order.Build(); st.Rows() > 0 {
		w.plan = resume.NewPlan[heldRow](st, 0)
	}
	if opts.FailedRows != nil {
		w.failing = map[int]string{}
	}
	fh, err := os.Open(opts.Input)
	if err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	defer fh.Close()
	rd, err := reader.Open(fh, opts.Reader)
	if err != nil {
		return err
	}
	keys := run.NewKeyer()
	var valid, matched int
	for ordinal := 0; ; ordinal++ {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		rep.Rows++
		if rec.Invalid != "" {
			rep.Invalid++
			w.tally.Add(string(writer.StatusInvalid), rec.Invalid, rec.Line)
			w.fail(ordinal, rec.Invalid)
			continue
		}
		valid++
		k, _ := keys.Key(rec)
		f, ok := res.byKey[k.ID()]
		if ok {
			matched++
			f.seen = true
			res.byKey[k.ID()] = f
		}
		w.row(ordinal, rec, k, f, ok)
	}
	w.end()
	if valid > 0 && len(res.byKey) > 0 && matched == 0 {
		return foreignError(opts)
	}
	for _, f := range res.byKey {
		if !f.seen {
			rep.NotInInput++
		}
	}
	rep.ResultsRows, rep.Superseded, rep.Unattributed = res.rows, res.superseded, res.unattributed
	rep.Reasons = w.tally.Top(0)
	if opts.FailedRows == nil {
		return nil
	}
	n, err := writeFailedRows(opts, w.failing)
	rep.FailedRowsWritten = n
	return err
}

// row settles the state of one valid row of the input (the ordinal-th)
// whose key is k and whose latest result is f (found: ok).
func (w *walker) row(ordinal int, rec reader.Record, k rowkey.Key, f final, ok bool) {
	d := resume.Send
	if w.plan != nil {
		d, _ = w.plan.Decide(k, rec.Line, heldRow{ordinal, f.st, rec.TicketID})
	}
	rep := w.rep
	switch {
	case !ok:
		rep.NotSent++
		w.fail(ordinal, msgNotSent)
	case f.st == stFailed:
		msg := w.res.msgs[f.msg]
		rep.countFailed(msg)
		w.tally.Add(string(writer.StatusFailed), msg, rec.Line)
		w.fail(ordinal, msg)
	case f.st == stInvalid: // recorded so by a version with other rules
		rep.Invalid++
		msg := w.res.msgs[f.msg]
		w.tally.Add(string(writer.StatusInvalid), msg, rec.Line)
		w.fail(ordinal, msg)
	case f.st == stUnreadable || d == resume.Send:
		// Done by its key, yet a resume sends it: a results row on its
		// line could not be read, and may be a later result of it.
		rep.Unreadable++
		w.fail(ordinal, msgUnreadable)
	case d == resume.SendAgain:
		rep.OutOfOrder++
		w.fail(ordinal, msgOutOfOrder(rec.TicketID))
	default: // skipped, or held: done so far
		w.count(f.st, 1)
	}
}

// end settles the rows the order rules held back to the end: each is its
// ticket's last row, done, but something was recorded for the ticket after
// it, so a resume sends it again.
func (w *walker) end() {
	if w.plan == nil {
		return
	}
	for _, h := range w.plan.Flush() {
		w.count(h.st, -1)
		w.rep.OutOfOrder++
		w.fail(h.ordinal, msgOutOfOrder(h.ticket))
	}
}

// count adds n to the count of done rows in state st.
func (w *walker) count(st state, n int64) {
	if st == stUnchanged {
		w.rep.Unchanged += n
	} else {
		w.rep.Success += n
	}
}

// fail notes a row that is not done, for the failed rows file.
func (w *walker) fail(ordinal int, msg string) {
	if w.failing != nil {
		w.failing[ordinal] = msg
	}
}
