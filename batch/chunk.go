package batch

// Chunker cuts rows, taken in order, into payloads by the engine's rule: a
// payload ends when it holds as many rows as its size, before a row whose
// ticket it already holds (the API's order within one payload is unknown,
// so two rows of one ticket never share a payload), or before a row that
// would take its body over maxPayloadBytes (a payload's first row always
// goes in). The engine cuts its payloads with it; so can anyone who must
// say what the engine would send.
type Chunker struct {
	size    int
	rows    []Row
	bytes   int // of the JSON array the rows make
	tickets map[string]struct{}
}

// NewChunker returns a Chunker for payloads of up to size rows; a size
// below 1 is 1.
func NewChunker(size int) *Chunker {
	size = max(size, 1)
	return &Chunker{size: size, rows: make([]Row, 0, size), tickets: make(map[string]struct{}, size)}
}

// Resize sets the most rows the payload being built, and the later ones,
// may hold; a size below 1 is 1. A payload already over the new size
// keeps its rows: it is Full.
func (c *Chunker) Resize(size int) { c.size = max(size, 1) }

// Full reports whether the payload holds as many rows as its size.
func (c *Chunker) Full() bool { return len(c.rows) >= c.size }

// Add puts r at the end of the payload and reports true, unless the
// payload must end before r: it is Full, holds a row of r's ticket, or
// would be over maxPayloadBytes with r. Then it reports false and leaves
// the payload as it is; r starts the next one.
func (c *Chunker) Add(r Row) bool {
	if c.Full() {
		return false
	}
	if _, dup := c.tickets[r.TicketID]; dup {
		return false
	}
	bytes := c.bytes + 1 + len(r.Object) // a comma (or the opening bracket) and the object
	if len(c.rows) > 0 && bytes+1 > maxPayloadBytes {
		return false
	}
	c.tickets[r.TicketID] = struct{}{}
	c.rows = append(c.rows, r)
	c.bytes = bytes
	return true
}

// Rows returns the payload's rows, in the order added. The slice is the
// Chunker's: it is valid until the next Reset.
func (c *Chunker) Rows() []Row { return c.rows }

// Reset empties the payload, to build the next one.
func (c *Chunker) Reset() {
	c.rows = c.rows[:0]
	c.bytes = 0
	clear(c.tickets)
}
