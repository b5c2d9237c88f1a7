package run

import (
	"fmt"
	"io"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// The resume policy, all of it: which rows a resume skips (resumeFilter),
// and the refusal of a results file that records another input
// (guardResume: a pre-scan of a file, a gate in front of stdin). The rest
// of the run sees only guardResume and resumeFilter.skip.

// ForeignResultsError refuses a resume whose results file records none of
// the input's rows: it belongs to another input (or every row was edited).
// Nothing was sent.
type ForeignResultsError struct {
	Results string // the results file
	Input   string // what was read of the input
	Rows    int    // how many results rows the file records
}

func (e *ForeignResultsError) Error() string {
	return fmt.Sprintf("%s records %d rows, but none of them matches a line of %s with the same content: it belongs to another input (or every row was edited)", e.Results, e.Rows, e.Input)
}

func errForeignResults(resultsPath, input string, done *writer.Done) error {
	return refuse(&ForeignResultsError{Results: resultsPath, Input: input, Rows: done.Rows()})
}

// guardResume returns where the run takes its records from, having made
// sure that a results file being resumed is the record of this input: for
// a file by a pre-scan that stops at the first row the results record, for
// stdin, which cannot be read twice, by a gate that holds rows back until
// one matches.
func guardResume(cfg Config, rd *reader.Reader, done *writer.Done) (recordSource, error) {
	switch {
	case done.Rows() == 0:
		return rd, nil
	case cfg.Input == "-":
		return &gatedReader{rd: rd, done: done, results: cfg.Results}, nil
	}
	if err := checkResumeMatches(cfg.Input, cfg.Reader, done, cfg.Results); err != nil {
		return nil, err
	}
	return rd, nil
}

// checkResumeMatches refuses a results file that records none of the
// input's rows: resuming it would re-send everything and append to the
// record of another file. One matching row is enough to stop reading.
func checkResumeMatches(path string, opts reader.Options, done *writer.Done, resultsPath string) error {
	fh, err := openFile(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	rd, err := reader.Open(fh, opts)
	if err != nil {
		return refuse(err)
	}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return errForeignResults(resultsPath, path, done)
		}
		if err != nil {
			return err
		}
		if recorded(done, rec) {
			return nil
		}
	}
}

// recorded offers rec to done and reports whether done has a result for
// rec's line with rec's fingerprint, whatever its status: a run whose rows
// all failed is still the record of this input.
func recorded(done *writer.Done, rec reader.Record) bool {
	fp := ""
	if rec.Invalid == "" {
		fp = batch.NewRow(rec).Fingerprint
	}
	done.Skip(rec.Line, fp)
	return done.Matched() > 0
}

// stdinGateRows bounds how many rows of stdin are held back, unsent, until
// one of them is found in the results file being resumed.
const stdinGateRows = 10000

// gatedReader is the resume check for stdin, which cannot be read twice:
// it holds rows back until one matches the results file, and refuses the
// input, having sent nothing, if none of the first stdinGateRows does.
type gatedReader struct {
	rd      *reader.Reader
	done    *writer.Done
	results string
	held    []reader.Record
	checked bool
}

func (g *gatedReader) Next() (reader.Record, error) {
	if !g.checked {
		g.checked = true
		for {
			rec, err := g.rd.Next()
			if err == io.EOF || len(g.held) == stdinGateRows {
				return reader.Record{}, errForeignResults(g.results, "stdin (its first rows)", g.done)
			}
			if err != nil {
				return reader.Record{}, err
			}
			g.held = append(g.held, rec)
			if recorded(g.done, rec) {
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

// resumeFilter decides which rows a resumed run skips: those whose line's
// latest result is success with the same fingerprint, unless an earlier
// row of the same ticket is being sent again. A row sent again after a
// result makes its ticket's later rows, even those done, follow it again,
// or the ticket would end in that row's state instead of the file's last
// one. It remembers only such tickets. A nil done skips nothing.
type resumeFilter struct {
	done   *writer.Done
	resent map[string]bool
}

func newResumeFilter(done *writer.Done) *resumeFilter {
	return &resumeFilter{done: done, resent: map[string]bool{}}
}

func (f *resumeFilter) skip(row batch.Row) bool {
	if f.done.Skip(row.Line, row.Fingerprint) && !f.resent[row.TicketID] {
		return true
	}
	if f.done.Recorded(row.Line) {
		f.resent[row.TicketID] = true
	}
	return false
}
