package run

import "hash/maphash"

// duplicates notices rows whose ticket_id appeared earlier in the input,
// for a warning and the summary's figure. Its memory must not grow with the
// file: it keeps 64-bit hashes (not ids) of the most recent distinct
// tickets, in two generations of dupWindow each, so a repeat further back
// than dupWindow distinct tickets may go uncounted: on larger files n is a
// lower bound. A hash collision would only miscount the figure.
type duplicates struct {
	cur, prev map[uint64]struct{}
	seed      maphash.Seed
	n         int64
}

const dupWindow = 1 << 15

// seen reports whether ticketID came earlier (within the window), and
// counts it in n if so.
func (d *duplicates) seen(ticketID string) bool {
	if d.cur == nil {
		d.cur = map[uint64]struct{}{}
		d.seed = maphash.MakeSeed()
	}
	h := maphash.String(d.seed, ticketID)
	if _, ok := d.cur[h]; ok {
		d.n++
		return true
	}
	if _, ok := d.prev[h]; ok {
		d.n++
		d.cur[h] = struct{}{}
		return true
	}
	if len(d.cur) >= dupWindow {
		d.prev, d.cur = d.cur, make(map[uint64]struct{}, dupWindow)
	}
	d.cur[h] = struct{}{}
	return false
}
