package resume

import "github.com/kapture-bulk/kapture-bulk/rowkey"

// Decision is what a resumed run does with one valid input row.
type Decision int

const (
	// Send: the row has no result that says it is done (never recorded,
	// failed, edited, unreadable).
	Send Decision = iota
	// SendAgain: the row was done, but an earlier row of its ticket is
	// sent in this run, or its result came before an earlier row's, or it
	// is its ticket's last row and something was recorded for the ticket
	// after it: it is sent again so that the ticket ends in the input's
	// last row for it.
	SendAgain
	// Skip: the row is done and in order.
	Skip
	// HoldBack: the run takes only the input's first rows (a limit), the
	// row would be sent, and a row of its ticket beyond the limit has a
	// result: sending it could move the ticket away from the state that
	// later row put it in. It is not sent; a run without the limit sends
	// it in order.
	HoldBack
)

// Index is what a resume must know of the whole input before it decides
// about its first row: the last row of every ticket the results record,
// and, when the run takes only the input's first rows, the tickets one of
// whose rows beyond them has a result. Add every valid row of the input,
// in file order, then make the Plan.
type Index struct {
	st      *State
	last    map[uint64]uint64 // ticket hash → key id of its last row
	belongs bool
}

// NewIndex returns an empty Index over st. A State serves one Index.
func NewIndex(st *State) *Index { return &Index{st: st, last: map[uint64]uint64{}} }

// Add records the input's next valid row, whose key is k; beyond says it
// lies past the rows the run takes. It reports whether the row shows that
// the results file is the record of this input (see State.BelongsTo).
func (ix *Index) Add(k rowkey.Key, beyond bool) (belongs bool) {
	first, end := ix.st.t.ticket(k.Ticket)
	return ix.add(k, first, end, beyond)
}

// add is Add with the entries of k's ticket, [first, end), looked up.
func (ix *Index) add(k rowkey.Key, first, end int, beyond bool) (belongs bool) {
	if first < 0 {
		return false // nothing recorded for its ticket
	}
	t := &ix.st.t
	if end-first > 1 {
		// With one entry, nothing can have been recorded after the row
		// that has it: only tickets of several need their last row known.
		ix.last[k.Ticket] = k.ID()
	}
	i := t.find(k.ID(), k.Ticket)
	if beyond && i >= 0 {
		t.entries[first].chain |= limitBit
	}
	belongs = ix.st.belongsAt(i)
	ix.belongs = ix.belongs || belongs
	return belongs
}

// Belongs reports whether a row added showed that the results file is the
// record of this input.
func (ix *Index) Belongs() bool { return ix.belongs }

// Plan applies the resume rules (see the package doc) to an input's rows,
// in file order, against one State and the Index of the whole input. It
// keeps its per-ticket decisions in the State. It is not safe for
// concurrent use: one reader asks it about rows in order.
type Plan struct {
	st   *State
	last map[uint64]uint64
}

// Plan returns the Plan of the rows added. The Index is the Plan's from
// then on.
func (ix *Index) Plan() *Plan { return &Plan{st: ix.st, last: ix.last} }

// Decide says what to do with the next valid row of the input (within
// the rows the run takes), whose key is k and which starts on line.
func (p *Plan) Decide(k rowkey.Key, line int) Decision {
	d, _ := p.decideRow(k, line)
	return d
}

// decideRow is Decide, which also returns the entry of k's latest result
// (-1: none), so that a walk looks each row's key up once.
func (p *Plan) decideRow(k rowkey.Key, line int) (Decision, int) {
	t := &p.st.t
	// Most rows of a resume have a result: their key leads to their
	// ticket's entries at once. A new row's ticket is looked up by hash.
	i := t.find(k.ID(), k.Ticket)
	var first, end int
	if i >= 0 {
		first, end = t.group(i)
	} else if first, end = t.ticket(k.Ticket); first < 0 {
		return Send, i // nothing recorded for this ticket
	}
	head := &t.entries[first] // carries the ticket's decisions
	d := p.decide(head, t.entries[first:end], i, k, line)
	switch {
	case d == Skip:
	case head.chain&limitBit != 0:
		return HoldBack, i
	default:
		head.chain |= sendingBit // the ticket's later rows go after this one
	}
	return d, i
}

// decide applies the rules to the row with key k, whose entry is i (-1:
// none) among its ticket's entries es; head is the first of them.
func (p *Plan) decide(head *entry, es []entry, i int, k rowkey.Key, line int) Decision {
	t := &p.st.t
	done := i >= 0 && t.entries[i].success() && !p.st.damaged[line]
	switch {
	case head.chain&sendingBit != 0 && done:
		return SendAgain
	case head.chain&sendingBit != 0 || !done:
		return Send
	}
	pos := t.entries[i].pos()
	if pos < head.chain&posMask {
		return SendAgain // its result came before that of an earlier row of the ticket
	}
	head.chain = head.chain&^posMask | (pos + 1)
	if pos != lastOf(es) && p.last[k.Ticket] == k.ID() {
		// The ticket's last row, and something was recorded for the
		// ticket after it (a row since deleted or edited, a damaged line).
		return SendAgain
	}
	return Skip
}

// lastOf returns the latest position among a ticket's entries.
func lastOf(es []entry) uint32 {
	var last uint32
	for _, e := range es {
		last = max(last, e.pos())
	}
	return last
}
