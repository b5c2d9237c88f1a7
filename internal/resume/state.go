// Package resume reads what a results file (and the in-flight journal
// beside it) says of each row, and decides from it which rows of an input a
// resumed run sends again. It is the one reader of results for every
// command: a resume, a dry run and a report load a State (Load, Peek) and
// walk the input with one loop (Walk) that keys and judges every row alike.
//
// The rules, which keep every ticket's final state the file's last row for
// it, across any number of interrupted runs:
//
//   - A row is known by its key (package rowkey: what it sends, and which
//     occurrence of that it is), not by its line, so rows deleted, inserted
//     or moved in the input change nothing for the others.
//   - The results file is read in append order; the latest result for a
//     key is what counts, and its position says when it happened.
//   - A ticket's rows are taken in file order. A row is skipped only when
//     its latest result is success, that result came after the latest
//     result of every earlier row of the ticket, and no earlier row of the
//     ticket is sent in this run. The first row that is sent (never
//     recorded, failed, edited, or out of order) makes every later row of
//     its ticket be sent too, after it.
//   - A ticket's last row in the whole input is skipped only if nothing
//     was recorded for the ticket after it: a result of a row no longer in
//     the input (deleted or edited since) may have been applied later, so
//     the last row is sent again to put the ticket back in its state. So a
//     resume reads the whole input once before it decides (Index): it must
//     know each ticket's last row when it meets the first (unless no
//     ticket has several results: then nothing can come after a last row).
//   - A run that takes only the input's first rows (a limit, a canary)
//     never moves a ticket away from the state a later row of the whole
//     input put it in: a row it would send whose ticket has a row beyond
//     the limit with a result is held back (HoldBack).
//   - A row a killed run had in flight (the in-flight journal) is recorded
//     as failed with an unknown outcome before anything else happens, so
//     the rules above see that it may have been applied.
package resume

