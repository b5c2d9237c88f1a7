package report

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// state is the final state of a row, as its latest result says.
type state uint8

const (
	stSuccess state = iota + 1
	stUnchanged
	stFailed
	stInvalid
	stUnreadable // the status cell could not be read
)

func stateOf(s writer.Status) state {
	switch s {
	case writer.StatusSuccess:
		return stSuccess
	case writer.StatusUnchanged:
		return stUnchanged
	case writer.StatusFailed:
		return stFailed
	case writer.StatusInvalid:
		return stInvalid
	}
	return stUnreadable
}

// final is the latest result of one row: 16 bytes, for there is one per
// row of the results.
type final struct {
	pos  uint32 // where it stands in the results (0 = the first row)
	line uint32 // the input line it was for (0: unreadable)
	msg  uint32 // its message, in results.msgs; 0 for rows done
	st   state
	seen bool // with an input: a row of the input has this key
}

// results is what a results file says about its rows.
type results struct {
	byKey   map[uint64]final // by rowkey.Key.ID()
	invalid map[uint32]final // invalid results (they have no key), by line
	// lastKeyed is, without an input, the position + 1 of the latest
	// keyed result on each line that had an invalid result before it: a
	// later result for the line of an invalid one means the row was fixed
	// and sent.
	lastKeyed map[uint32]uint32

	// msgs holds the messages of the rows not done, msgs[0] = "". A
	// message repeated on consecutive rows is kept once.
	msgs []string

	rows         int64 // results rows read, and journal rows of unknown outcome
	superseded   int64
	unattributed int64 // rows with neither a readable key nor an invalid status and line
	torn         bool
	// journalIgnored: a journal was found that cannot be read.
	journalIgnored bool
	// order is the resume state, built with an input for the order check.
	order *resume.Builder
}

// readResults reads the results file at path and the in-flight journal
// beside it. With an input it also builds the resume state, so that the
// input's rows can be checked as a resume would.
func readResults(path string, withInput bool) (*results, error) {
	torn, err := endsTorn(path)
	if err != nil {
		return nil, err
	}
	inflight, err := writer.ReadInFlight(path)
	r := &results{byKey: map[uint64]final{}, invalid: map[uint32]final{}, msgs: []string{""}, torn: torn}
	switch {
	case writer.IsUnreadableJournal(err):
		r.journalIgnored = true
	case err != nil:
		return nil, fmt.Errorf("read the in-flight journal of %s: %w", path, err)
	}
	if withInput {
		r.order = resume.NewBuilder(inflight)
	} else {
		r.lastKeyed = map[uint32]uint32{}
	}
	if err := writer.ReadFile(path, func(row writer.Row) error { r.add(row); return nil }); err != nil {
		return nil, err
	}
	r.addUnknown(inflight)
	return r, nil
}

// endsTorn opens the results file (so that a missing one is an error, not
// an empty report) and reports whether its last line is torn.
func endsTorn(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false, err
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], fi.Size()-1); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read results file %q: %w", path, err)
	}
	return last[0] != '\n', nil
}

// add records the next row of the results file.
func (r *results) add(row writer.Row) {
	pos := uint32(min(r.rows, 1<<32-1))
	r.rows++
	f := final{pos: pos, line: uint32(row.Line), st: stateOf(row.Status)}
	if f.st != stSuccess && f.st != stUnchanged {
		if last := len(r.msgs) - 1; r.msgs[last] != row.Message {
			r.msgs = append(r.msgs, row.Message)
		}
		f.msg = uint32(min(len(r.msgs)-1, 1<<32-1))
	}
	if r.order != nil {
		o := row
		if o.Status == writer.StatusUnchanged {
			// The order rules take a row as done only on success; a row
			// its ticket already held is as done.
			o.Status = writer.StatusSuccess
		}
		_ = r.order.Add(o) // its error is for use as ReadRows' fn; it has none of its own
	}
	switch {
	case row.KeyOK:
		id := row.Key.ID()
		if _, ok := r.byKey[id]; ok {
			r.superseded++
		}
		r.byKey[id] = f
		if _, ok := r.invalid[f.line]; ok && r.lastKeyed != nil {
			// Only a line with an invalid result before can be
			// superseded: the others need no entry.
			r.lastKeyed[f.line] = pos + 1
		}
	case row.Status == writer.StatusInvalid && row.Line > 0:
		if _, ok := r.invalid[f.line]; ok {
			r.superseded++
		}
		r.invalid[f.line] = f
	default:
		r.unattributed++
	}
}

// addUnknown records the journal's rows whose outcome no later result
// gives as failed with an unknown outcome after the file's last row, as
// the next resume records them.
func (r *results) addUnknown(inflight []writer.InFlight) {
	for _, in := range inflight {
		if f, ok := r.byKey[in.Key.ID()]; ok && int(f.pos) >= in.Since {
			continue // the request's outcome is recorded
		}
		r.add(writer.Row{
			Status: writer.StatusFailed, Key: in.Key, KeyOK: true, Line: in.Line,
			TicketID: in.TicketID, Message: resume.MsgUnknown,
		})
	}
}

// settle fills rep from the results alone: every key's latest result, and
// every invalid result no later result on its line replaced.
func (r *results) settle(rep *Report) {
	rows := make([]final, 0, len(r.byKey)+len(r.invalid))
	for _, f := range r.byKey {
		rows = append(rows, f)
	}
	for line, f := range r.invalid {
		if r.lastKeyed[line] > f.pos+1 {
			r.superseded++ // fixed since, and sent
			continue
		}
		rows = append(rows, f)
	}
	slices.SortFunc(rows, func(a, b final) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.pos, b.pos)) })
	tally := reason.NewTally(0)
	for _, f := range rows {
		rep.Rows++
		switch f.st {
		case stSuccess:
			rep.Success++
		case stUnchanged:
			rep.Unchanged++
		case stFailed:
			rep.countFailed(r.msgs[f.msg])
			tally.Add(string(writer.StatusFailed), r.msgs[f.msg], int(f.line))
		case stInvalid:
			rep.Invalid++
			tally.Add(string(writer.StatusInvalid), r.msgs[f.msg], int(f.line))
		default:
			rep.Unreadable++
		}
	}
	rep.Unattributed = r.unattributed
	rep.Superseded = r.superseded
	rep.Reasons = tally.Top(0)
}
