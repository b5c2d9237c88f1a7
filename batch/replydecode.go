package batch

import (
	"bytes"
	"errors"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// replyItem is what the client reads of one reply object: its status, its
// message and its ticket's ticketId. The rest (the ticket's many fields,
// Additional_details) is skipped.
type replyItem struct {
	status  string
	message string
	// hasStatus: a "status" key was read (not null). twoStatuses: two
	// of them with different values; status is the last (as with
	// encoding/json), but the item contradicts itself, and the client
	// takes neither.
	hasStatus, twoStatuses bool
	// ticket: the object had a "ticket" object (the last "ticket" key
	// wins, as with encoding/json; a null one clears it).
	ticket bool
	// ticketID is the raw JSON of ticket.ticketId, nil when absent. It
	// aliases the reply body.
	ticketID []byte
}

// errReplySyntax: the reply is not JSON, or not the JSON of reply objects.
var errReplySyntax = errors.New("reply is not JSON reply objects")

// maxReplyDepth is encoding/json's nesting limit, kept so that both accept
// the same bodies.
const maxReplyDepth = 10000

// replyDecoder reads reply objects without reflection, and accepts and
// rejects exactly the bodies encoding/json accepts and rejects when
// unmarshalling into
//
//	struct {
//		Status  string `json:"status"`
//		Message string `json:"message"`
//		Ticket  *struct {
//			TicketID json.RawMessage `json:"ticketId"`
//		} `json:"ticket"`
//	}
//
// (or a slice of them), with the same values: keys matched exactly or
// case-insensitively, the last duplicate key winning, a null leaving a
// string as it was, invalid UTF-8 replaced, every skipped value still
// checked to be valid JSON. A differential fuzz test holds it to that.
type replyDecoder struct {
	b     []byte
	i     int
	depth int
	// The previous message, raw and decoded: an array's items mostly
	// carry the same one, and each is then one string, not one per item.
	prevRaw []byte
	prevMsg string
}

// decodeReplyObject decodes body, which must be one JSON object (and
// nothing after it but whitespace), into it.
func decodeReplyObject(body []byte, it *replyItem) error {
	d := replyDecoder{b: body}
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return errReplySyntax
	}
	if err := d.item(it); err != nil {
		return err
	}
	return d.end()
}

// decodeReplyArray decodes body, which must be one JSON array of objects
// or nulls (a null is a zero item), appending the items to items.
func decodeReplyArray(body []byte, items []replyItem) ([]replyItem, error) {
	d := replyDecoder{b: body}
	d.space()
	if !d.consume('[') {
		return items, errReplySyntax
	}
	if err := d.enter(); err != nil {
		return items, err
	}
	d.space()
	if d.consume(']') {
		d.depth--
		return items, d.end()
	}
	for {
		d.space()
		var it replyItem
		switch {
		case d.i < len(d.b) && d.b[d.i] == '{':
			if err := d.item(&it); err != nil {
				return items, err
			}
		case d.literal("null"):
		default:
			// Another type: encoding/json reports it after checking the
			// whole body, which an error here needs no more.
			return items, errReplySyntax
		}
		items = append(items, it)
		d.space()
		if d.consume(']') {
			d.depth--
			return items, d.end()
		}
		if !d.consume(',') {
			return items, errReplySyntax
		}
	}
}

// end checks that only whitespace follows the top-level value.
func (d *replyDecoder) end() error {
	d.space()
	if d.i != len(d.b) {
		return errReplySyntax
	}
	return nil
}

// item decodes the object at d.i into it.
func (d *replyDecoder) item(it *replyItem) error {
	return d.object(func(key rawKey) error {
		switch {
		case key.is("status"):
			null := d.i < len(d.b) && d.b[d.i] == 'n' // (leaves status as it was)
			prev, had := it.status, it.hasStatus
			if err := d.stringField(&it.status, false); err != nil {
				return err
			}
			if !null {
				it.twoStatuses = it.twoStatuses || had && it.status != prev
				it.hasStatus = true
			}
			return nil
		case key.is("message"):
			return d.stringField(&it.message, true)
		case key.is("ticket"):
			return d.ticket(it)
		}
		return d.skip()
	})
}

// ticket decodes the value of a "ticket" key: null clears it, an object
// sets it (keeping a ticketId an earlier "ticket" object gave, as
// encoding/json decodes into the struct it already has).
func (d *replyDecoder) ticket(it *replyItem) error {
	if d.literal("null") {
		it.ticket, it.ticketID = false, nil
		return nil
	}
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return errReplySyntax // a ticket that is not an object: a type error
	}
	if !it.ticket {
		it.ticket, it.ticketID = true, nil
	}
	return d.object(func(key rawKey) error {
		if key.is("ticketId") {
			start := d.i
			if err := d.skip(); err != nil {
				return err
			}
			it.ticketID = d.b[start:d.i]
			return nil
		}
		return d.skip()
	})
}

