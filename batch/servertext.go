package batch

import (
	"strings"
	"unicode/utf8"
)

// serverText makes text a server sent safe to show on a terminal and to
// store: terminal escape sequences (ESC or C1 introduced: CSI, OSC and the
// other string and short sequences) are removed, as they carry nothing to
// read; any other control character, line breaks included, becomes a
// space (a run of them one); bidirectional formatting characters, which
// reorder what a reader sees, are removed; invalid UTF-8 becomes U+FFFD;
// surrounding space is trimmed.
func serverText(s string) string {
	if t := strings.TrimSpace(s); plainASCII(t) {
		return t // most messages: nothing to do, nothing allocated
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if n := escapeLen(s, i); n > 0 {
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case isControl(r):
			if str := b.String(); str != "" && str[len(str)-1] != ' ' {
				b.WriteByte(' ')
			}
		case isBidiFormat(r):
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// plainASCII reports whether s is printable ASCII only: nothing to make
// safe.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// isControl reports whether r is a C0 or C1 control, DEL, or a Unicode
// line or paragraph separator.
func isControl(r rune) bool {
	return r < ' ' || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029'
}

// isBidiFormat reports whether r is a bidirectional mark, embedding,
// override or isolate.
func isBidiFormat(r rune) bool {
	return r == '\u061c' || r == '\u200e' || r == '\u200f' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// escapeLen is the length of the terminal escape sequence at s[i], or 0
// when none starts there (ECMA-48: ESC or a C1 control, then its
// parameters up to its final byte, or a string up to BEL or ST). A
// sequence broken off is taken up to where it breaks; a control string
// never terminated is taken as its introducer alone, so the text after it
// stays (made safe).
func escapeLen[T string | []byte](s T, i int) int {
	var kind byte // '[': CSI; ']': a control string; 0: a short sequence
	var j int     // where the sequence's body starts
	switch {
	case s[i] == 0x1b && i+1 < len(s):
		switch c := s[i+1]; c {
		case '[':
			kind = '['
		case ']', 'P', 'X', '^', '_':
			kind = ']'
		}
		j = i + 2
		if kind == 0 {
			j = i + 1
		}
	case s[i] == 0x1b:
		return 1
	case s[i] == 0xc2 && i+1 < len(s):
		switch s[i+1] {
		case 0x9b:
			kind = '['
		case 0x9d, 0x90, 0x98, 0x9e, 0x9f:
			kind = ']'
		default:
			return 0
		}
		j = i + 2
	default:
		return 0
	}
	switch kind {
	case '[':
		for j < len(s) && s[j] >= 0x30 && s[j] <= 0x3f { // parameters
			j++
		}
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f { // intermediates
			j++
		}
		if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e { // final
			j++
		}
		return j - i
	case ']':
		for k := j; k < len(s); k++ {
			switch {
			case s[k] == 0x07:
				return k + 1 - i
			case s[k] == 0x1b && k+1 < len(s) && s[k+1] == '\\':
				return k + 2 - i
			case s[k] == 0xc2 && k+1 < len(s) && s[k+1] == 0x9c:
				return k + 2 - i
			}
		}
		return j - i
	}
	for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f { // intermediates
		j++
	}
	if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
		j++
	}
	return j - i
}
