// Package reason groups the messages of rows that did not go through into
// failure reasons. Messages carry the ticket id or the bad value ("No
// ticket found for ticket_id 999900000123"), so eight problem rows are
// eight different messages; Mask turns them into one reason ("No ticket
// found for ticket_id <id>"), and a Tally counts rows by reason in bounded
// memory. The run's summary and the report command both use them, so
// that they group alike.
package reason

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The placeholders Mask puts in place of what varies from row to row.
const (
	ID     = "<id>"    // a long number (6 digits or more) or a word mixing letters and digits
	Number = "<n>"     // any other number
	Value  = "<value>" // a quoted value
)

// MaxLen bounds a reason, in bytes: an HTML error page in a message must
// not make a reason of 32,000 characters.
const MaxLen = 200

// Mask returns msg with what varies from row to row masked, so that rows
// that failed for the same reason share one:
//
//   - a quoted value ("..." with backslash escapes, or '...' opened and
//     closed at a word boundary) becomes <value>;
//   - a number (digits, with . or , groups and an exponent: 12, 0.5,
//     7.13517E+11, 713,517,204,461, 10.0.0.1) becomes <id> when it is
//     digits only, 6 of them or more, and not a size in bytes (1310720
//     bytes, 2097152B), and <n> otherwise; a unit glued to
//     it stays (30s → <n>s, 5xx → <n>xx); but an HTTP status right after
//     the word HTTP stays as it is (HTTP 401: a 401 and a 503 are two
//     reasons);
//   - a UUID, or a word that mixes letters and digits otherwise (a hex
//     request id) becomes <id>;
//   - a Unicode code point (U+009B) stays as it is: the character a
//     message names is the reason, not a value of the row; so does an
//     encoding's name (windows-1252, utf-16, iso-8859-1), which advice
//     names;
//   - runs of white space become one space, and the result is cut to
//     MaxLen bytes, ending in "…".
//
// Everything else is kept as it is. Mask is deterministic: the same
// message always gives the same reason.
func Mask(msg string) string {
	var b strings.Builder
	b.Grow(min(len(msg), MaxLen+8))
	space := false
	for i := 0; i < len(msg) && b.Len() <= MaxLen; {
		r, size := utf8.DecodeRuneInString(msg[i:])
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			i += size
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if n := quoted(msg, i); n > 0 {
			b.WriteString(Value)
			i += n
			continue
		}
		if n := kept(msg, i); n > 0 {
			b.WriteString(msg[i : i+n])
			i += n
			continue
		}
		if isWord(r) {
			n, masked := word(msg[i:])
			b.WriteString(masked)
			i += n
			continue
		}
		b.WriteString(msg[i : i+size])
		i += size
	}
	return cut(b.String())
}

// kept returns the length of what msg[i:] starts with that a reason keeps
// as it is although it holds digits (a code point, an HTTP status, an
// encoding's name), else 0.
func kept(msg string, i int) int {
	for _, keep := range [...]func(string, int) int{codePoint, httpStatus, encodingName} {
		if n := keep(msg, i); n > 0 {
			return n
		}
	}
	return 0
}

// encodingName returns the length of the encoding's name msg[i:] starts
// with (windows-1252, utf-8, iso-8859-15, any case), a word of its own,
// else 0.
func encodingName(msg string, i int) int {
	if i > 0 && isWordByte(msg[i-1]) {
		return 0
	}
	rest := strings.ToLower(msg[i:])
	for _, prefix := range []string{"windows-", "utf-", "iso-8859-"} {
		if !strings.HasPrefix(rest, prefix) {
			continue
		}
		n := len(prefix)
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n > len(prefix) && (n == len(rest) || !isWordByte(rest[n])) {
			return n
		}
	}
	return 0
}

// httpStatus returns 3 when msg[i:] starts with an HTTP status code (100
// to 599, a word of its own) right after the word HTTP and one space,
// else 0.
func httpStatus(msg string, i int) int {
	const word = "http "
	if i < len(word) || !strings.EqualFold(msg[i-len(word):i], word) || len(msg) < i+3 {
		return 0
	}
	if j := i - len(word); j > 0 && isWordByte(msg[j-1]) {
		return 0
	}
	code := msg[i : i+3]
	if code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return 0
	}
	if rest := msg[i+3:]; rest != "" && (isWordByte(rest[0]) || (len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') && rest[1] >= '0' && rest[1] <= '9')) {
		return 0
	}
	return 3
}

