// Package report reads the outcome of runs from a results CSV: the final
// state of every row (its latest result), counts by state, the failure
// reasons grouped, and, given the input, the rows never sent and a file of
// the rows that did not go through, in the input's own columns, to fix and
// run again.
//
// It works on any results file, finished or not, and changes nothing. It
// knows nothing of flags, exit codes or terminals.
//
// A row is known by its key (package rowkey), as a resume knows it: its
// final state is the latest result recorded for its key, whatever lines
// the results say. Invalid rows have no key: without the input, an invalid
// result stands for the row on its line until a later result is recorded
// for that line (the row was fixed and sent); with the input, a row is
// invalid when it is invalid in the input now. Rows a killed run left in
// flight (the in-flight journal beside the results) are failed with an
// unknown outcome, as the next resume records them.
//
// With the input, a row counts as done only when a resume would skip it:
// a row whose latest result is success but which a resume would send
// again, to leave its ticket in the state of its last row, is out of
// order (package resume has the rules).
package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Options say what to report on.
type Options struct {
	// Results is the results CSV's path.
	Results string
	// Input is the input's path; "" reports on the results alone.
	Input string
	// Reader says how to read the input: as the run did (the same
	// extra columns and ticket id pattern), or no row finds its results.
	Reader reader.Options
	// FailedRows, with Input, receives the input rows that are not done,
	// in input order, in the input's own columns and delimiter plus a
	// last column error (see WriteFailedRows); nil writes nothing.
	FailedRows io.Writer
	// Hide, if set, is applied to every message before it is grouped
	// into a reason or written as an error cell: the command hides the
	// tokens it knows with it (a token cut by the masking of a reason
	// could no longer be found whole).
	Hide func(string) string
}

// messages reads the messages of rows back, from the results file (or
// the input's reader, for invalid rows), with Options.Hide applied.
type messages struct {
	results *writer.Messages
	hide    func(string) string
}

// of is the message of result r.
func (m messages) of(r resume.Result) (string, error) {
	msg, err := r.Message(m.results)
	return m.text(msg), err
}

// text is msg with Options.Hide applied.
func (m messages) text(msg string) string {
	if m.hide == nil {
		return msg
	}
	return m.hide(msg)
}

// Report is the outcome of the rows. With an input, its counts partition
// the input's data rows (Rows is their sum); without, the distinct rows
// the results record.
type Report struct {
	Results string
	Input   string // "" without an input

	Rows       int64
	Success    int64 // the latest result is success (and, with an input, in order)
	Unchanged  int64 // the latest result is unchanged: not sent, the ticket already held it
	Failed     int64 // the latest result is failed (an unknown outcome included)
	Invalid    int64 // invalid (with an input: in the input now)
	NotSent    int64 // with an input: no result recorded
	Unreadable int64 // the latest result's status cannot be read (with an input: or a results row on the row's line)
	// OutOfOrder counts rows, with an input, whose latest result is
	// success but which a resume would send again so that their ticket
	// ends in the state of its last row.
	OutOfOrder int64
	// Unknown counts the failed rows of unknown outcome: left in flight
	// by a run that stopped without their answer (the in-flight journal
	// lists them, or a resume recorded them so), as the run's summary
	// counts them.
	Unknown int64
	// NotApplied counts the failed rows the API said it applied while
	// its reply showed the ticket holding something else (their message
	// starts with batch.NotAppliedPrefix), as the run's summary counts
	// them.
	NotApplied int64

	// Unattributed counts results rows that cannot be tied to any row:
	// neither their fingerprint nor (for an invalid row) their line can
	// be read. Without an input they leave the report not done: one of
	// them may be a later result of a row counted as done.
	Unattributed int64

	// ResultsRows counts the rows of the results file (and the journal's
	// rows of unknown outcome), Superseded those a later result of the
	// same row replaced.
	ResultsRows, Superseded int64
	// NotInInput counts, with an input, rows the results record that are
	// not in the input now (deleted or edited since).
	NotInInput int64
	// Torn is set when the results file ends in a torn line (a crash in
	// mid-write): that line is not read. TornHeader is set when that line
	// is the header: the file has no whole line.
	Torn, TornHeader bool
	// JournalIgnored is set when an in-flight journal was found that
	// cannot be read: it is left out, as a resume leaves it out.
	JournalIgnored bool

	// Reasons groups the rows that are not done by status and masked
	// message, most rows first.
	Reasons []reason.Group
	// FailedRowsWritten counts the rows written to Options.FailedRows.
	FailedRowsWritten int64
}

