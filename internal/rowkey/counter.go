package rowkey

// Counter numbers the rows of one input that send the same object (the
// first gets 0, the next 1, and so on), and tells whether a row's ticket
// came earlier. Its memory must not grow with the input, so it remembers
// about the last Window distinct tickets (two generations of Window/2
// each), and the objects sent for them: a row whose ticket last appeared
// further back than that counts as its ticket's first, and its object as
// sent for the first time.
//
// Such a row shares its key with the earlier one that sent the same
// object. That is safe, only wasteful: a resume treats two rows with one
// key as one row, and sends the ticket's rows again rather than skip one
// it cannot tell is done. Rows that repeat the exact same object that far
// apart are rare (the same ticket set to the same values twice, tens of
// thousands of rows apart).
//
// The numbering depends only on the sequence of rows, so two reads of one
// input number its rows alike. Identical objects always belong to one
// ticket (the object carries the ticket id), so objects are counted only
// for tickets seen more than once: one map lookup for most rows.
type Counter struct {
	// tickets[0] is the current generation, [1] the one before: each
	// ticket's first object's content hash.
	tickets [2]map[uint64]uint64
	// counts holds, for the objects of tickets seen more than once, how
	// many rows sent them so far; in generations with the tickets.
	counts [2]map[uint64]uint32
	gen    int
}

// Window is the number of distinct recent tickets a Counter remembers.
const Window = 1 << 16

// NewCounter returns a Counter that remembers about window distinct
// tickets; 0 means Window.
func NewCounter(window int) *Counter {
	if window <= 0 {
		window = Window
	}
	c := &Counter{gen: max(window/2, 1)}
	for i := range 2 {
		c.tickets[i] = map[uint64]uint64{}
		c.counts[i] = map[uint64]uint32{}
	}
	return c
}

// Next returns the occurrence of the next row of the input, whose key is k
// (its Occurrence aside), and whether a row of the same ticket came earlier
// within the window.
func (c *Counter) Next(k Key) (occurrence uint32, repeat bool) {
	first, ok := c.tickets[0][k.Ticket]
	if !ok {
		if first, ok = c.tickets[1][k.Ticket]; ok {
			c.tickets[0][k.Ticket] = first
		}
	}
	if !ok {
		c.rotate()
		c.tickets[0][k.Ticket] = k.Content
		return 0, false
	}
	n, ok := c.counts[0][k.Content]
	if !ok {
		n = c.counts[1][k.Content]
	}
	if n == 0 && k.Content == first {
		n = 1 // the ticket's first row, not counted until now
	}
	c.counts[0][k.Content] = n + 1
	return n, true
}

// rotate starts a new generation once the current one is full; the maps
// of the generation forgotten are reused.
func (c *Counter) rotate() {
	if len(c.tickets[0]) < c.gen {
		return
	}
	clear(c.tickets[1])
	c.tickets[0], c.tickets[1] = c.tickets[1], c.tickets[0]
	clear(c.counts[1])
	c.counts[0], c.counts[1] = c.counts[1], c.counts[0]
}
