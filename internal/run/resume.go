package run

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// The run's side of resuming: the results file must be the record of this
// input, and every row is decided by a resume.Plan, which needs the whole
// input read once first (each ticket's last row, see resume.Index; the
// syntax check reads it whole, the Index only as far as it must). A
// resume from stdin, which can be read only once, first saves stdin to a
// temporary file (spoolStdin). The rules themselves are package resume's.

// ForeignResultsError refuses a resume whose results file records none of
// the input's rows as done: it belongs to another input (or every row was
// edited). Nothing was sent.
type ForeignResultsError struct {
	Results string // the results file
	Input   string // what was read of the input
	Rows    int    // how many results rows the file holds
	// Unreadable is set when no row of the file could be read at all.
	Unreadable bool
}

func (e *ForeignResultsError) Error() string {
	if e.Unreadable {
		return fmt.Sprintf("%s holds %s, but the fingerprint of none of them can be read: it is not the record of %s as far as anyone can tell", e.Results, plural.Of(e.Rows, "row", "rows"), e.Input)
	}
	return fmt.Sprintf("%s records %s, but none of those done matches a row of %s (same ticket and values): it belongs to another input (or every row was edited)", e.Results, plural.Of(e.Rows, "row", "rows"), e.Input)
}

// resumePlan reads the input (as far as resume.IndexInput must) and
// returns the Plan that decides its rows against st (nil when the results
// hold nothing a plan would look at), having made sure that the results file is the record of this
// input: one of the input's rows must match a row the file records as done
// (in a file where nothing succeeded, as failed).
func (r *runner) resumePlan(st *resume.State, rep resume.Report) (*resume.Plan, error) {
	switch {
	case st == nil || st.Rows() == 0:
		return nil, nil
	case st.Keyed() == 0 && rep.Unreadable == 0:
		return nil, nil // only invalid rows: nothing was ever sent
	case st.Keyed() == 0:
		return nil, refuse(&ForeignResultsError{Results: r.cfg.Results, Input: r.cfg.Reader.Name, Rows: st.Rows(), Unreadable: true})
	}
	fh, err := openFile(r.cfg.Input)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	rd, err := reader.Open(fh, r.cfg.Reader)
	if err != nil {
		return nil, refuse(err)
	}
	ix, err := resume.IndexInput(st, rd, r.cfg.Limit)
	if err != nil {
		return nil, refuse(err)
	}
	r.counted(rd.Records())
	if !ix.Belongs() {
		return nil, refuse(&ForeignResultsError{Results: r.cfg.Results, Input: r.cfg.Reader.Name, Rows: st.Rows()})
	}
	return ix.Plan(), nil
}

// spoolStdin saves stdin to a temporary file (readable by its owner only)
// for a resume, which must read its input twice; it returns the file's
// path and how to remove it. A stop abandons a read blocked on stdin.
func (r *runner) spoolStdin() (path string, remove func(), err error) {
	f, err := os.CreateTemp("", "kapture-bulk-stdin-*.csv")
	if err != nil {
		return "", nil, refuse(fmt.Errorf("save stdin for the resume: %w", err))
	}
	remove = func() { f.Close(); os.Remove(f.Name()) }
	in, abort := abortable(r.cfg.Stdin)
	release := onStop(r.cfg.Stop, abort)
	_, err = io.Copy(f, &countingReader{r: in, n: &r.stats.bytes})
	release()
	r.stats.bytes.Store(0) // the main read counts the bytes again
	if err == nil {
		err = f.Close()
	}
	switch {
	case errors.Is(err, errInputAborted):
		remove()
		return "", nil, fmt.Errorf("%w before anything was sent", ErrInterrupted)
	case err != nil:
		remove()
		return "", nil, refuse(fmt.Errorf("save stdin for the resume in %s: %w", f.Name(), err))
	}
	return f.Name(), remove, nil
}

// rowOf returns the wire row of a valid row the walk handed on.
func rowOf(row *resume.Row) batch.Row {
	return batch.Row{Line: row.Line, TicketID: row.TicketID, Object: bytes.Clone(row.Object), Key: row.Key,
		SubStatus: row.SubStatus, Queue: row.Queue}
}

// warnLoad says what a resume found in the results file that its user
// should know.
func warnLoad(rep resume.Report, results string, log *slog.Logger) {
	if rep.Torn > 0 {
		log.Warn("the results file ends in a torn line (a crash in mid-write): it is cut off, and its row (with its ticket's later rows) is sent again", "results", results, "bytes", rep.Torn)
	}
	if rep.Unknown > 0 {
		log.Warn("the run before was stopped with requests in flight: their rows are recorded as failed (outcome unknown) and sent again", "results", results, "rows", rep.Unknown)
	}
	if rep.Unreadable > 0 {
		log.Warn("rows of the results file could not be read (edited or re-saved by a spreadsheet?): their input rows are sent again", "results", results, "rows", rep.Unreadable, "first", rep.Example)
	}
	if rep.Journal != nil {
		log.Warn("ignored an in-flight journal that cannot be read", "error", rep.Journal)
	}
}
