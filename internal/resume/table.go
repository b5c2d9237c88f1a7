package resume

import (
	"cmp"
	"math/bits"
	"slices"
)

// entry is the latest result of one key. The entries of a State are sorted
// by ticket, then key: a ticket's keys stand together, and its first entry
// carries the run's decisions about the ticket.
type entry struct {
	tag uint64 // the ticket hash (for a legacy key, of the ticket cell)
	id  uint64 // rowkey.Key.ID()
	at  int64  // where its results row starts; -1: none (see Result.At)
	ps  uint32 // position<<1 | 1 if done
	// chain is set on a ticket's first entry only: the position of the
	// latest result of the rows skipped so far plus one (0: none yet), with
	// sendingBit once a row of the ticket is sent in this run, and
	// limitBit when a row of it beyond the run's limit has a result.
	chain uint32
	line  uint32 // the input line of the result
	st    Status // its status, with seenBit once an input row matched it
}

// seenBit marks an entry an input row matched (State.Seen). A walk with
// a Plan marks its ticket's first row (firstBit) on the entry of that
// row's content and, on its ticket's first entry, metBit (see firsts).
const (
	seenBit  Status = 0x80
	firstBit Status = 0x40
	metBit   Status = 0x20
	flagBits        = seenBit | firstBit | metBit
)

func (e entry) result() Result {
	return Result{Status: e.st &^ flagBits, Line: int(e.line), At: e.at}
}

const (
	sendingBit = 1 << 31
	limitBit   = 1 << 30
	posMask    = limitBit - 1
)

func (e entry) pos() uint32   { return e.ps >> 1 }
func (e entry) success() bool { return e.ps&1 != 0 }

// table holds the entries with two ways in: by ticket (a bucket index over
// the sorted ticket hashes) and by key (an open-addressing hash table of
// entry numbers). Hashes are SHA-256 based, so buckets and probes are
// short: a lookup reads one or two cache lines instead of binary-searching
// (twenty cache misses on a million entries). A skewed set of hashes would
// make lookups slower, never wrong.
type table struct {
	entries []entry
	shift   uint     // ticket buckets: tag >> shift
	buckets []uint32 // buckets[b]: the first entry whose tag is in bucket b
	byID    []uint32 // entry number + 1, 0 = empty; len is a power of two
	several bool     // some ticket has more than one entry
}

// newTable sorts recs (the results' rows, in append order) and keeps the
// latest entry of each key, in an array of their size.
func newTable(recs []entry) table {
	recs = latest(recs)
	if cap(recs) > len(recs)+len(recs)/4 {
		recs = slices.Clone(recs) // a file of many results per key: free the room they took
	}
	t := table{entries: slices.Clip(recs)}
	for i := 1; i < len(t.entries) && !t.several; i++ {
		t.several = t.entries[i].tag == t.entries[i-1].tag
	}
	t.indexTickets()
	t.indexIDs()
	return t
}

// latest sorts recs by ticket, key and position, and keeps the latest
// entry of each key, in place.
func latest(recs []entry) []entry {
	slices.SortFunc(recs, func(a, b entry) int {
		if c := cmp.Compare(a.tag, b.tag); c != 0 {
			return c
		}
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.ps>>1, b.ps>>1)
	})
	n := 0
	for i := range recs {
		if i+1 < len(recs) && recs[i+1].id == recs[i].id && recs[i+1].tag == recs[i].tag {
			continue // a later result of the same key
		}
		recs[n] = recs[i]
		n++
	}
	return recs[:n]
}

func (t *table) indexTickets() {
	b := max(bits.Len(uint(len(t.entries)))-2, 1) // about four entries a bucket
	t.shift = uint(64 - b)
	t.buckets = make([]uint32, 1<<b+1)
	i := 0
	for bucket := range 1 << b {
		for i < len(t.entries) && t.entries[i].tag>>t.shift < uint64(bucket) {
			i++
		}
		t.buckets[bucket] = uint32(i)
	}
	t.buckets[1<<b] = uint32(len(t.entries))
}

func (t *table) indexIDs() {
	size := 1 << max(bits.Len(uint(len(t.entries)+len(t.entries)/4)), 1) // load at most 0.8
	t.byID = make([]uint32, size)
	mask := uint64(size - 1)
	for i, e := range t.entries {
		for s := e.id >> 32 & mask; ; s = (s + 1) & mask {
			if t.byID[s] == 0 {
				t.byID[s] = uint32(i + 1)
				break
			}
		}
	}
}

// ticket returns the entries of the ticket with hash tag as [first, end),
// or first == -1 when the results recorded nothing for it.
func (t *table) ticket(tag uint64) (first, end int) {
	if len(t.entries) == 0 {
		return -1, -1
	}
	b := tag >> t.shift
	for i := int(t.buckets[b]); i < int(t.buckets[b+1]); i++ {
		switch e := t.entries[i].tag; {
		case e == tag:
			end = i + 1
			for end < len(t.entries) && t.entries[end].tag == tag {
				end++
			}
			return i, end
		case e > tag:
			return -1, -1
		}
	}
	return -1, -1
}

// group returns the entries of the ticket of entry i as [first, end).
func (t *table) group(i int) (first, end int) {
	tag := t.entries[i].tag
	first, end = i, i+1
	for first > 0 && t.entries[first-1].tag == tag {
		first--
	}
	for end < len(t.entries) && t.entries[end].tag == tag {
		end++
	}
	return first, end
}

// find returns the entry of the key with this id and ticket hash, or -1.
func (t *table) find(id, tag uint64) int {
	if len(t.byID) == 0 {
		return -1
	}
	mask := uint64(len(t.byID) - 1)
	for s := id >> 32 & mask; ; s = (s + 1) & mask {
		n := t.byID[s]
		if n == 0 {
			return -1
		}
		if e := &t.entries[n-1]; e.id == id && e.tag == tag {
			return int(n - 1)
		}
	}
}

// firsts is a walk's rowkey.Firsts over the State's entries: a ticket the
// results record whose first row in the input sends a content they record
// (occurrence 0: its id is the content) is marked on its entries, the
// rest go to a map. A resume of a large finished run then holds no map of
// every ticket beside its table (4M tickets: some 100 MiB).
type firsts struct {
	t    *table
	rest map[uint64]uint64
}

func (f *firsts) First(ticket uint64) (uint64, bool) {
	if c, ok := f.rest[ticket]; ok {
		return c, true
	}
	first, end := f.t.ticket(ticket)
	if first < 0 || f.t.entries[first].st&metBit == 0 {
		return 0, false
	}
	for _, e := range f.t.entries[first:end] {
		if e.st&firstBit != 0 {
			return e.id, true
		}
	}
	return 0, false // not reached: a met ticket has its first row marked or in rest
}

func (f *firsts) SetFirst(ticket, content uint64) {
	i := f.t.find(content, ticket)
	if i < 0 {
		f.rest[ticket] = content
		return
	}
	first, _ := f.t.group(i)
	f.t.entries[i].st |= firstBit
	f.t.entries[first].st |= metBit
}
