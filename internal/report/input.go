package report

import (
	"errors"
	"fmt"
	"os"

	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
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

// why says why a row is not done, for its error cell: a result (its
// message read back from the results file when the failed rows are
// written, so that a report of a million failed rows keeps no message per
// row), or one of the report's own reasons.
type why struct {
	ordinal uint32
	kind    whyKind
	at      int64 // for whyResult: resume.Result.At
}

type whyKind uint8

const (
	whyResult     whyKind = iota // the latest result's message
	whyInvalid                   // invalid in the input now: the reader's reason
	whyNotSent                   // msgNotSent
	whyUnreadable                // msgUnreadable
	whyOutOfOrder                // msgOutOfOrder
)

// message returns the error cell of the row rec whose reason is w.
func (w why) message(rec reader.Record, msgs messages) (string, error) {
	switch w.kind {
	case whyInvalid:
		return msgs.text(rec.Invalid), nil
	case whyNotSent:
		return msgNotSent, nil
	case whyUnreadable:
		return msgUnreadable, nil
	case whyOutOfOrder:
		return msgOutOfOrder(rec.TicketID), nil
	}
	return msgs.of(resume.Result{At: w.at})
}

// walker is one read of the input against the results.
type walker struct {
	st      *resume.State
	msgs    messages
	rep     *Report
	tally   *reason.Tally
	failing []why // with failed rows to write: the rows not done, in input order
	keep    bool  // failed rows are to be written
	valid   int
	matched int // valid rows with a result
}

// walkInput reads the input in order and fills rep with the final state of
// each of its rows; with Options.FailedRows it then writes the rows not
// done.
func walkInput(opts Options, st *resume.State, msgs messages, rep *Report) error {
	w := &walker{st: st, msgs: msgs, rep: rep, tally: reason.NewTally(0), keep: opts.FailedRows != nil}
	plan, err := orderPlan(opts, st)
	if err != nil {
		return err
	}
	fh, err := openInput(opts.Input)
	if err != nil {
		return err
	}
	defer fh.Close()
	rd, err := reader.Open(fh, opts.Reader)
	if err != nil {
		return err
	}
	if err := resume.Walk(rd, 0, plan, w.row); err != nil {
		return err
	}
	if w.valid > 0 && st.Keyed() > 0 && w.matched == 0 {
		return foreignError(opts)
	}
	st.Each(func(_ resume.Result, keyed, seen bool) {
		if keyed && !seen {
			rep.NotInInput++
		}
	})
	rep.Reasons = w.tally.Top(0)
	if !w.keep {
		return nil
	}
	n, err := writeFailedRows(opts, w.failing, msgs)
	rep.FailedRowsWritten = n
	return err
}

// openInput opens the input, refusing anything but a regular file
// (reader.NotFileError as it is): it is read twice, and a FIFO would
// block the open.
func openInput(path string) (*os.File, error) {
	fh, err := reader.OpenFile(path, false)
	var nf *reader.NotFileError
	if err != nil && !errors.As(err, &nf) {
		err = fmt.Errorf("open input: %w", err)
	}
	return fh, err
}

// orderPlan reads the whole input once for the order rules (package
// resume needs each ticket's last row before it decides about the first),
// and returns their Plan; nil when the results hold no row.
func orderPlan(opts Options, st *resume.State) (*resume.Plan, error) {
	if st.Rows() == 0 {
		return nil, nil
	}
	fh, err := openInput(opts.Input)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	rd, err := reader.Open(fh, opts.Reader)
	if err != nil {
		return nil, err
	}
	ix, err := resume.IndexInput(st, rd, 0)
	if err != nil {
		return nil, err
	}
	return ix.Plan(), nil
}

// row settles the state of one row of the input.
func (w *walker) row(row *resume.Row) error {
	rep := w.rep
	rep.Rows++
	if row.Invalid != "" {
		rep.Invalid++
		w.tally.Add(string(writer.StatusInvalid), w.msgs.text(row.Invalid), row.Line)
		w.fail(why{ordinal: uint32(row.Ordinal), kind: whyInvalid})
		return nil
	}
	w.valid++
	r, ok := w.st.Latest(row.Key)
	if ok {
		w.matched++
		w.st.Seen(row.Key)
	}
	switch {
	case !ok:
		rep.NotSent++
		w.fail(why{ordinal: uint32(row.Ordinal), kind: whyNotSent})
	case r.Status == resume.Failed, r.Status == resume.Invalid: // invalid: recorded so by a version with other rules
		msg, err := w.msgs.of(r)
		if err != nil {
			return err
		}
		if r.Status == resume.Failed {
			rep.countFailed(msg)
		} else {
			rep.Invalid++
		}
		w.tally.Add(statusName(r.Status), msg, row.Line)
		w.fail(why{ordinal: uint32(row.Ordinal), kind: whyResult, at: r.At})
	case r.Status == resume.Unreadable || row.Decision == resume.Send:
		// Done by its key, yet a resume sends it: a results row on its
		// line could not be read, and may be a later result of it.
		rep.Unreadable++
		w.fail(why{ordinal: uint32(row.Ordinal), kind: whyUnreadable})
	case row.Decision == resume.SendAgain:
		rep.OutOfOrder++
		w.fail(why{ordinal: uint32(row.Ordinal), kind: whyOutOfOrder})
	case r.Status == resume.Unchanged:
		rep.Unchanged++
	default:
		rep.Success++
	}
	return nil
}

// fail notes a row that is not done, for the failed rows file.
func (w *walker) fail(y why) {
	if w.keep {
		w.failing = append(w.failing, y)
	}
}