import (
	"fmt"
	"slices"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// maxPosition bounds the rows of a results file a State can take (a
// position plus one must fit in 30 bits, see entry.chain): a file of a
// billion rows is a hundred gigabytes.
const maxPosition = posMask - 1

// Status is the state of a row as its latest result says.
type Status uint8

const (
	Success Status = iota + 1
	Unchanged
	Failed
	Invalid
	// Unreadable: the status cell of the latest result cannot be read.
	Unreadable
)

func statusOf(s writer.Status) Status {
	switch s {
	case writer.StatusSuccess:
		return Success
	case writer.StatusUnchanged:
		return Unchanged
	case writer.StatusFailed:
		return Failed
	case writer.StatusInvalid:
		return Invalid
	}
	return Unreadable
}

// Done reports whether a row in this status needs nothing more.
func (s Status) Done() bool { return s == Success || s == Unchanged }

// Result is the latest result of a row, as a State keeps it.
type Result struct {
	Status Status
	Line   int // the input line it was for; 0 when unreadable
	// At is where the results row starts in the file (writer.MessageAt
	// reads its message); -1 for a row a killed run left in flight, whose
	// message is MsgUnknown.
	At int64
}

// Message returns the message of r, read from the results file through
// m when it is there.
func (r Result) Message(m *writer.Messages) (string, error) {
	if r.At < 0 {
		return MsgUnknown, nil
	}
	return m.At(r.At)
}

// State is what a results file and its journal say about the rows they
// recorded: for each key its latest result, grouped by ticket; the invalid
// results (which have no key) by line; and the lines whose results cannot
// be read. A Plan keeps its per-ticket decisions in it, so a State serves
// one Plan. Its memory is about 48 bytes per distinct key.
type State struct {
	t       table
	damaged map[int]bool      // input lines whose results rows could not be read
	invalid []invalidRec      // the latest invalid result of each line, by line
	stats   Counts            // what the file holds
	unknown []writer.InFlight // rows left in flight, for Record
}

// Counts say what a results file holds.
type Counts struct {
	// Rows counts the results rows read and the journal's rows of
	// unknown outcome; Superseded those a later result of the same row
	// replaced.
	Rows, Superseded int
	// Successes and Failures count the keys whose latest result is done
	// (success, unchanged) and not (failed, unreadable status).
	Successes, Failures int
	// Unattributed counts the rows that cannot be tied to any row:
	// neither their key nor (for an invalid row) their line can be read.
	Unattributed int
	// Unreadable counts the rows with a cell that could not be read;
	// Example says where the first is.
	Unreadable int
	Example    string
}

// Rows returns the number of results rows the State was built from.
func (s *State) Rows() int { return s.stats.Rows }

// Counts returns what the results file holds.
func (s *State) Counts() Counts { return s.stats }

// Keyed returns the number of keys with a result: rows that were sent.
func (s *State) Keyed() int { return s.stats.Successes + s.stats.Failures }

// Latest returns the latest result recorded for k (for k's ticket).
func (s *State) Latest(k rowkey.Key) (Result, bool) {
	i := s.t.find(k.ID(), k.Ticket)
	if i < 0 {
		return Result{}, false
	}
	return s.t.entries[i].result(), true
}

// Recorded reports whether the results hold a result for k (for k's
// ticket), and whether the latest one is done.
func (s *State) Recorded(k rowkey.Key) (found, done bool) {
	r, ok := s.Latest(k)
	return ok, r.Status.Done()
}

// BelongsTo reports whether a row with key k shows that the results file
// is the record of the input k comes from: the file's latest result for k
// is done (or, in a file where no row ever succeeded, failed). A results
// file none of whose such rows match the input belongs to another input.
func (s *State) BelongsTo(k rowkey.Key) bool {
	return s.belongsAt(s.t.find(k.ID(), k.Ticket))
}

// belongsAt is BelongsTo for the key whose entry is i (-1: none).
func (s *State) belongsAt(i int) bool {
	return i >= 0 && (s.t.entries[i].result().Status.Done() || s.stats.Successes == 0)
}

// Damaged reports whether a results row for the input line could not be
// read: the row on that line is not known to be done.
func (s *State) Damaged(line int) bool { return s.damaged[line] }

// Each calls fn with every row's latest result: first by key (keyed;
// seen says an input row matched it, see Seen), then the invalid results
// (which have no key) by line. It leaves out, and returns the number of,
// invalid results a later result on their line replaced: the row was
// fixed and sent since.
func (s *State) Each(fn func(r Result, keyed, seen bool)) (fixed int) {
	for i := range s.t.entries {
		if e := &s.t.entries[i]; !e.unknown() {
			fn(e.result(), true, e.st&seenBit != 0)
		}
	}
	for _, inv := range s.invalid {
		if inv.pos&fixedBit != 0 {
			fixed++
			continue
		}
		fn(Result{Status: Invalid, Line: int(inv.line), At: inv.at}, false, false)
	}
	return fixed
}

// Invalid returns the latest result of the input line when it is an
// invalid one that no later result on the line replaced (see Each).
func (s *State) Invalid(line int) (Result, bool) {
	i := findInvalid(s.invalid, line)
	if i < 0 || s.invalid[i].pos&fixedBit != 0 {
		return Result{}, false
	}
	return Result{Status: Invalid, Line: line, At: s.invalid[i].at}, true
}

// Tickets calls fn with the latest result of every row the results
// record, by key, with the hash of its ticket (rowkey.TicketHash; for an
// older file's key, of its ticket_id cell), a ticket's rows together. A
// results row that could not be read but names a ticket comes as a Result
// of no status with At -1: something was recorded for the ticket there,
// nobody can tell what.
func (s *State) Tickets(fn func(ticket uint64, r Result)) {
	for _, e := range s.t.entries {
		fn(e.tag, e.result())
	}
}

// Seen marks k's result as matched by a row of the input (see Each).
func (s *State) Seen(k rowkey.Key) {
	if i := s.t.find(k.ID(), k.Ticket); i >= 0 {
		s.t.entries[i].st |= seenBit
	}
}

// Builder collects the rows of a results file, in append order, into a
// State.
type Builder struct {
	recs     []entry
	damaged  map[int]bool
	invalid  []invalidRec // in append order until Build
	stats    Counts
	inflight map[uint64]uint32 // key id → latest position + 1, for the journal's keys
}

// NewBuilder returns a Builder; inflight are the rows a killed run's
// journal lists, whose results it watches for.
func NewBuilder(inflight []writer.InFlight) *Builder {
	b := &Builder{damaged: map[int]bool{}, inflight: map[uint64]uint32{}}
	for _, r := range inflight {
		b.inflight[r.Key.ID()] = 0
	}
	return b
}

// Add records the next row of the results file. A row whose key cannot
// be read says nothing about any key; the input row on its line (if that
// can be read) is then not known to be done. It never fails: its error is
// for use as writer.ReadRows' fn.
func (b *Builder) Add(r writer.Row) error {
	pos := uint32(min(b.stats.Rows, maxPosition))
	if r.FileLine > 0 || r.Damaged == "" {
		b.stats.Rows++ // a torn last line (no FileLine) is no row: reported apart
	}
	if r.Damaged != "" && r.FileLine > 0 {
		if b.stats.Unreadable == 0 {
			b.stats.Example = fmt.Sprintf("line %d: %s", r.FileLine, r.Damaged)
		}
		b.stats.Unreadable++
	}
	if !r.KeyOK {
		b.addUnkeyed(r, pos)
		return nil
	}
	tag := r.Key.Ticket
	if r.Key.Legacy() {
		tag = rowkey.TicketHash(r.TicketID) // older files: trust the cell
	}
	st := statusOf(r.Status)
	ps := pos << 1
	if st.Done() {
		// An unchanged row (a sync run's) was not sent because its ticket
		// held the row already: it is as done as a success, and recorded
		// in file order with its ticket's other rows, all unchanged.
		ps |= 1
	}
	id := r.Key.ID()
	if len(b.recs) == cap(b.recs) && len(b.recs) >= compactAt {
		b.compact()
	}
	b.recs = append(b.recs, entry{tag: tag, id: id, ps: ps, line: uint32(max(r.Line, 0)), st: st, at: r.Offset})
	if _, ok := b.inflight[id]; ok {
		b.inflight[id] = pos + 1
	}
	return nil
}

// addUnkeyed records a row without a readable key: an invalid row's
// result (by its line), or a damaged one.
func (b *Builder) addUnkeyed(r writer.Row, pos uint32) {
	switch {
	case r.Status == writer.StatusInvalid && r.Line > 0 && r.Line <= maxInvalidLine:
		b.addInvalid(r.Line, pos, r.Offset)
		return
	case r.FileLine > 0: // not the torn last line, which is reported apart
		b.stats.Unattributed++
	}
	if r.Line > 0 {
		b.damaged[r.Line] = true
	}
	if r.Damaged != "" && r.TicketID != "" {
		// Something was recorded for this ticket here, no one can tell
		// what: its last row must not pass for what was applied last (it
		// is sent again), as when a result of a row since deleted came
		// after it.
		b.recs = append(b.recs, entry{tag: rowkey.TicketHash(r.TicketID), id: unknownID(pos), ps: pos << 1, at: -1})
	}
}

// ended reports whether a row the journal listed has a result written
// after its journal entry: the outcome of that request is recorded.
func (b *Builder) ended(r writer.InFlight) bool {
	return b.inflight[r.Key.ID()] > uint32(r.Since)
}

// unknownID is the id of the entry of a damaged results row at pos: one no
// key has (key ids are SHA-256 based; these are 2^32 values out of 2^64).
func unknownID(pos uint32) uint64 { return 0x7ffffffe_00000000 | uint64(pos) }

// unknown reports whether e stands for a damaged results row.
func (e entry) unknown() bool { return e.id>>32 == 0x7ffffffe }

// compactAt is how many entries a Builder holds before, when they fill
// their array, it keeps only each key's latest instead of growing it.
const compactAt = 1 << 16

// compact keeps each key's latest entry, when the entries fill their
// array: a results file that holds many results of the same rows (each
// resume sends failures again) then costs memory by its keys, not its
// lines. The array doubles when that frees less than half of it, so that
// compacting costs no more than growing.
func (b *Builder) compact() {
	b.recs = latest(b.recs)
	if len(b.recs) > cap(b.recs)/2 {
		b.recs = slices.Grow(b.recs, cap(b.recs))
	}
}

// maxGrow bounds the room Grow makes at once (40 MiB of entries, a
// million rows): a file's size says how many lines it has, not how many
// keys.
const maxGrow = 1 << 20

// Grow makes room for n more rows, so that a results file of known size
// is read without growing the Builder's memory by doubling (up to
// maxGrow).
func (b *Builder) Grow(n int) { b.recs = slices.Grow(b.recs, min(n, maxGrow)) }

// Build returns the State of the rows added.
func (b *Builder) Build() *State {
	n := len(b.recs)
	t := newTable(b.recs)
	b.recs = nil
	inv := b.buildInvalid(t.entries)
	s := &State{t: t, damaged: b.damaged, invalid: inv, stats: b.stats}
	for _, e := range s.t.entries {
		switch {
		case e.unknown():
			n-- // not a key: it says nothing of which input this is
		case e.success():
			s.stats.Successes++
		default:
			s.stats.Failures++
		}
	}
	s.stats.Superseded += n - s.stats.Successes - s.stats.Failures
	return s
}