// stringField decodes a string value into dst; null leaves dst as it was.
func (d *replyDecoder) stringField(dst *string, intern bool) error {
	if d.literal("null") {
		return nil
	}
	start := d.i
	if _, err := d.str(); err != nil {
		return err // not a string (a type error) or a broken one
	}
	raw := d.b[start:d.i]
	switch {
	case intern && d.prevRaw != nil && bytes.Equal(raw, d.prevRaw):
		*dst = d.prevMsg
		return nil
	case string(raw) == `"success"`:
		*dst = "success"
		return nil
	case string(raw) == `"failed"`:
		*dst = "failed"
		return nil
	}
	*dst = unquote(raw)
	if intern {
		d.prevRaw, d.prevMsg = raw, *dst
	}
	return nil
}

// object reads the object at d.i, calling field with each key with d.i at
// its value, which field must consume.
func (d *replyDecoder) object(field func(key rawKey) error) error {
	d.i++ // '{'
	if err := d.enter(); err != nil {
		return err
	}
	d.space()
	if d.consume('}') {
		d.depth--
		return nil
	}
	for {
		d.space()
		start := d.i
		plain, err := d.str()
		if err != nil {
			return err
		}
		key := rawKey{raw: d.b[start:d.i], plain: plain}
		d.space()
		if !d.consume(':') {
			return errReplySyntax
		}
		d.space()
		if err := field(key); err != nil {
			return err
		}
		d.space()
		if d.consume('}') {
			d.depth--
			return nil
		}
		if !d.consume(',') {
			return errReplySyntax
		}
	}
}

// skip checks and passes over one JSON value.
func (d *replyDecoder) skip() error {
	if d.i >= len(d.b) {
		return errReplySyntax
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(func(rawKey) error { return d.skip() })
	case c == '[':
		return d.array()
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

// array checks and passes over the array at d.i.
func (d *replyDecoder) array() error {
	d.i++ // '['
	if err := d.enter(); err != nil {
		return err
	}
	d.space()
	if d.consume(']') {
		d.depth--
		return nil
	}
	for {
		d.space()
		if err := d.skip(); err != nil {
			return err
		}
		d.space()
		if d.consume(']') {
			d.depth--
			return nil
		}
		if !d.consume(',') {
			return errReplySyntax
		}
	}
}

// enter counts one more level of nesting.
func (d *replyDecoder) enter() error {
	d.depth++
	if d.depth > maxReplyDepth {
		return errReplySyntax
	}
	return nil
}

// str checks and passes over the string at d.i, quotes included. plain
// says it holds only ASCII and no escape: its bytes are its value.
func (d *replyDecoder) str() (plain bool, err error) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false, errReplySyntax
	}
	b := d.b
	i := d.i + 1
	plain = true
	for i < len(b) {
		c := b[i]
		if ' ' <= c && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		switch {
		case c == '"':
			d.i = i + 1
			return plain, nil
		case c >= utf8.RuneSelf:
			plain = false
			i++
		case c < ' ':
			return false, errReplySyntax
		default: // '\\'
			plain = false
			if i+1 >= len(b) {
				return false, errReplySyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return false, errReplySyntax
				}
				i += 6
			default:
				return false, errReplySyntax
			}
		}
	}
	return false, errReplySyntax
}

// number checks and passes over the number at d.i, as JSON's grammar has
// it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *replyDecoder) number() error {
	i := d.i
	if i < len(d.b) && d.b[i] == '-' {
		i++
	}
	switch {
	case i < len(d.b) && d.b[i] == '0':
		i++
	case i < len(d.b) && '1' <= d.b[i] && d.b[i] <= '9':
		i = digits(d.b, i)
	default:
		return errReplySyntax
	}
	if i < len(d.b) && d.b[i] == '.' {
		j := digits(d.b, i+1)
		if j == i+1 {
			return errReplySyntax
		}
		i = j
	}
	if i < len(d.b) && (d.b[i] == 'e' || d.b[i] == 'E') {
		i++
		if i < len(d.b) && (d.b[i] == '+' || d.b[i] == '-') {
			i++
		}
		j := digits(d.b, i)
		if j == i {
			return errReplySyntax
		}
		i = j
	}
	d.i = i
	return nil
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// literal passes over lit if it is at d.i.
func (d *replyDecoder) literal(lit string) bool {
	if bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
		d.i += len(lit)
		return true
	}
	return false
}

func (d *replyDecoder) consume(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// space passes over JSON whitespace.
func (d *replyDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// rawKey is an object's key as it is in the body: quoted, and valid.
type rawKey struct {
	raw   []byte
	plain bool // ASCII without escapes (see str)
}

// is reports whether the key names the field name as encoding/json
// matches keys: the unquoted key equal to name, or equal under Unicode
// case folding. name is ASCII.
func (k rawKey) is(name string) bool {
	in := k.raw[1 : len(k.raw)-1]
	if k.plain {
		// ASCII folds only to ASCII of the same length.
		return len(in) == len(name) && (string(in) == name || bytes.EqualFold(in, []byte(name)))
	}
	return strings.EqualFold(unquote(k.raw), name)
}

// unquote decodes a valid JSON string token (quotes included) as
// encoding/json does: escapes resolved, a lone or broken surrogate and
// each byte of invalid UTF-8 replaced by U+FFFD.
func unquote(raw []byte) string {
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	b := make([]byte, 0, len(s)+utf8.UTFMax)
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(s[r+2 : r+6])
				r += 6
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:r+6])); dec != unicode.ReplacementChar {
							b = utf8.AppendRune(b, dec)
							r += 6
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return string(b)
}

// hex4 reads 4 hex digits (checked by str).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
