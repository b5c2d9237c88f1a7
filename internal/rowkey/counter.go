package rowkey

// Counter numbers the rows of one input that send the same object: the
// first gets 0, the next 1, and so on. Its memory must not grow with the
// input, so it remembers the contents of about the last window distinct
// objects (two generations of window/2 each): a row whose object last
// appeared further back than that is numbered as a first occurrence again.
//
// Such a row shares its key with the earlier one. That is safe, only
// wasteful: a resume treats two rows with one key as one row, and sends the
// ticket's rows again rather than skip one it cannot tell is done. Rows
// that repeat the exact same object that far apart are rare (the same
// ticket set to the same values twice, tens of thousands of rows apart).
//
// The numbering depends only on the sequence of contents, so two reads of
// one input number its rows alike.
type Counter struct {
	cur, prev map[uint64]uint32
	gen       int
}

// DefaultWindow is the number of distinct recent objects a Counter made by
// NewCounter(0) remembers: 128Ki, a few MiB.
const DefaultWindow = 1 << 17

// NewCounter returns a Counter that remembers about window distinct
// objects; 0 means DefaultWindow.
func NewCounter(window int) *Counter {
	if window <= 0 {
		window = DefaultWindow
	}
	gen := max(window/2, 1)
	return &Counter{cur: make(map[uint64]uint32), gen: gen}
}

// Next returns the occurrence of the next row, whose object has the given
// content hash (Key.Content).
func (c *Counter) Next(content uint64) uint32 {
	if n, ok := c.cur[content]; ok {
		c.cur[content] = n + 1
		return n
	}
	n := c.prev[content] // 0 when not seen
	if len(c.cur) >= c.gen {
		c.prev, c.cur = c.cur, make(map[uint64]uint32, c.gen)
	}
	c.cur[content] = n + 1
	return n
}