// Done reports whether every row is done (success or unchanged, and in
// order): what exit code 0 means. Without an input, a results file that
// records no row (empty, or only a header) is not done: nothing says that
// any row was, and a run stopped before its first result leaves one.
func (r *Report) Done() bool {
	// With an input, the order check already counts a row whose line has
	// an unreadable result as not done.
	return r.Failed+r.Invalid+r.NotSent+r.Unreadable+r.OutOfOrder == 0 &&
		(r.Input != "" || (r.Unattributed == 0 && r.Rows > 0))
}

// countFailed counts a row whose latest result is failed with msg.
func (r *Report) countFailed(msg string) {
	r.Failed++
	switch {
	case msg == resume.MsgUnknown:
		r.Unknown++
	case strings.HasPrefix(msg, batch.NotAppliedPrefix):
		r.NotApplied++
	}
}

// ErrForeign refuses a report whose input matches none of the results:
// the results belong to another input, or the input was read otherwise
// than the run read it (extra columns, ticket id pattern).
var ErrForeign = errors.New("none of the input's rows has a result in the results file")

// Build reads the results file (and the input, if given) and returns the
// report, having written the failed rows if asked. It returns an error
// when the results file cannot be read or is not a results CSV
// (writer.ErrNotResults), the input cannot be read (a *reader.FileError
// for one that is no CSV), or the input matches none of the results
// (ErrForeign).
func Build(opts Options) (*Report, error) {
	if opts.FailedRows != nil && opts.Input == "" {
		return nil, errors.New("the failed rows file needs the input")
	}
	// A missing file (or a FIFO, which could block) is an error, not an
	// empty report.
	f, fi, err := writer.OpenRead(opts.Results)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	torn, tornHeader, err := endsTorn(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("read results file %q: %w", opts.Results, err)
	}
	st, loaded, err := resume.Peek(opts.Results)
	if err != nil {
		return nil, err
	}
	c := st.Counts()
	rep := &Report{
		Results: opts.Results, Input: opts.Input,
		ResultsRows: int64(c.Rows), Superseded: int64(c.Superseded), Unattributed: int64(c.Unattributed),
		Torn: torn, TornHeader: tornHeader, JournalIgnored: loaded.Journal != nil,
	}
	msgs := messages{results: writer.NewMessages(f), hide: opts.Hide}
	if opts.Input == "" {
		return rep, settle(st, msgs, rep)
	}
	if err := walkInput(opts, st, msgs, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// endsTorn reports whether the results file f (size bytes) ends in a torn
// line, and whether that line is its header: no line of it is whole.
func endsTorn(f io.ReaderAt, size int64) (torn, header bool, err error) {
	if size == 0 {
		return false, false, nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil && !errors.Is(err, io.EOF) {
		return false, false, err
	}
	if last[0] == '\n' {
		return false, false, nil
	}
	// A torn header is short: any other file without a newline in its
	// first block is no results file, which reading it then says.
	head := make([]byte, min(size, 4096))
	if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return false, false, err
	}
	return true, bytes.IndexByte(head, '\n') < 0, nil
}

// foreignError says which files do not belong together.
func foreignError(opts Options) error {
	return fmt.Errorf("%w: %s is not the record of %s, or the input was read otherwise than the run read it (with other extra columns, ticket id pattern or encoding)",
		ErrForeign, opts.Results, opts.Input)
}
