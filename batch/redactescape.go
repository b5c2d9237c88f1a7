package batch

import (
	"html"
	"unicode/utf16"
	"unicode/utf8"
)

// The escapes the redactor reads through: what a server may have done to
// the token it echoes.

// spelt is what an escape stands for: at most two characters (a named
// character reference may be two).
type spelt struct {
	b [8]byte
	n int
}

func (u *spelt) bytes() []byte { return u.b[:u.n] }

func speltOf(p []byte) spelt {
	var u spelt
	u.n = copy(u.b[:], p)
	return u
}

func speltRune(r rune) spelt {
	var u spelt
	u.n = utf8.EncodeRune(u.b[:], r)
	return u
}

// unescape reads the escape at s[i]: %XX, an HTML character reference,
// a JSON escape, or a full-width form of an ASCII character (what
// Unicode's compatibility mapping, NFKC, turns back into it). It returns
// the bytes it stands for and its length, 0 when none starts at i.
func unescape[T string | []byte](s T, i int) (spelt, int) {
	switch s[i] {
	case '%':
		if i+2 < len(s) {
			if h, ok := hexValue(s, i+1, i+3); ok {
				return spelt{b: [8]byte{byte(h)}, n: 1}, 3
			}
		}
	case '&':
		return unescapeEntity(s, i)
	case '\\':
		return unescapeJSON(s, i)
	case fullWidthLead:
		// U+FF01 to U+FF5E are EF BC 81 to EF BD 9E: '!' to '~'.
		if i+2 < len(s) && (s[i+1] == 0xbc && s[i+2] >= 0x81 && s[i+2] <= 0xbf || s[i+1] == 0xbd && s[i+2] >= 0x80 && s[i+2] <= 0x9e) {
			r := rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f) | 0xf000
			return spelt{b: [8]byte{byte(r - 0xfee0)}, n: 1}, 3
		}
	}
	return spelt{}, 0
}

// fullWidthLead is the first byte of the full-width forms in UTF-8.
const fullWidthLead = 0xef

// unescapeEntity reads an HTML character reference: &#DDD; &#xHH; or a
// named one such as &equals;.
func unescapeEntity[T string | []byte](s T, i int) (spelt, int) {
	end := -1
	for j := i + 1; j < len(s) && j < i+34; j++ {
		if s[j] == ';' {
			end = j
			break
		}
	}
	if end < 0 {
		return spelt{}, 0
	}
	if s[i+1] == '#' {
		var r rune
		var ok bool
		if i+2 < end && (s[i+2] == 'x' || s[i+2] == 'X') {
			r, ok = hexValue(s, i+3, end)
		} else {
			r, ok = decValue(s, i+2, end)
		}
		if !ok || !utf8.ValidRune(r) {
			return spelt{}, 0
		}
		return speltRune(r), end + 1 - i
	}
	ref := string(s[i : end+1])
	if dec := html.UnescapeString(ref); dec != ref && len(dec) <= len(spelt{}.b) {
		return speltOf([]byte(dec)), end + 1 - i
	}
	return spelt{}, 0
}

// unescapeJSON reads a JSON string escape: \uXXXX (a surrogate pair as
// one character), \n, \/ and the others.
func unescapeJSON[T string | []byte](s T, i int) (spelt, int) {
	if i+1 >= len(s) {
		return spelt{}, 0
	}
	switch c := s[i+1]; c {
	case '"', '\\', '/':
		return speltRune(rune(c)), 2
	case 'b':
		return speltRune('\b'), 2
	case 'f':
		return speltRune('\f'), 2
	case 'n':
		return speltRune('\n'), 2
	case 'r':
		return speltRune('\r'), 2
	case 't':
		return speltRune('\t'), 2
	case 'u':
		if i+6 > len(s) {
			return spelt{}, 0
		}
		r, ok := hexValue(s, i+2, i+6)
		if !ok {
			return spelt{}, 0
		}
		if utf16.IsSurrogate(r) && i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
			if lo, ok := hexValue(s, i+8, i+12); ok {
				if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
					return speltRune(pair), 12
				}
			}
		}
		return speltRune(r), 6
	}
	return spelt{}, 0
}

// hexValue reads s[from:to] as hex digits of any case (at most 6).
func hexValue[T string | []byte](s T, from, to int) (rune, bool) {
	if to <= from || to-from > 6 {
		return 0, false
	}
	var r rune
	for j := from; j < to; j++ {
		c := s[j]
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c|0x20 && c|0x20 <= 'f':
			r = r<<4 | rune(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// decValue reads s[from:to] as decimal digits (at most 7).
func decValue[T string | []byte](s T, from, to int) (rune, bool) {
	if to <= from || to-from > 7 {
		return 0, false
	}
	var r rune
	for j := from; j < to; j++ {
		if s[j] < '0' || s[j] > '9' {
			return 0, false
		}
		r = r*10 + rune(s[j]-'0')
	}
	return r, true
}
