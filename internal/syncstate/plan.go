package syncstate

import (
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	bolt "go.etcd.io/bbolt"
)

// Planner collects, from a read of an export in file order, each ticket's
// last valid row, so that Plan can tell which tickets a sync run sends. A
// ticket is unchanged when the state says it holds exactly its last row:
// then none of its rows is sent (an earlier row would only be undone by
// the last); otherwise all of them are, in file order, so that the ticket
// ends in its last row as a one-row-at-a-time run would leave it.
//
// The main read must see what the plan saw: a row of a ticket planned
// unchanged is sent, with the ticket's later rows, if the plan did not
// see its content, or if it comes after as many rows as the plan counted
// for the ticket, or if it is the last of them and not the one the state
// holds (the file was rewritten in place between the reads).
//
// A run that takes only the export's first rows (a limit) is judged
// against the whole export, as a resume is: a ticket with a row past the
// limit is not moved by it (its rows within the limit are held back, or
// unchanged), for its row past the limit would move it on.
//
// Its memory is about 30 to 50 bytes a distinct ticket and 8 a row:
// tickets are kept by the ticket part of their row key
// (rowkey.TicketHash), with a second, independent hash of the id; two
// tickets whose first hashes collide are told apart by the second and
// then both sent.
type Planner struct {
	seed    maphash.Seed
	tickets map[uint64]planned
	rows    []uint64 // every row's content; sorted and made unique by Plan
}

// planned is one ticket of the export.
type planned struct {
	content uint64 // of its last row
	check   uint32 // the second hash of its id
	// rows counts the ticket's rows within the limit; in the main read,
	// those still to come. 16 bits keep an entry in 16 bytes.
	rows  uint16
	flags uint8
}

const (
	collided  uint8 = 1 << iota // two tickets share the first hash: send both
	unchanged                   // the state holds the ticket's last row
	past                        // a row of the ticket lies past the limit
)

// NewPlanner returns an empty Planner.
func NewPlanner() *Planner {
	return &Planner{seed: maphash.MakeSeed(), tickets: map[uint64]planned{}}
}

func (p *Planner) check(ticket string) uint32 {
	return uint32(maphash.String(p.seed, ticket))
}

// Add records the next valid row of the export: of ticket, whose key is k.
func (p *Planner) Add(ticket string, k rowkey.Key) {
	c := p.check(ticket)
	t, ok := p.tickets[k.Ticket]
	if ok && t.check != c {
		t.flags |= collided
	}
	t.content, t.check = k.Content, c
	if t.rows++; t.rows == 0 { // 65,536 rows: counted no more, sent
		t.flags |= collided
	}
	p.tickets[k.Ticket] = t
	p.rows = append(p.rows, k.Content)
}

// AddPast records the next valid row of the export past the limit (after
// every row given to Add): of ticket, whose key is k. Only a ticket with a
// row within the limit is kept, so the Planner's memory follows the limit.
func (p *Planner) AddPast(ticket string, k rowkey.Key) {
	t, ok := p.tickets[k.Ticket]
	if !ok {
		return
	}
	if t.check != p.check(ticket) {
		t.flags |= collided // held back with the ticket it collides with
	}
	t.content = k.Content
	t.flags |= past
	p.tickets[k.Ticket] = t
}

// Tickets returns the number of distinct tickets added.
func (p *Planner) Tickets() int { return len(p.tickets) }

// Plan says which tickets of the export a sync run sends. It is read by
// one goroutine.
type Plan struct {
	p         *Planner
	unchanged int
}

// Unread returns the number of tickets planned unchanged of which Decide
// was given fewer rows than the plan's read had, all of them seen: after
// the main read, the input ended them with a row the state may not hold.
func (pl *Plan) Unread() int {
	n := 0
	for _, t := range pl.p.tickets {
		if t.flags&unchanged != 0 && t.rows > 0 {
			n++
		}
	}
	return n
}

// Plan compares the export's tickets with the state, in one pass over the
// state, and returns the Plan. The Planner is the Plan's from then on.
// A run that sends every ticket whatever the state holds (a full one)
// uses Planner.Plan instead.
func (s *State) Plan(p *Planner) (*Plan, error) {
	if s.readOnly {
		return nil, fmt.Errorf("sync state %q: a plan needs the state open for a run", s.path)
	}
	pl := &Plan{p: p}
	slices.Sort(p.rows)
	p.rows = slices.Clone(slices.Compact(p.rows)) // the room to grow, given back
	// Keys are read as bytes: no allocation per ticket. A run's Open
	// settled the in-flight marks, so there are none to look up, as a
	// rule.
	err := s.view(func(tx *bolt.Tx) error {
		in := tx.Bucket(bucketInflight)
		marks, _ := in.Cursor().First()
		c := tx.Bucket(bucketTickets).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if marks != nil && in.Get(k) != nil {
				continue // in flight: not known
			}
			h := rowkey.TicketHash(string(k)) // inlined: the conversion is not kept
			t, ok := p.tickets[h]
			if !ok || t.flags&collided != 0 || t.check != uint32(maphash.Bytes(p.seed, k)) {
				continue
			}
			if e, _ := decode(v); e.Unchanged(t.content) {
				t.flags |= unchanged
				p.tickets[h] = t
				pl.unchanged++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pl, nil
}

// Decision is what a sync run does with one valid row of its export.
type Decision int

const (
	// Send: the state does not hold the ticket's last row.
	Send Decision = iota
	// Unchanged: the state holds the ticket's last row; not sent.
	Unchanged
	// HoldBack: the ticket has a row past the limit, and the state does
	// not hold its last row; not sent, so that a run with a limit never
	// moves a ticket away from where its later rows put it.
	HoldBack
)

func (d Decision) String() string {
	switch d {
	case Send:
		return "send"
	case Unchanged:
		return "unchanged"
	case HoldBack:
		return "hold back"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Plan returns the Plan of a run that sends every ticket whatever the
// state holds: it holds back the rows of tickets with a row past the
// limit. The Planner is the Plan's from then on.
func (p *Planner) Plan() *Plan { return &Plan{p: p} }

// Decide says what to do with a row of ticket, whose key is k. It is
// given the rows of the main read in file order. A ticket the Planner was
// not given, a row it did not see, and the rows after one sent, are sent,
// unless the ticket has a row past the limit.
func (pl *Plan) Decide(ticket string, k rowkey.Key) Decision {
	t, ok := pl.p.tickets[k.Ticket]
	if !ok || t.flags&collided == 0 && t.check != pl.p.check(ticket) {
		return Send // a ticket the plan's read did not have
	}
	if t.flags&unchanged != 0 {
		seen := t.rows > 0 && pl.saw(k.Content)
		if seen {
			t.rows--
			// The ticket's last row must be the state's, unless it lies
			// past the limit, where the main read does not go.
			seen = t.rows > 0 || k.Content == t.content || t.flags&past != 0
		}
		if !seen {
			t.flags &^= unchanged
		}
		pl.p.tickets[k.Ticket] = t
		if seen {
			return Unchanged
		}
	}
	if t.flags&past != 0 {
		return HoldBack
	}
	return Send
}

// saw reports whether the plan's read had a row of content c.
func (pl *Plan) saw(c uint64) bool {
	_, found := slices.BinarySearch(pl.p.rows, c)
	return found
}

// Unchanged returns the number of the export's tickets the state holds in
// their last row: those not sent.
func (pl *Plan) Unchanged() int { return pl.unchanged }

// Tickets returns the number of distinct tickets in the export.
func (pl *Plan) Tickets() int { return len(pl.p.tickets) }
