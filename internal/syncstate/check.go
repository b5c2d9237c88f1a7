package syncstate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// A damaged state (a power cut that left pages unwritten, a file cut
// short, bytes changed on disk) must be refused, never crash the process
// or be believed. bbolt reads the file through mmap and panics on a page
// that is not what it expects; a page beyond the file's end faults. So
// every use of the file runs under guard, which turns both into
// ErrDamaged; what bbolt reads as it opens the file (its meta pages and
// free list) is checked before (checkFile); and Open reads the whole
// state (verify) before anything trusts it.
//
// What bbolt's checks cannot see (a changed byte inside a key or an
// entry, a lost key, a stale page left by a power cut) the digest does:
// the sum of a hash of every key and value of the tickets and in-flight
// buckets and of the API, kept in the meta bucket by every transaction
// that changes them. A state whose content does not add up to its digest
// is refused, so a ticket is Unchanged only when the state holds exactly
// what its last commit wrote. (A power cut that loses whole commits, meta
// page included, leaves an older state that adds up: the package doc's
// trade-off of NoSync.)

// ErrDamaged: the state's file cannot be read as the state it was.
var ErrDamaged = errors.New("damaged")

// metaDigest holds the digest, 8 bytes big-endian.
var metaDigest = []byte("digest")

// maxMeta bounds a meta value (a path, a URL): a larger one is damage.
const maxMeta = 64 << 10

// guard runs fn with faults in the file's mapping turned into panics, and
// any panic (bbolt's assertions on a page it does not expect) into an
// error wrapping ErrDamaged. After one, the state is not used again.
func (s *State) guard(fn func() error) (err error) {
	if s.broken != nil {
		return s.broken
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			s.broken = fmt.Errorf("sync state %q: %w: %v", s.path, ErrDamaged, r)
			err = s.broken
		}
	}()
	return fn()
}

// pairHash is the digest's hash of key k and value v of the bucket named
// by tag: FNV-1a over the tag, the key's length, the key and the value.
// Any single changed byte changes it.
func pairHash(tag byte, k, v []byte) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	h = (h ^ uint64(tag)) * prime
	h = (h ^ uint64(len(k)>>8)) * prime
	h = (h ^ uint64(len(k)&0xff)) * prime
	for _, c := range k {
		h = (h ^ uint64(c)) * prime
	}
	for _, c := range v {
		h = (h ^ uint64(c)) * prime
	}
	return h
}

const (
	tagTicket   byte = 't'
	tagInflight byte = 'i'
	tagMeta     byte = 'm' // the API, which is set once
)

// writeTx changes the tickets and in-flight buckets of one read-write
// transaction, keeping the digest: every change goes through it, and end
// stores the digest.
type writeTx struct {
	tk, in, meta *bolt.Bucket
	sum          uint64
}

func beginWrite(tx *bolt.Tx) *writeTx {
	w := &writeTx{tk: tx.Bucket(bucketTickets), in: tx.Bucket(bucketInflight), meta: tx.Bucket(bucketMeta)}
	w.tk.FillPercent = fillPercent
	if d := w.meta.Get(metaDigest); len(d) == 8 { // verify refused any other
		w.sum = binary.BigEndian.Uint64(d)
	}
	return w
}

// put sets key k of the tickets bucket to v (which bbolt keeps until the
// commit: the caller must not reuse it), old being its value now (nil if
// none).
func (w *writeTx) put(k, old, v []byte) error {
	if old != nil {
		w.sum -= pairHash(tagTicket, k, old)
	}
	w.sum += pairHash(tagTicket, k, v)
	return w.tk.Put(k, v)
}

// mark marks ticket k in flight.
func (w *writeTx) mark(k []byte) error {
	if w.in.Get(k) != nil {
		return nil
	}
	w.sum += pairHash(tagInflight, k, nil)
	return w.in.Put(k, nil)
}

// unmark clears k's in-flight mark, if any.
func (w *writeTx) unmark(k []byte) error {
	if w.in.Get(k) == nil {
		return nil
	}
	w.sum -= pairHash(tagInflight, k, nil)
	return w.in.Delete(k)
}

// end stores the digest.
func (w *writeTx) end() error {
	return w.meta.Put(metaDigest, binary.BigEndian.AppendUint64(nil, w.sum))
}

// verify reads every page of the state in tx, and returns its digest as
// the content adds it up. It refuses a file that is not a state (see
// checkFormat), and with ErrDamaged keys out of order or of a size no
// ticket has, entries of another size or status, and, when the state
// records a digest, content that does not add up to it.
func verify(tx *bolt.Tx) (uint64, error) {
	if err := checkFormat(tx); err != nil {
		return 0, err
	}
	m := tx.Bucket(bucketMeta)
	var sum uint64
	err := m.ForEach(func(k, v []byte) error {
		if len(v) > maxMeta {
			return fmt.Errorf("%w: meta %q of %d bytes", ErrDamaged, k, len(v))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, b := range []struct {
		name []byte
		tag  byte
		ok   func(v []byte) bool
	}{
		{bucketTickets, tagTicket, func(v []byte) bool { _, ok := decode(v); return ok }},
		{bucketInflight, tagInflight, func(v []byte) bool { return v != nil && len(v) == 0 }},
	} {
		bk := tx.Bucket(b.name)
		if bk == nil {
			continue // a state just created by an older version: made at the first run
		}
		var prev []byte
		c := bk.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			switch {
			case len(k) == 0, len(k) > maxTicketID:
				return 0, fmt.Errorf("%w: %s: a key of %d bytes", ErrDamaged, b.name, len(k))
			case !b.ok(v):
				return 0, fmt.Errorf("%w: %s: %.40q has a value that is not one", ErrDamaged, b.name, k)
			case prev != nil && bytes.Compare(prev, k) >= 0:
				return 0, fmt.Errorf("%w: %s: keys out of order", ErrDamaged, b.name)
			}
			sum += pairHash(b.tag, k, v)
			prev = k
		}
	}
	if api := m.Get(metaAPI); api != nil {
		sum += pairHash(tagMeta, metaAPI, api)
	}
	if d := m.Get(metaDigest); d != nil {
		if len(d) != 8 || binary.BigEndian.Uint64(d) != sum {
			return 0, fmt.Errorf("%w: its content is not what its last commit wrote", ErrDamaged)
		}
	}
	return sum, nil
}