// codePoint returns the length of the code point written U+ and 4 to 6
// hex digits that starts msg[i] as a word of its own, else 0.
func codePoint(msg string, i int) int {
	if !strings.HasPrefix(msg[i:], "U+") || (i > 0 && isWordByte(msg[i-1])) {
		return 0
	}
	n := 2
	for n < len(msg)-i && n < 8 && isHex(msg[i+n]) {
		n++
	}
	if n < 6 || (i+n < len(msg) && isWordByte(msg[i+n])) {
		return 0
	}
	return n
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f' }

// cut shortens s to MaxLen bytes at a character boundary.
func cut(s string) string {
	if len(s) <= MaxLen {
		return s
	}
	n := MaxLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// quoted returns the length of the quoted value that starts at msg[i], or
// 0 when none does.
func quoted(msg string, i int) int {
	switch msg[i] {
	case '"':
		for j := i + 1; j < len(msg); j++ {
			switch msg[j] {
			case '\\':
				j++ // an escaped character, as Go's %q writes
			case '"':
				return j + 1 - i
			}
		}
	case '\'':
		// An apostrophe inside a word (can't, the tickets' status) opens
		// nothing: a quote opens after a non-word character and closes
		// before one.
		if i > 0 {
			if r, _ := utf8.DecodeLastRuneInString(msg[:i]); isWord(r) {
				return 0
			}
		}
		for j := i + 1; j < len(msg); j++ {
			if msg[j] == '\n' {
				return 0
			}
			if msg[j] != '\'' || j == i+1 {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(msg[j+1:]); j+1 == len(msg) || !isWord(r) {
				return j + 1 - i
			}
		}
	}
	return 0
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// word masks the word msg starts with and returns its length in bytes and
// what stands for it.
func word(msg string) (int, string) {
	if msg[0] >= '0' && msg[0] <= '9' {
		if n, digitsOnly, digits := number(msg); n > 0 {
			// A unit glued to the number (30s, 100ms, 5xx) stays.
			unit := 0
			for n+unit < len(msg) && isWordByte(msg[n+unit]) {
				unit++
			}
			u := msg[n : n+unit]
			mask := Number
			if digitsOnly && digits >= 6 && !sized(u, msg[n+unit:]) {
				mask = ID
			}
			if unit == 0 || units[strings.ToLower(u)] {
				return n + unit, mask + u
			}
		}
	}
	if n := uuid(msg); n > 0 {
		return n, ID
	}
	end, letters, digits := 0, false, false
	for end < len(msg) {
		r, size := utf8.DecodeRuneInString(msg[end:])
		if !isWord(r) {
			break
		}
		letters = letters || unicode.IsLetter(r)
		digits = digits || unicode.IsDigit(r)
		end += size
	}
	if letters && digits {
		return end, ID
	}
	if digits {
		return end, Number
	}
	return end, msg[:end]
}

// number returns the length of the number msg starts with (0 if none):
// digit groups joined by single . or , and an optional exponent; whether
// it is digits only, and how many digits it has.
func number(msg string) (n int, digitsOnly bool, digits int) {
	digitsOnly = true
	for {
		start := n
		for n < len(msg) && msg[n] >= '0' && msg[n] <= '9' {
			n++
		}
		digits += n - start
		if n+1 < len(msg) && (msg[n] == '.' || msg[n] == ',') && msg[n+1] >= '0' && msg[n+1] <= '9' {
			digitsOnly = false
			n++
			continue
		}
		break
	}
	if e := exponent(msg[n:]); e > 0 {
		return n + e, false, digits
	}
	return n, digitsOnly, digits
}

// exponent returns the length of an exponent (E+11, e-3, E7) at the start
// of s that ends at a word boundary, or 0.
func exponent(s string) int {
	if len(s) < 2 || (s[0] != 'e' && s[0] != 'E') {
		return 0
	}
	i := 1
	if s[i] == '+' || s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start || (i < len(s) && isWordByte(s[i])) {
		return 0
	}
	return i
}

// sized reports whether a number is a size, not an id: its unit glued
// (1310720B, 64KiB) or the word after it (1310720 bytes) is one of bytes.
func sized(glued, after string) bool {
	if glued != "" {
		return sizeUnits[strings.ToLower(glued)]
	}
	word, spaced := strings.CutPrefix(after, " ")
	if !spaced {
		return false
	}
	end := 0
	for end < len(word) && isWordByte(word[end]) {
		end++
	}
	return sizeUnits[strings.ToLower(word[:end])]
}

// sizeUnits are the units of a size in bytes.
var sizeUnits = map[string]bool{
	"b": true, "byte": true, "bytes": true, "kb": true, "mb": true, "gb": true, "kib": true, "mib": true, "gib": true,
}

// units are the suffixes a number keeps: times, sizes, ordinals, and the
// x of 5xx.
var units = map[string]bool{
	"ns": true, "us": true, "ms": true, "s": true, "m": true, "min": true, "h": true, "d": true,
	"b": true, "kb": true, "mb": true, "gb": true, "kib": true, "mib": true, "gib": true, "k": true,
	"st": true, "nd": true, "rd": true, "th": true, "x": true, "xx": true,
}

// uuid returns 36 when s starts with a UUID (8-4-4-4-12 hex digits)
// that ends at a word boundary, else 0.
func uuid(s string) int {
	const n = 36
	if len(s) < n || (len(s) > n && isWordByte(s[n])) {
		return 0
	}
	for i := range n {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return 0
			}
		default:
			if !(c >= '0' && c <= '9') && !(c|0x20 >= 'a' && c|0x20 <= 'f') {
				return 0
			}
		}
	}
	return n
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// isWordByte is isWord for a byte; any byte of a multi-byte character
// counts as a word byte (it is part of a letter, or of something a word
// may not end at).
func isWordByte(c byte) bool {
	return c == '_' || isASCIILetter(c) || (c >= '0' && c <= '9') || c >= utf8.RuneSelf
}

// Group is one failure reason: the masked message, the status of its rows
// (failed or invalid, or another status a caller tallies), how many rows
// it holds, and the input line of the first of them (the lowest).
type Group struct {
	Reason      string `json:"reason"`
	Status      string `json:"status"`
	Count       int64  `json:"count"`
	ExampleLine int    `json:"example_line"`
}

// Other is the reason under which a Tally counts rows whose reason came
// after it stopped keeping new ones.
const Other = "(other reasons: more distinct reasons than are kept)"

// DefaultKept is how many distinct reasons NewTally keeps by default.
const DefaultKept = 1000

// Tally counts rows by status and masked reason. Its memory is bounded:
// it keeps at most kept distinct reasons (each at most MaxLen bytes) and
// counts the rows of any later new reason under Other, by status. The zero
// value is not ready: use NewTally. A Tally is not safe for concurrent use.
type Tally struct {
	kept   int
	groups map[groupKey]*Group
	// lines, when keepLines > 0, holds each group's lowest input lines,
	// in order.
	keepLines int
	lines     map[groupKey][]int
}

type groupKey struct{ status, reason string }

// NewTally returns an empty Tally that keeps up to kept distinct reasons
// (0 or less: DefaultKept).
func NewTally(kept int) *Tally {
	if kept <= 0 {
		kept = DefaultKept
	}
	return &Tally{kept: kept, groups: map[groupKey]*Group{}}
}

// KeepLines makes t keep, for each group, the n lowest input lines of
// its rows (Lines returns them). Call it before the first Add.
func (t *Tally) KeepLines(n int) {
	t.keepLines = n
	t.lines = map[groupKey][]int{}
}

// Lines returns the lowest input lines of g's rows that t keeps (see
// KeepLines), in order; nil when it keeps none.
func (t *Tally) Lines(g Group) []int {
	return t.lines[groupKey{g.Status, g.Reason}]
}

// Add counts one row of the given status whose message is msg (Mask is
// applied here) and which starts on input line line.
func (t *Tally) Add(status, msg string, line int) {
	t.AddMasked(status, Mask(msg), line)
}

// AddMasked is Add for a message already masked.
func (t *Tally) AddMasked(status, reason string, line int) {
	k := groupKey{status, reason}
	g := t.groups[k]
	if g == nil {
		if len(t.groups) >= t.kept {
			k.reason = Other
			g = t.groups[k]
		}
		if g == nil {
			g = &Group{Reason: k.reason, Status: status, ExampleLine: line}
			t.groups[k] = g
		}
	}
	g.Count++
	if line > 0 && line < g.ExampleLine { // the first in the input, in whatever order rows come
		g.ExampleLine = line
	}
	if t.keepLines > 0 && line > 0 {
		t.keepLine(k, line)
	}
}

// keepLine adds line to the lowest lines kept for k, if it is one.
func (t *Tally) keepLine(k groupKey, line int) {
	ls := t.lines[k]
	i, _ := slices.BinarySearch(ls, line)
	if i >= t.keepLines {
		return
	}
	ls = slices.Insert(ls, i, line)
	if len(ls) > t.keepLines {
		ls = ls[:t.keepLines]
	}
	t.lines[k] = ls
}

// Len returns the number of groups.
func (t *Tally) Len() int { return len(t.groups) }

// Top returns the n largest groups (n <= 0: all of them), most rows
// first; ties go by status, then by reason, so the order is stable.
func (t *Tally) Top(n int) []Group {
	out := make([]Group, 0, len(t.groups))
	for _, g := range t.groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Reason, b.Reason))
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}
