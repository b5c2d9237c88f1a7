package run

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/rowkey"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// The run's side of resuming: every valid row gets its key (keyer), the
// results file must be the record of this input (guardResume: a pre-scan
// of a file, a gate in front of stdin), and the producer asks a
// resume.Plan what to do with each row (resumer). The rules themselves are
// package resume's.

// keyer turns valid records into rows with their keys. One keyer numbers
// the occurrences of one read of the input.
type keyer struct{ occ *rowkey.Counter }

func newKeyer() keyer { return keyer{occ: rowkey.NewCounter(0)} }

// row returns rec as the engine sends it, its key in Fingerprint.
func (k keyer) row(rec reader.Record) (batch.Row, rowkey.Key) {
	row := batch.NewRow(rec)
	key := rowkey.New(rec.TicketID, row.Object)
	key.Occurrence = k.occ.Next(key.Content)
	row.Fingerprint = key.String()
	return row, key
}

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
		return fmt.Sprintf("%s holds %d rows, but the fingerprint of none of them can be read: it is not the record of %s as far as anyone can tell", e.Results, e.Rows, e.Input)
	}
	return fmt.Sprintf("%s records %d rows, but none of those done matches a row of %s (same ticket and values): it belongs to another input (or every row was edited)", e.Results, e.Rows, e.Input)
}

// guardResume returns where the run takes its records from, having made
// sure that a results file being resumed is the record of this input: one
// of the input's rows must match a row the file records as done (in a file
// where nothing succeeded, as failed). For a file a pre-scan reads up to
// the first such row; stdin, which cannot be read twice, goes through a
// gate that holds rows back until one matches.
func guardResume(cfg Config, rd *reader.Reader, st *resume.State, rep resume.Report) (recordSource, error) {
	switch {
	case st == nil || st.Rows() == 0:
		return rd, nil
	case st.Keyed() == 0 && rep.Unreadable == 0:
		return rd, nil // only invalid rows: nothing was ever sent
	case st.Keyed() == 0:
		return nil, refuse(&ForeignResultsError{Results: cfg.Results, Input: cfg.Reader.Name, Rows: st.Rows(), Unreadable: true})
	case cfg.Input == "-":
		return &gatedReader{rd: rd, st: st, results: cfg.Results, keys: newKeyer()}, nil
	}
	if err := checkResumeMatches(cfg, st); err != nil {
		return nil, err
	}
	return rd, nil
}

// checkResumeMatches reads the input file up to its first row that shows
// the results file records this input.
func checkResumeMatches(cfg Config, st *resume.State) error {
	fh, err := openFile(cfg.Input)
	if err != nil {
		return err
	}
	defer fh.Close()
	rd, err := reader.Open(fh, cfg.Reader)
	if err != nil {
		return refuse(err)
	}
	keys := newKeyer()
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return refuse(&ForeignResultsError{Results: cfg.Results, Input: cfg.Input, Rows: st.Rows()})
		}
		if err != nil {
			return err
		}
		if belongs(st, keys, rec) {
			return nil
		}
	}
}

// belongs reports whether rec shows that st is the record of its input.
func belongs(st *resume.State, keys keyer, rec reader.Record) bool {
	if rec.Invalid != "" {
		return false
	}
	_, k := keys.row(rec)
	return st.BelongsTo(k)
}

// stdinGateRows bounds how many rows of stdin are held back, unsent, until
// one of them is found in the results file being resumed.
const stdinGateRows = 10000

// gatedReader is the resume check for stdin, which cannot be read twice:
// it holds rows back until one matches the results file, and refuses the
// input, having sent nothing, if none of the first stdinGateRows does.
type gatedReader struct {
	rd      *reader.Reader
	st      *resume.State
	results string
	keys    keyer
	held    []reader.Record
	checked bool
}

func (g *gatedReader) Next() (reader.Record, error) {
	if !g.checked {
		g.checked = true
		for {
			rec, err := g.rd.Next()
			if err == io.EOF || len(g.held) == stdinGateRows {
				return reader.Record{}, refuse(&ForeignResultsError{Results: g.results, Input: "stdin (its first rows)", Rows: g.st.Rows()})
			}
			if err != nil {
				return reader.Record{}, err
			}
			g.held = append(g.held, rec)
			if belongs(g.st, g.keys, rec) {
				break
			}
		}
	}
	if len(g.held) > 0 {
		rec := g.held[0]
		g.held = g.held[1:]
		return rec, nil
	}
	return g.rd.Next()
}

// resumer is the producer's view of the resume rules: for each valid row,
// the rows to send now. Without a results file to resume, every row is
// sent.
type resumer struct {
	plan  *resume.Plan[batch.Row]
	stats *Stats
}

func newResumer(st *resume.State, stats *Stats) *resumer {
	r := &resumer{stats: stats}
	if st != nil && st.Rows() > 0 {
		r.plan = resume.NewPlan[batch.Row](st, 0)
	}
	return r
}

// next returns the rows to send for row, whose key is k: none, or row
// itself. It counts the rows it skips and those it sends again.
func (r *resumer) next(row batch.Row, k rowkey.Key) []batch.Row {
	if r.plan == nil {
		return []batch.Row{row}
	}
	d, released := r.plan.Decide(k, row.Line, row)
	r.stats.skipped.Add(int64(released))
	switch d {
	case resume.Skip:
		r.stats.skipped.Add(1)
		return nil
	case resume.Hold:
		return nil
	case resume.SendAgain:
		r.stats.resent.Add(1)
	}
	return []batch.Row{row}
}

// end returns, once the input (or the limit) has been read to its end, the
// rows held back: each the last of its ticket, sent again because
// something was recorded for the ticket after it.
func (r *resumer) end() []batch.Row {
	if r.plan == nil {
		return nil
	}
	rows := r.plan.Flush()
	r.stats.resent.Add(int64(len(rows)))
	return rows
}


// warnLoad says what a resume found in the results file that its user
// should know.
func warnLoad(rep resume.Report, results string, log *slog.Logger) {
	if rep.Torn > 0 {
		log.Warn("the results file ends in a torn line (a crash in mid-write): it is cut off, and its row is sent again", "results", results, "bytes", rep.Torn)
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
