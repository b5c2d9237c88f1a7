// Package rowkey names an input row by what it sends, not by where it
// stands: the hash of the request object sent for it (which carries the
// ticket id), the hash of its ticket id, and its occurrence among the rows
// that send the very same object. Resume matches rows of an edited input to
// the results of earlier runs by this key, so deleting, inserting or moving
// rows changes no other row's key.
//
// A key is spelled in the results CSV's fingerprint cell as
//
//	k<content>.<ticket>[.<occurrence>]
//
// with content and ticket as 16 lowercase hex digits each, and the
// occurrence in decimal, left out when it is 0 (the first row sending that
// object). The leading letter keeps a spreadsheet from reading the cell as
// a number (Excel turns an all-digit cell into 5.46614E+15). Results files
// written before keys existed hold 16 hex digits (the content hash alone);
// Parse reads those as a key with no ticket hash.
package rowkey

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
)

// Key identifies one input row by content.
type Key struct {
	// Content is the first 64 bits of the SHA-256 of the request object
	// sent for the row: the same value older results files spelled as 16
	// hex digits.
	Content uint64
	// Ticket is the first 64 bits of the SHA-256 of the row's ticket id;
	// 0 in a key read from an older results file, which did not record it.
	Ticket uint64
	// Occurrence counts the earlier rows of the input that send the same
	// object (see Counter).
	Occurrence uint32
}

// New returns the key of the first row that sends object for ticketID;
// the caller sets Occurrence.
func New(ticketID string, object []byte) Key {
	return Key{Content: hash64(object), Ticket: TicketHash(ticketID)}
}

// TicketHash returns the ticket part of a key for ticketID: FNV-1a, then
// splitmix64's finaliser, so its bits are even. Ticket ids are the user's
// own, not an adversary's, and a collision only makes a resume send two
// tickets' rows again together; SHA-256, which the content hash keeps for
// the sake of older results files, would cost a tenth of a microsecond a
// row more. It is never 0, which marks a legacy key.
func TicketHash(ticketID string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(ticketID); i++ {
		h ^= uint64(ticketID[i])
		h *= 1099511628211
	}
	return max(mix(h), 1)
}

func hash64(b []byte) uint64 {
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// IsZero reports whether k is no key: an invalid row's, which was never
// sent.
func (k Key) IsZero() bool { return k == Key{} }

// Legacy reports whether k was read from an older results file: it knows
// the row's content but not its ticket.
func (k Key) Legacy() bool { return k.Ticket == 0 }

// ID folds the content and the occurrence into one 64-bit value, a
// table's lookup key. Content is a uniform hash, so the first occurrence's
// ID is its content and later ones are scattered as uniformly.
func (k Key) ID() uint64 {
	if k.Occurrence == 0 {
		return k.Content
	}
	return k.Content ^ mix(uint64(k.Occurrence))
}

// mix is splitmix64's finaliser: distinct small numbers become unrelated
// 64-bit values.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

const hexDigits = "0123456789abcdef"

// String spells k for the fingerprint cell. A legacy key is spelled as
// older files did.
func (k Key) String() string {
	return string(k.Append(make([]byte, 0, 40)))
}

// Append appends the spelling of k to b.
func (k Key) Append(b []byte) []byte {
	if k.Legacy() {
		return appendHex(b, k.Content)
	}
	b = append(b, 'k')
	b = appendHex(b, k.Content)
	b = append(b, '.')
	b = appendHex(b, k.Ticket)
	if k.Occurrence > 0 {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(k.Occurrence), 10)
	}
	return b
}

func appendHex(b []byte, v uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[v>>uint(shift)&0xf])
	}
	return b
}

// ErrSyntax is returned by Parse for a cell that is not a key.
var ErrSyntax = errors.New("not a row key (k<16 hex>.<16 hex>[.<n>], or 16 hex digits)")

// Parse reads a key spelled by String, or the 16 hex digits of an older
// results file (a legacy key). Only lowercase hex is accepted, so that a
// key has one spelling.
func Parse(s string) (Key, error) {
	if len(s) == 16 {
		v, ok := parseHex(s)
		if !ok {
			return Key{}, ErrSyntax
		}
		return Key{Content: v}, nil
	}
	if len(s) < 34 || s[0] != 'k' || s[17] != '.' {
		return Key{}, ErrSyntax
	}
	c, ok1 := parseHex(s[1:17])
	t, ok2 := parseHex(s[18:34])
	if !ok1 || !ok2 || t == 0 {
		return Key{}, ErrSyntax
	}
	k := Key{Content: c, Ticket: t}
	if rest := s[34:]; rest != "" {
		// Only the spelling String writes: a dot and a positive number
		// without leading zeros.
		if len(rest) < 2 || rest[0] != '.' || rest[1] == '0' || len(rest) > 11 {
			return Key{}, ErrSyntax
		}
		n, err := strconv.ParseUint(rest[1:], 10, 32)
		if err != nil {
			return Key{}, ErrSyntax
		}
		k.Occurrence = uint32(n)
	}
	return k, nil
}

// parseHex reads lower-case hex digits. It looks each byte up in a table
// instead of branching on it: hex digits of a hash are letters or digits
// at random, which a branch mispredicts half the time (a results file,
// the journal and the writer's checks parse every row's key).
func parseHex(s string) (uint64, bool) {
	var v uint64
	var bad byte
	for i := 0; i < len(s); i++ {
		d := hexValue[s[i]]
		bad |= d
		v = v<<4 | uint64(d&0xf)
	}
	return v, bad&0x80 == 0
}

// hexValue maps '0'-'9' and 'a'-'f' to their values, any other byte to
// 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := range 10 {
		t['0'+i] = byte(i)
	}
	for i := range 6 {
		t['a'+i] = byte(10 + i)
	}
	return t
}()
