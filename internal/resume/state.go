// Package resume decides which rows of an input a resumed run sends again,
// from what the results file says earlier runs did.
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
//     know each ticket's last row when it meets the first.
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

	"github.com/kapture-bulk/kapture-bulk/internal/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// maxPosition bounds the rows of a results file a State can take (a
// position plus one must fit in 30 bits, see entry.chain): a file of a
// billion rows is a hundred gigabytes.
const maxPosition = posMask - 1

// State is what a results file says about the rows it recorded: for each
// key the position and status of its latest result, grouped by ticket. It
// is built once by a Builder and then consulted by one Plan, which keeps
// its per-ticket decisions in it. Its memory is about 33 bytes per
// distinct key.
type State struct {
	t       table
	damaged map[int]bool // input lines whose results rows could not be read

	rows                int               // results rows read
	successes, failures int               // keys whose latest result is success / failed
	unknown             []writer.InFlight // rows left in flight, for Record
}

// Rows returns the number of results rows the State was built from.
func (s *State) Rows() int { return s.rows }

// Keyed returns the number of keys with a result: rows that were sent.
func (s *State) Keyed() int { return s.successes + s.failures }

// Recorded reports whether the results hold a result for k (for k's
// ticket), and whether the latest one is a success.
func (s *State) Recorded(k rowkey.Key) (found, success bool) {
	i := s.t.find(k.ID(), k.Ticket)
	if i < 0 {
		return false, false
	}
	return true, s.t.entries[i].success()
}

// BelongsTo reports whether a row with key k shows that the results file
// is the record of the input k comes from: the file's latest result for k
// is a success (or, in a file where no row ever succeeded, a failure).
// A results file none of whose such rows match the input belongs to
// another input.
func (s *State) BelongsTo(k rowkey.Key) bool {
	found, ok := s.Recorded(k)
	return found && (ok || s.successes == 0)
}

// Builder collects the rows of a results file, in append order, into a
// State.
type Builder struct {
	recs       []entry
	damaged    map[int]bool
	rows       int
	inflight   map[uint64]uint32 // key id → latest position + 1, for the journal's keys
	unreadable int               // rows with a cell that could not be read
	example    string            // the first of them, for a message
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
// can be read) is then not known to be done.
func (b *Builder) Add(r writer.Row) error {
	pos := uint32(min(b.rows, maxPosition))
	b.rows++
	if r.Damaged != "" && r.FileLine > 0 { // a torn last line is reported apart
		if b.unreadable == 0 {
			b.example = fmt.Sprintf("line %d: %s", r.FileLine, r.Damaged)
		}
		b.unreadable++
	}
	if !r.KeyOK {
		if r.Status == writer.StatusInvalid {
			return nil // never sent
		}
		if r.Line > 0 {
			b.damaged[r.Line] = true
		}
		if r.Damaged != "" && r.TicketID != "" {
			// Something was recorded for this ticket here, no one can
			// tell what: its last row must not pass for what was applied
			// last (it is sent again), as when a result of a row since
			// deleted came after it.
			b.recs = append(b.recs, entry{tag: rowkey.TicketHash(r.TicketID), id: unknownID(pos), ps: pos << 1})
		}
		return nil
	}
	tag := r.Key.Ticket
	if r.Key.Legacy() {
		tag = rowkey.TicketHash(r.TicketID) // older files: trust the cell
	}
	ps := pos << 1
	if r.Status == writer.StatusSuccess || r.Status == writer.StatusUnchanged {
		// An unchanged row (a sync run's) was not sent because its ticket
		// held the row already: it is as done as a success, and recorded
		// in file order with its ticket's other rows, all unchanged.
		ps |= 1
	}
	id := r.Key.ID()
	b.recs = append(b.recs, entry{tag: tag, id: id, ps: ps})
	if _, ok := b.inflight[id]; ok {
		b.inflight[id] = pos + 1
	}
	return nil
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

// Grow makes room for n more rows, so that a results file of known size
// is read without growing the Builder's memory by doubling.
func (b *Builder) Grow(n int) { b.recs = slices.Grow(b.recs, n) }

// Build returns the State of the rows added.
func (b *Builder) Build() *State {
	s := &State{t: newTable(b.recs), damaged: b.damaged, rows: b.rows}
	b.recs = nil
	for _, e := range s.t.entries {
		if e.unknown() {
			continue // not a key: it says nothing of which input this is
		}
		if e.success() {
			s.successes++
		} else {
			s.failures++
		}
	}
	return s
}
