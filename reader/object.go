package reader

import (
	"unicode/utf8"
)

// A valid record is sent to the API as one JSON object: the six documented
// keys in the documented example's order ("" where unused), then the extra
// columns the user chose to send, by name. This file is that object's one
// home: the engine sends what AppendObject writes, a row's key hashes it,
// and the reader's limit (MaxObjectBytes) counts it with objectLen.

// AppendObject appends to b the object the API receives for the valid
// record rec.
func AppendObject(b []byte, rec Record) []byte {
	b = append(b, `{"ticket_id":`...)
	b = appendString(b, rec.TicketID)
	b = append(b, `,"sub_status":`...)
	b = appendString(b, rec.SubStatus)
	b = append(b, `,"queue":`...)
	b = appendString(b, rec.Queue)
	b = append(b, `,"comment":`...)
	b = appendString(b, rec.Comment)
	b = append(b, `,"callback_time":`...)
	b = appendString(b, rec.CallbackTime)
	b = append(b, `,"disposition":`...)
	b = appendString(b, rec.Disposition)
	for _, f := range rec.Extra {
		b = append(b, ',')
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendString(b, f.Value)
	}
	return append(b, '}')
}

// ObjectSize is about the length of rec's object, so that one allocation
// can hold it.
func ObjectSize(rec Record) int {
	n := 96 + len(rec.TicketID) + len(rec.SubStatus) + len(rec.Queue) +
		len(rec.Comment) + len(rec.CallbackTime) + len(rec.Disposition)
	for _, f := range rec.Extra {
		n += 6 + len(f.Name) + len(f.Value)
	}
	return n
}

// objectOverhead is the size of an object whose values are all empty.
const objectOverhead = len(`{"ticket_id":"","sub_status":"","queue":"","comment":"","callback_time":"","disposition":""}`)

// extraOverhead is what an extra column adds besides its name and value.
const extraOverhead = len(`,"":""`)

// appendString appends s as a JSON string. It escapes what JSON requires
// plus U+2028 and U+2029 (which end a line in JavaScript), and replaces
// invalid UTF-8 with U+FFFD (the reader makes such rows invalid; this is
// a backstop).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if plain(s[i]) {
			i++
			continue
		}
		esc, size := escape(s, i)
		if esc == "" {
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonLen is the length of s inside its quotes as appendString writes it.
func jsonLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if plain(s[i]) {
			n++
			i++
			continue
		}
		esc, size := escape(s, i)
		if esc == "" {
			n += size
		} else {
			n += len(esc)
		}
		i += size
	}
	return n
}

// plain reports whether the byte c is written as it is with no further
// look: printable ASCII other than the quote and the backslash.
func plain(c byte) bool { return c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' }

// escape returns how the character at s[i] is written in a JSON string:
// its escape, or "" when it is written as it is, and how many bytes of s
// it takes.
func escape(s string, i int) (esc string, size int) {
	c := s[i]
	switch {
	case c == '"':
		return `\"`, 1
	case c == '\\':
		return `\\`, 1
	case c < 0x20:
		return controlEscapes[c], 1
	case c < utf8.RuneSelf:
		return "", 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return `\ufffd`, 1
	case r == '\u2028':
		return `\u2028`, size
	case r == '\u2029':
		return `\u2029`, size
	}
	return "", size
}

// controlEscapes are the escapes of the bytes below 0x20.
var controlEscapes = func() (t [0x20]string) {
	const hex = "0123456789abcdef"
	for c := range t {
		t[c] = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
	}
	t['\n'], t['\r'], t['\t'] = `\n`, `\r`, `\t`
	return t
}()
