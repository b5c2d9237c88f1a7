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
	// rows counts the ticket's rows; in the main read, those still to
	// come. 16 bits keep an entry in 16 bytes.
	rows  uint16
	flags uint8
}

const (
	collided  uint8 = 1 << iota // two tickets share the first hash: send both
	unchanged                   // the state holds the ticket's last row
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

// Tickets returns the number of distinct tickets added.
func (p *Planner) Tickets() int { return len(p.tickets) }

// Plan says which tickets of the export a sync run sends. It is read by
// one goroutine.
type Plan struct {
	p         *Planner
	unchanged int
}

// Unread returns the number of tickets planned unchanged of which Send
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

// Send reports whether a row of ticket, whose key is k, is sent: false
// only when the state holds its ticket's last row. It is given the rows
// of the main read in file order. A ticket the Planner was not given, a
// row it did not see, and the rows after one sent, are sent.
func (pl *Plan) Send(ticket string, k rowkey.Key) bool {
	t, ok := pl.p.tickets[k.Ticket]
	if !ok || t.flags&unchanged == 0 || t.check != pl.p.check(ticket) {
		return true
	}
	seen := t.rows > 0 && pl.saw(k.Content)
	if seen {
		t.rows--
		seen = t.rows > 0 || k.Content == t.content
	}
	if !seen {
		t.flags &^= unchanged
	}
	pl.p.tickets[k.Ticket] = t
	return !seen
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
