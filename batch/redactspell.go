package batch

import (
	"unicode"
	"unicode/utf8"
)

// spell reports whether s from i spells sec.text from k, and where the
// spelling ends. Where s[i] could be read as itself or as the start of an
// escape (%25 is '%', or '%' then "25"), or a space as itself or skipped,
// both are tried.
func spell[T string | []byte](sec secret, s T, i, k int) (int, bool) {
	for k < len(sec.text) {
		if i < len(s) {
			if c := s[i]; c > ' ' && c < 0x7f && c != '%' && c != '&' && c != '\\' {
				// Printable ASCII that starts no escape: itself, or no match.
				if !sec.same(sec.text[k], c) {
					return 0, false
				}
				i, k = i+1, k+1
				continue
			}
		}
		if k > 0 && i < len(s) {
			if skip := ignorableLen(s, i); skip > 0 {
				// A space may stand for a token's '+' or be skipped.
				if sec.same(sec.text[k], s[i]) {
					if end, ok := spell(sec, s, i+1, k+1); ok {
						return end, true
					}
				}
				i += skip
			}
		}
		if i >= len(s) {
			return 0, false
		}
		if u, n := unescape(s, i); n > 0 && sec.fits(u.bytes(), k) {
			if end, ok := spell(sec, s, i+n, k+u.n); ok {
				return end, true
			}
		}
		if !sec.same(sec.text[k], s[i]) {
			return 0, false
		}
		i, k = i+1, k+1
	}
	return i, true
}

// same reports whether c stands for the secret's byte t: itself in
// either case, '+' for a space (a form's encoding), and in a token '-'
// (or a space, a form's decoding) for '+' and '_' for '/'.
func (sec secret) same(t, c byte) bool {
	return t == c || lowerASCII(t) == lowerASCII(c) || (t == ' ' && c == '+') ||
		(sec.token && (t == '+' && (c == '-' || c == ' ') || t == '/' && c == '_'))
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// fits reports whether the bytes dec spell the secret's text from k.
func (sec secret) fits(dec []byte, k int) bool {
	if k+len(dec) > len(sec.text) {
		return false
	}
	for j, c := range dec {
		if !sec.same(sec.text[k+j], c) {
			return false
		}
	}
	return true
}

// padding extends the spelling of a token that ends at end over the '='
// padding after it, however spelled.
func padding[T string | []byte](sec secret, s T, end int) int {
	if !sec.token {
		return end
	}
	for {
		i := end + ignorableLen(s, end)
		switch {
		case i >= len(s):
			return end
		case s[i] == '=':
			end = i + 1
		default:
			u, n := unescape(s, i)
			if n == 0 || string(u.bytes()) != "=" {
				return end
			}
			end = i + n
		}
	}
}

// ignorableLen is the length of the run at s[i] of what a reader skips
// over when reading a secret: spaces, control, invisible and
// bidirectional characters, terminal escape sequences, and escapes of
// these.
func ignorableLen[T string | []byte](s T, i int) int {
	start := i
	for i < len(s) {
		if n := escapeLen(s, i); n > 0 {
			i += n
			continue
		}
		if r, n := runeAt(s, i); blank(r) {
			i += n
			continue
		}
		if u, n := unescape(s, i); n > 0 {
			if r, size := utf8.DecodeRune(u.bytes()); size == u.n && blank(r) {
				i += n
				continue
			}
		}
		break
	}
	return i - start
}

// blank reports whether r is a space, a control or a format character
// (zero width, bidirectional, soft hyphen).
func blank(r rune) bool {
	return r == ' ' || isControl(r) || (r >= 0xa0 && (unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)))
}

func runeAt[T string | []byte](s T, i int) (rune, int) {
	if s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s[i:])
	return utf8.DecodeRune(buf[:n])
}
