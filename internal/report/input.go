package report

import (
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

// walker is one read of the input against the results.
type walker struct {
	res     *results
	rep     *Report
	tally   *reason.Tally
	failing map[int]string // with failed rows to write: the rows not done, by ordinal, and their error
	matched int            // valid rows with a result
	valid   int
}

// walkInput reads the input in order and fills rep with the final state of
// each of its rows; with Options.FailedRows it then writes the rows not
// done.
func walkInput(opts Options, res *results, rep *Report) error {
	w := &walker{res: res, rep: rep, tally: reason.NewTally(0)}
	if opts.FailedRows != nil {
		w.failing = map[int]string{}
	}
	plan, err := orderPlan(opts, res)
	if err != nil {
		return err
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
	if err := resume.Walk(rd, 0, plan, w.row); err != nil {
		return err
	}
	if w.valid > 0 && len(res.byKey) > 0 && w.matched == 0 {
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

// orderPlan reads the whole input once for the order rules (package
// resume needs each ticket's last row before it decides about the first),
// and returns their Plan; nil when the results hold no row.
func orderPlan(opts Options, res *results) (*resume.Plan, error) {
	st := res.order.Build()
	if st.Rows() == 0 {
		return nil, nil
	}
	fh, err := os.Open(opts.Input)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
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
		w.tally.Add(string(writer.StatusInvalid), row.Invalid, row.Line)
		w.fail(row.Ordinal, row.Invalid)
		return nil
	}
	w.valid++
	f, ok := w.res.byKey[row.Key.ID()]
	if ok {
		w.matched++
		f.seen = true
		w.res.byKey[row.Key.ID()] = f
	}
	switch {
	case !ok:
		rep.NotSent++
		w.fail(row.Ordinal, msgNotSent)
	case f.st == stFailed:
		rep.Failed++
		msg := w.res.msgs[f.msg]
		w.tally.Add(string(writer.StatusFailed), msg, row.Line)
		w.fail(row.Ordinal, msg)
	case f.st == stInvalid: // recorded so by a version with other rules
		rep.Invalid++
		msg := w.res.msgs[f.msg]
		w.tally.Add(string(writer.StatusInvalid), msg, row.Line)
		w.fail(row.Ordinal, msg)
	case f.st == stUnreadable || row.Decision == resume.Send:
		// Done by its key, yet a resume sends it: a results row on its
		// line could not be read, and may be a later result of it.
		rep.Unreadable++
		w.fail(row.Ordinal, msgUnreadable)
	case row.Decision == resume.SendAgain:
		rep.OutOfOrder++
		w.fail(row.Ordinal, msgOutOfOrder(row.TicketID))
	case f.st == stUnchanged:
		rep.Unchanged++
	default:
		rep.Success++
	}
	return nil
}

// fail notes a row that is not done, for the failed rows file.
func (w *walker) fail(ordinal int, msg string) {
	if w.failing != nil {
		w.failing[ordinal] = msg
	}
}
