package run

import (
	"bytes"
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

// keyer gives valid records their keys, and makes rows of those sent. One
// keyer numbers the occurrences of one read of the input. A key needs the
// row's object encoded, and most rows of a resume are skipped: the object
// is encoded into a buffer the keyer reuses, and copied out only for a row
// that is sent.
type keyer struct {
	occ *rowkey.Counter
	buf []byte
}

func newKeyer() *keyer { return &keyer{occ: rowkey.NewCounter(0)} }

// key returns rec's key, and whether a row of its ticket came earlier in
// the input (within the counter's window: a lower bound on large inputs);
// until the next call, row can make rec's row.
func (k *keyer) key(rec reader.Record) (key rowkey.Key, repeat bool) {
	k.buf = reader.AppendObject(k.buf[:0], rec)
	key = rowkey.New(rec.TicketID, k.buf)
	key.Occurrence, repeat = k.occ.Next(key)
	return key, repeat
}

// row returns the row of the record key was last called for.
func (k *keyer) row(rec reader.Record, key rowkey.Key) batch.Row {
	return batch.Row{Line: rec.Line, TicketID: rec.TicketID, Object: bytes.Clone(k.buf), Fingerprint: key.String()}
}

// rowOf returns the row of a record whose key was given earlier.
func rowOf(h held) batch.Row {
	row := batch.NewRow(h.rec)
	row.Fingerprint = h.key.String()
	return row
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
		// Decided now, before the run writes anything: a refused resume
		// leaves the results file and its journal as they were.
		g := &gatedReader{rd: rd, st: st, results: cfg.Results, keys: newKeyer()}
		if err := g.check(); err != nil {
			return nil, err
		}
		return g, nil
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
func belongs(st *resume.State, keys *keyer, rec reader.Record) bool {
	if rec.Invalid != "" {
		return false
	}
	k, _ := keys.key(rec)
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
	keys    *keyer
	held    []reader.Record
}

// check holds rows of stdin back until one shows that the results file is
// the record of this input, and refuses the input if none of the first
// stdinGateRows does.
func (g *gatedReader) check() error {
	for {
		rec, err := g.rd.Next()
		if err == io.EOF || len(g.held) == stdinGateRows {
			return refuse(&ForeignResultsError{Results: g.results, Input: "stdin (its first rows)", Rows: g.st.Rows()})
		}
		if err != nil {
			return err
		}
		g.held = append(g.held, rec)
		if belongs(g.st, g.keys, rec) {
			return nil
		}
	}
}

// Next returns the rows check held back, then the rest of stdin.
func (g *gatedReader) Next() (reader.Record, error) {
	if len(g.held) > 0 {
		rec := g.held[0]
		g.held = g.held[1:]
		return rec, nil
	}
	return g.rd.Next()
}

// held is a row the resume rules hold back, with its key.
type held struct {
	rec reader.Record
	key rowkey.Key
}

// resumer is the producer's view of the resume rules: whether each valid
// row is sent now. Without a results file to resume, every row is sent.
type resumer struct {
	plan  *resume.Plan[held]
	stats *Stats
}

func newResumer(st *resume.State, stats *Stats) *resumer {
	r := &resumer{stats: stats}
	if st != nil && st.Rows() > 0 {
		r.plan = resume.NewPlan[held](st, 0)
	}
	return r
}

// send reports whether rec, whose key is k, is sent now. It counts the
// rows it skips and those it sends again, and keeps the rows it holds
// back for end.
func (r *resumer) send(rec reader.Record, k rowkey.Key) bool {
	if r.plan == nil {
		return true
	}
	d, released := r.plan.Decide(k, rec.Line, held{rec, k})
	r.stats.skipped.Add(int64(released))
	switch d {
	case resume.Skip:
		r.stats.skipped.Add(1)
		return false
	case resume.Hold:
		return false
	case resume.SendAgain:
		r.stats.resent.Add(1)
	}
	return true
}

// end returns, once the input (or the limit) has been read to its end, the
// rows held back: each the last of its ticket, sent again because
// something was recorded for the ticket after it.
func (r *resumer) end() []batch.Row {
	if r.plan == nil {
		return nil
	}
	hs := r.plan.Flush()
	r.stats.resent.Add(int64(len(hs)))
	rows := make([]batch.Row, len(hs))
	for i, h := range hs {
		rows[i] = rowOf(h)
	}
	return rows
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
