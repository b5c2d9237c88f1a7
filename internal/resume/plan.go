package resume

import "github.com/kapture-bulk/kapture-bulk/internal/rowkey"

// Decision is what a resumed run does with one valid input row.
type Decision int

const (
	// Send: the row has no result that says it is done (never recorded,
	// failed, edited, unreadable).
	Send Decision = iota
	// SendAgain: the row was done, but an earlier row of its ticket is
	// sent in this run, or came after it: it is sent again so that the
	// ticket ends in the file's last row.
	SendAgain
	// Skip: the row is done and in order.
	Skip
	// Hold: the row is done and in order so far, but something was
	// recorded for its ticket after it. If a later row of the ticket
	// follows, this row is skipped (Decide's released count says so); if
	// not, Flush hands it back to be sent again.
	Hold
)

// DefaultHeld bounds the rows a Plan holds at once (see NewPlan).
const DefaultHeld = 1 << 16

// Plan applies the resume rules (see the package doc) to an input's rows,
// in file order, against one State. It changes the State's per-ticket
// bookkeeping, so a State serves one Plan. It is not safe for concurrent
// use: one producer asks it about rows in order.
type Plan[T any] struct {
	st      *State
	held    map[int]T // by the ticket's first entry
	maxHeld int
}

// NewPlan returns a Plan over st that holds at most maxHeld rows at once
// (0 means DefaultHeld); past that, a row it would hold is sent again at
// once, which is correct, only less thrifty. Rows held are kept in memory,
// so the bound is the Plan's memory.
func NewPlan[T any](st *State, maxHeld int) *Plan[T] {
	if maxHeld <= 0 {
		maxHeld = DefaultHeld
	}
	return &Plan[T]{st: st, held: map[int]T{}, maxHeld: maxHeld}
}

// Decide says what to do with the next valid row of the input, whose key
// is k and which starts on line; item is what Flush hands back if the row
// is held. released is the number of rows held earlier for the same
// ticket that this row settles as skipped.
func (p *Plan[T]) Decide(k rowkey.Key, line int, item T) (d Decision, released int) {
	t := &p.st.t
	// Most rows of a resume have a result: their key leads to their
	// ticket's entries at once. A new row's ticket is looked up by hash.
	i := t.find(k.ID(), k.Ticket)
	var first, end int
	if i >= 0 {
		first, end = t.group(i)
	} else if first, end = t.ticket(k.Ticket); first < 0 {
		return Send, 0 // nothing recorded for this ticket
	}
	if _, ok := p.held[first]; ok {
		// A later row of the ticket follows: the held one is in order
		// and, whatever this row becomes, not the ticket's last.
		delete(p.held, first)
		released = 1
	}
	head := &t.entries[first] // carries the ticket's decisions
	done := i >= 0 && t.entries[i].success() && !p.st.damaged[line]
	switch {
	case head.chain&sendingBit != 0 && done:
		return SendAgain, released
	case head.chain&sendingBit != 0:
		return Send, released
	case !done:
		head.chain |= sendingBit
		return Send, released
	}
	pos := t.entries[i].pos()
	if pos < head.chain {
		// Its result came before that of an earlier row of the ticket.
		head.chain |= sendingBit
		return SendAgain, released
	}
	head.chain = pos + 1
	if pos == lastOf(t.entries[first:end]) {
		return Skip, released
	}
	if len(p.held) >= p.maxHeld {
		head.chain |= sendingBit
		return SendAgain, released
	}
	p.held[first] = item
	return Hold, released
}

// lastOf returns the latest position among a ticket's entries.
func lastOf(es []entry) uint32 {
	var last uint32
	for _, e := range es {
		last = max(last, e.pos())
	}
	return last
}

// Flush hands back, at the end of the input, the rows still held: each is
// the last row of its ticket, and something was recorded for the ticket
// after it, so it is sent again. The Plan holds nothing afterwards.
func (p *Plan[T]) Flush() []T {
	out := make([]T, 0, len(p.held))
	for first, item := range p.held {
		p.st.t.entries[first].chain |= sendingBit
		out = append(out, item)
	}
	clear(p.held)
	return out
}
