package batch

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// errReplySyntax: the reply is not JSON, or not the JSON of reply objects.
var errReplySyntax = errors.New("reply is not JSON reply objects")

// maxReplyDepth is encoding/json's nesting limit, kept so that both accept
// the same bodies.
const maxReplyDepth = 10000

// scanner checks and passes over JSON text as encoding/json's grammar has
// it, without building values: the reply decoder reads the few it needs
// as slices of s.
type scanner struct {
	s     string
	i     int
	depth int
}

// end checks that only whitespace follows the top-level value.
func (d *scanner) end() error {
	d.space()
	if d.i != len(d.s) {
		return errReplySyntax
	}
	return nil
}

// list reads the array or object at d.i, whose closing byte is closing,
// calling elem with d.i at each element, which elem must consume.
func (d *scanner) list(closing byte, elem func() error) error {
	d.i++ // the opening bracket
	if d.depth++; d.depth > maxReplyDepth {
		return errReplySyntax
	}
	d.space()
	if d.consume(closing) {
		d.depth--
		return nil
	}
	for {
		d.space()
		if err := elem(); err != nil {
			return err
		}
		d.space()
		if d.consume(closing) {
			d.depth--
			return nil
		}
		if !d.consume(',') {
			return errReplySyntax
		}
	}
}

// object reads the object at d.i, calling field with each key and d.i at
// its value, which field must consume.
func (d *scanner) object(field func(k key) error) error {
	return d.list('}', func() error {
		var k key
		var err error
		if k.name, k.plain, err = d.text(); err != nil {
			return err
		}
		d.space()
		if !d.consume(':') {
			return errReplySyntax
		}
		d.space()
		return field(k)
	})
}

// skip checks and passes over one JSON value.
func (d *scanner) skip() error {
	if d.i >= len(d.s) {
		return errReplySyntax
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(func(key) error { return d.skip() })
	case c == '[':
		return d.list(']', d.skip)
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	}
	return errReplySyntax
}

// str checks and passes over the string at d.i, quotes included. plain
// says it holds only ASCII and no escape: its bytes are its value.
func (d *scanner) str() (plain bool, err error) {
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return false, errReplySyntax
	}
	s := d.s
	plain = true
	for i := d.i + 1; i < len(s); {
		c := s[i]
		switch {
		case ' ' <= c && c < utf8.RuneSelf && c != '"' && c != '\\':
			i++
		case c == '"':
			d.i = i + 1
			return plain, nil
		case c >= utf8.RuneSelf:
			plain = false
			i++
		case c < ' ':
			return false, errReplySyntax
		default: // a backslash
			plain = false
			_, n := unescapeJSON(s, i)
			if n == 0 {
				return false, errReplySyntax
			}
			i += n
		}
	}
	return false, errReplySyntax
}

// text passes over the string at d.i and gives its value; plain says
// the string held only ASCII and no escape.
func (d *scanner) text() (value string, plain bool, err error) {
	start := d.i
	if plain, err = d.str(); err != nil {
		return "", false, err
	}
	if plain {
		return d.s[start+1 : d.i-1], true, nil
	}
	return unquote(d.s[start:d.i]), false, nil
}

// number checks and passes over the number at d.i, as JSON's grammar has
// it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *scanner) number() error {
	s, i := d.s, d.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return errReplySyntax
	}
	if i < len(s) && s[i] == '.' {
		if i = digits(s, i+1); i < 0 {
			return errReplySyntax
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i = digits(s, i); i < 0 {
			return errReplySyntax
		}
	}
	d.i = i
	return nil
}

// digits is where the run of digits at s[i] ends, or -1 when there is
// none.
func digits(s string, i int) int {
	j := i
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// literal passes over lit if it is at d.i.
func (d *scanner) literal(lit string) bool {
	if strings.HasPrefix(d.s[d.i:], lit) {
		d.i += len(lit)
		return true
	}
	return false
}

func (d *scanner) consume(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// space passes over JSON whitespace.
func (d *scanner) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// key is an object's key, unquoted; plain: ASCII without escapes.
type key struct {
	name  string
	plain bool
}

// is reports whether the key names the field name as encoding/json
// matches keys: equal, or equal under Unicode case folding. name is ASCII.
func (k key) is(name string) bool {
	if k.plain && len(k.name) != len(name) {
		return false // ASCII folds only to ASCII of the same length
	}
	return k.name == name || strings.EqualFold(k.name, name)
}

// unquote decodes a valid JSON string token (quotes included) as
// encoding/json does: escapes resolved, a lone or broken surrogate and
// each byte of invalid UTF-8 replaced by U+FFFD. Without escapes or
// invalid UTF-8, the value is a slice of raw.
func unquote(raw string) string {
	s := raw[1 : len(raw)-1]
	if strings.IndexByte(s, '\\') < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + utf8.UTFMax)
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			u, n := unescapeJSON(s, r)
			b.Write(u.bytes())
			r += n
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			r++
		default:
			rr, size := utf8.DecodeRuneInString(s[r:])
			b.WriteRune(rr)
			r += size
		}
	}
	return b.String()
}
