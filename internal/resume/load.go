package resume

import (
	"fmt"
	"os"

	"github.com/kapture-bulk/kapture-bulk/writer"
)

// MsgUnknown is the message of a row recorded from the in-flight journal:
// its request had left when the run was killed, and nobody knows whether
// the API applied it.
const MsgUnknown = "outcome unknown: the run was stopped while this row's request was in flight (it may or may not have been applied)"

// rowBytes is about the size of a results row (most are 120 to 140
// bytes): a file's size over it is the room to make for its rows at once,
// rather than by doubling (which holds both copies at the peak).
const rowBytes = 120

// Report says what loading a results file found, for the run's log.
type Report struct {
	Rows       int    // results rows read (those recorded from the journal included)
	Unreadable int    // rows with a cell that could not be read: not known done
	Example    string // the first of them, "line N: what"
	Torn       int64  // bytes of a torn last line (a crash in mid-write), cut at a run's first write
	Unknown    int    // rows a killed run had in flight, to record as failed
	// Journal is set when a journal was found that could not be read; it
	// is ignored (the run goes on and warns).
	Journal error
}

// Load reads the results file w was opened on (in Resume mode) and the
// in-flight journal a killed run left beside it, and returns the State.
// It changes nothing: the journal's rows whose outcome no later result
// gives are in the State as failed rows after the file's last, and
// State.Record appends them to the file once the run goes ahead.
func Load(w *writer.Writer) (*State, Report, error) {
	inflight, err := w.InFlight()
	return load(inflight, err, w.Size(), w.ReadBack, func() (writer.Row, int64, error) {
		row, _ := w.TornRow()
		return row, w.TornBytes(), nil
	})
}

// Peek is Load for a look only (a dry run, a report): it reads the results
// file at path and its journal without locking or changing them. A missing
// file records nothing.
func Peek(path string) (*State, Report, error) {
	inflight, err := writer.ReadInFlight(path)
	var size int64
	if fi, serr := os.Stat(path); serr == nil {
		size = fi.Size()
	}
	return load(inflight, err, size, func(fn func(writer.Row) error) error {
		return writer.ReadFile(path, fn)
	}, func() (writer.Row, int64, error) { return writer.TornRowOf(path) })
}

// load builds the State of the rows read calls back with, the torn last
// line torn gives, and the journal's rows (inflight, read with jerr).
func load(inflight []writer.InFlight, jerr error, size int64, read func(func(writer.Row) error) error,
	torn func() (writer.Row, int64, error)) (*State, Report, error) {
	var rep Report
	var err error
	if rep.Journal, err = unreadable(jerr); err != nil {
		return nil, rep, err
	}
	b := NewBuilder(inflight)
	b.Grow(int(size / rowBytes))
	if err := read(b.Add); err != nil {
		return nil, rep, err
	}
	row, n, err := torn()
	if err != nil {
		return nil, rep, err
	}
	if rep.Torn = n; n > 0 {
		b.Add(row)
	}
	unknown := b.unfinished(inflight)
	for _, u := range unknown {
		b.Add(writer.Row{Status: writer.StatusFailed, Key: u.Key, KeyOK: true, Line: u.Line, TicketID: u.TicketID, Offset: -1})
	}
	rep.Rows, rep.Unreadable, rep.Example, rep.Unknown = b.stats.Rows, b.stats.Unreadable, b.stats.Example, len(unknown)
	st := b.Build()
	st.unknown = unknown
	return st, rep, nil
}

// Record appends to the results file w the rows Load found left in flight,
// as failed with MsgUnknown, where the State already counts them: before
// anything else is written. It does nothing when there are none.
func (s *State) Record(w *writer.Writer) error {
	if len(s.unknown) == 0 {
		return nil
	}
	if err := w.Write(unknownResults(s.unknown)); err != nil {
		return fmt.Errorf("record rows left in flight: %w", err)
	}
	s.unknown = nil
	return nil
}

// unreadable sorts an error reading the journal: a file that is not a
// journal (a crash tore its header before anything was sent) is ignored
// with a warning; any other error is the caller's.
func unreadable(err error) (warning, fatal error) {
	if writer.IsUnreadableJournal(err) {
		return err, nil
	}
	return nil, err
}

// unfinished returns the journal's rows whose outcome no later result
// gives.
func (b *Builder) unfinished(inflight []writer.InFlight) []writer.InFlight {
	var out []writer.InFlight
	for _, r := range inflight {
		if !b.ended(r) {
			out = append(out, r)
		}
	}
	return out
}

func unknownResults(rows []writer.InFlight) []writer.Result {
	out := make([]writer.Result, len(rows))
	for i, r := range rows {
		out[i] = writer.Result{
			TicketID: r.TicketID, Status: writer.StatusFailed, Message: MsgUnknown,
			Line: r.Line, Attempts: 1, Key: r.Key,
		}
	}
	return out
}
