package rowkey

// Counter numbers the rows of one input that send the same object (the
// first gets 0, the next 1, and so on), and tells whether a row's ticket
// came earlier. The numbering depends only on the sequence of rows, so two
// reads of one input number its rows alike, however far apart the repeats.
//
// It remembers every ticket of the input (Firsts): in a map, about 30
// bytes a distinct ticket (a million tickets, some 30 MiB). Identical objects always
// belong to one ticket (the object carries the ticket id), so objects are
// counted only for the tickets seen more than once.
type Counter struct {
	first  Firsts            // ticket hash → the content of its first row
	counts map[uint64]uint32 // content → rows so far, for tickets seen twice
}

// Firsts keeps, for a Counter, the content of each ticket's first row: a
// map unless a caller holds a record of most tickets already (a resume's
// results) and keeps them there.
type Firsts interface {
	// First returns the content of the first row of ticket, if any.
	First(ticket uint64) (content uint64, seen bool)
	// SetFirst records the first row of a ticket not seen before.
	SetFirst(ticket, content uint64)
}

// NewCounter returns a Counter for one read of an input.
func NewCounter() *Counter { return NewCounterWith(firstMap{}) }

// NewCounterWith returns a Counter that keeps the tickets' first rows in
// first.
func NewCounterWith(first Firsts) *Counter {
	return &Counter{first: first, counts: map[uint64]uint32{}}
}

// Next returns the occurrence of the next row of the input, whose key is k
// (its Occurrence aside), and whether a row of the same ticket came
// earlier.
func (c *Counter) Next(k Key) (occurrence uint32, repeat bool) {
	first, ok := c.first.First(k.Ticket)
	if !ok {
		c.first.SetFirst(k.Ticket, k.Content)
		return 0, false
	}
	n, ok := c.counts[k.Content]
	if !ok && k.Content == first {
		n = 1 // the ticket's first row, not counted until now
	}
	c.counts[k.Content] = n + 1
	return n, true
}

// firstMap is the Firsts of a Counter of its own.
type firstMap map[uint64]uint64

func (m firstMap) First(ticket uint64) (uint64, bool) {
	c, ok := m[ticket]
	return c, ok
}

func (m firstMap) SetFirst(ticket, content uint64) { m[ticket] = content }
