package syncstate

import (
	"fmt"
	"hash/maphash"

	"github.com/kapture-bulk/kapture-bulk/internal/rowkey"
	bolt "go.etcd.io/bbolt"
)

// Planner collects, from a read of an export in file order, each ticket's
// last valid row, so that Plan can tell which tickets a sync run sends. A
// ticket is unchanged when the state says it holds exactly its last row:
// then none of its rows is sent (an earlier row would only be undone by
// the last); otherwise all of them are, in file order, so that the ticket
// ends in its last row as a one-row-at-a-time run would leave it.
//
// Its memory is about 30 to 50 bytes a distinct ticket: tickets are kept by
// the ticket part of their row key (rowkey.TicketHash), with a second,
// independent hash of the id; two tickets whose first hashes collide are
// told apart by the second and then both sent.
type Planner struct {
	seed    maphash.Seed
	tickets map[uint64]planned
}

// planned is one ticket of the export.
type planned struct {
	content uint64 // of its last row
	check   uint32 // the second hash of its id
	flags   uint8
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

// Plan compares the export's tickets with the state, in one pass over the
// state, and returns the Plan. The Planner is the Plan's from then on.
func (s *State) Plan(p *Planner) (*Plan, error) {
	if s.readOnly {
		return nil, fmt.Errorf("sync state %q: a plan needs the state open for a run", s.path)
	}
	pl := &Plan{p: p}
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
// only when the state holds its ticket's last row. A ticket the Planner
// was not given (the export changed under the run) is sent.
func (pl *Plan) Send(ticket string, k rowkey.Key) bool {
	t, ok := pl.p.tickets[k.Ticket]
	return !ok || t.flags&unchanged == 0 || t.check != pl.p.check(ticket)
}

// Unchanged returns the number of the export's tickets the state holds in
// their last row: those not sent.
func (pl *Plan) Unchanged() int { return pl.unchanged }

// Tickets returns the number of distinct tickets in the export.
func (pl *Plan) Tickets() int { return len(pl.p.tickets) }
