package reader

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// callbackLayout is the only callback_time shape the API takes.
const callbackLayout = "2006-01-02 15:04:05"

// trim drops what spreadsheets leave around values: spaces, tabs and NBSP.
// The fast path (nothing to trim) costs two byte compares.
func trim(s string) string {
	if s == "" || (!trimmable(s[0]) && !trimmable(s[len(s)-1])) {
		return s
	}
	return strings.Trim(s, " \t\u00a0")
}

// trimmable is true for the first byte of what trim may remove (0xC2 starts
// NBSP; a false positive only costs the slow path).
func trimmable(b byte) bool { return b == ' ' || b == '\t' || b == 0xC2 || b == 0xA0 }

// nullMarker reports a cell that is a database NULL or a spreadsheet error
// instead of a value: sending it would write the marker into the CRM.
// Beyond the documented list: the other Excel errors (#NUM!, #NULL!,
// #SPILL!, #CALC!) and NULL in any case.
func nullMarker(s string) bool {
	switch s {
	case `\N`, "#N/A", "#REF!", "#VALUE!", "#NAME?", "#DIV/0!", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#N/A!":
		return true
	}
	return len(s) == 4 && strings.EqualFold(s, "NULL")
}

// badText describes text that must not reach the CRM: invalid UTF-8 (it
// would go out as U+FFFD), U+FFFD itself (a character already lost by an
// earlier conversion), NUL, and the control characters (C0, DEL, C1),
// which would reach the terminals and screens that show the ticket (ESC
// and CSI start terminal sequences); in free text (a comment, an extra
// column) but tab, line feed and carriage return, the author's layout. A
// code (free false) must hold no invisible formatting character either
// (bidirectional overrides and marks, zero-width characters, the line
// and paragraph separators): no code has one, and they hide or reorder
// what a person reads. "" when the text is fine. ASCII is checked a byte
// at a time without decoding.
func badText(s string, free bool) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f: // printable ASCII: most bytes
			continue
		case c == 0:
			return fmt.Sprintf("contains a NUL byte at byte %d", i+1)
		case c < utf8.RuneSelf:
			if free && (c == '\t' || c == '\n' || c == '\r') {
				continue
			}
			return controlAt(rune(c), i)
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("is not valid UTF-8 (byte 0x%02X at byte %d); if the file is Windows-1252 (Excel \"CSV\" on Windows), read it with encoding windows-1252", c, i+1)
		case r == utf8.RuneError:
			return fmt.Sprintf("contains U+FFFD at byte %d, a character lost in an earlier conversion; export the file again as UTF-8", i+1)
		case r <= 0x9f:
			return controlAt(r, i)
		case !free && (unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'):
			return fmt.Sprintf("contains the invisible character %s at byte %d; remove it and export again", runeName(r), i+1)
		}
		i += size - 1
	}
	return ""
}

// controlAt says that the control character r is at byte i.
func controlAt(r rune, i int) string {
	return fmt.Sprintf("contains the control character %s at byte %d; remove it and export again", runeName(r), i+1)
}

// cellProblem is the common check for every cell that is sent; free is
// true for free text (see badText).
func cellProblem(col, v string, free bool) string {
	if nullMarker(v) {
		return fmt.Sprintf("%s is %s, a NULL marker or spreadsheet error, not a value", col, quote(v))
	}
	if p := badText(v, free); p != "" {
		return col + " " + p
	}
	return ""
}

var (
	// Excel in a locale with a decimal comma writes 7,13517E+11.
	reScientific = regexp.MustCompile(`^[+-]?[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$`)
	reDecimal    = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
	reThousands  = regexp.MustCompile("^[0-9]{1,3}([,.' \u00a0\u202f][0-9]{3})+$")
	reFormula    = regexp.MustCompile(`^=\s*"(.*)"$`)
)

// digitsOnly is the default ticket_id rule, without a regexp: it runs on
// every row.
func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Scientific reports whether v is a number in scientific notation, as a
// spreadsheet rewrites a long ticket id (713516551148 as 7.13517E+11).
func Scientific(v string) bool { return reScientific.MatchString(v) }

// ticketProblem checks a trimmed ticket_id and, when it is wrong, says what
// it looks like and how to fix the export.
func ticketProblem(v string, pattern, anchored *regexp.Regexp) string {
	if v == "" {
		return "ticket_id is empty"
	}
	if p := cellProblem(colTicketID, v, false); p != "" {
		return p
	}
	ok := false
	if pattern == nil {
		ok = digitsOnly(v)
	} else {
		ok = anchored.MatchString(v)
	}
	if ok {
		return readBackProblem(v)
	}
	q := "ticket_id " + quote(v)
	switch {
	case Scientific(v):
		return q + " looks like a number Excel rewrote in scientific notation; format the column as Text and export again"
	case reFormula.MatchString(v):
		return q + ` is an Excel formula wrapper (="..."); export the values, not formulas`
	case reDecimal.MatchString(v) && strings.Trim(v[strings.IndexByte(v, '.')+1:], "0") == "":
		return q + " has a decimal part (.0) added by a spreadsheet or database export; format the column as Text (or an integer) and export again"
	case len(v) > 1 && v[0] == '\'' && digitsOnly(v[1:]):
		return q + " starts with an apostrophe (Excel's mark for text); remove it"
	case reThousands.MatchString(v):
		return q + " has thousands separators; format the column as Text (or a number without separators) and export again"
	}
	for i, r := range v {
		if invisible(r) {
			return fmt.Sprintf("%s contains the invisible character %s at byte %d; remove it and export again", q, runeName(r), i+1)
		}
		if unicode.IsDigit(r) && r > unicode.MaxASCII {
			return fmt.Sprintf("%s contains the non-ASCII digit %s; use plain digits 0-9", q, runeName(r))
		}
	}
	if pattern != nil {
		return fmt.Sprintf("%s does not match the ticket id pattern %s", q, pattern)
	}
	return q + " is not a ticket id (digits only)"
}

// readBackProblem refuses a ticket id that a permissive pattern lets
// through but no read can ask for: Get Ticket takes its ids
// comma-separated, so an id holding a comma (or white space, which the
// API trims around each) would be read as other tickets, or none, by
// snapshot, verify and run --backup alike.
func readBackProblem(v string) string {
	switch {
	case strings.IndexByte(v, ',') >= 0:
		return fmt.Sprintf("ticket_id %s holds a comma: a ticket id must not hold a comma (Get Ticket takes ids comma-separated: it could never be read back)", quote(v))
	case strings.IndexFunc(v, unicode.IsSpace) >= 0:
		return fmt.Sprintf("ticket_id %s holds white space: a ticket id must not hold white space (it could never be read back)", quote(v))
	}
	return ""
}

// anchor makes a pattern match only whole values, whatever anchors the
// user wrote: a leftmost-first match may be shorter than a whole match that
// exists (a|ab on "ab"), so FindStringIndex alone would wrongly refuse.
func anchor(re *regexp.Regexp) (*regexp.Regexp, error) {
	if re == nil {
		return nil, nil
	}
	return regexp.Compile(`^(?:` + re.String() + `)$`)
}

var reSerial = regexp.MustCompile(`^[0-9]{4,6}(\.[0-9]+)?$`)

// callbackProblem checks a trimmed callback_time: empty, or exactly
// yyyy-MM-dd HH:mm:ss and a real instant. Other shapes are never guessed
// (05-03-2024 is March or May depending on who exported it).
func callbackProblem(v string) string {
	if v == "" {
		return ""
	}
	if p := cellProblem(colCallbackTime, v, false); p != "" {
		return p
	}
	if !callbackShape(v) {
		q := "callback_time " + quote(v)
		if reSerial.MatchString(v) {
			return q + " looks like an Excel date serial number; format the column as yyyy-mm-dd hh:mm:ss and export again"
		}
		return q + " is not yyyy-MM-dd HH:mm:ss (other date shapes are not guessed)"
	}
	if !realInstant(v) {
		return "callback_time " + quote(v) + " is not a real date and time"
	}
	return ""
}

// realInstant checks the numbers of a well-shaped callback_time the way
// time.Parse(callbackLayout) does (2024-02-30 and 24:00:00 are refused), at
// a fraction of its cost: it runs on every row. Checking the shape first
// matters either way: time.Parse also takes one-digit hours and a
// fractional second.
func realInstant(v string) bool {
	num := func(i, n int) int {
		x := 0
		for _, c := range []byte(v[i : i+n]) {
			x = x*10 + int(c-'0')
		}
		return x
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return false
	}
	return num(11, 2) < 24 && num(14, 2) < 60 && num(17, 2) < 60
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func callbackShape(v string) bool {
	if len(v) != len(callbackLayout) {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != ' ' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// invisible reports characters that show as nothing in a spreadsheet but
// make a value differ: format characters (zero-width space and joiners,
// BOM, direction marks, soft hyphen), controls, and unusual spaces.
func invisible(r rune) bool {
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.Is(unicode.Cf, r) || unicode.IsControl(r) || (unicode.IsSpace(r) && r != ' ') || r == '\u2800' || r == '\u3164'
}

var runeNames = map[rune]string{
	'\u00a0': "NO-BREAK SPACE",
	'\u00ad': "SOFT HYPHEN",
	'\u200b': "ZERO WIDTH SPACE",
	'\u200c': "ZERO WIDTH NON-JOINER",
	'\u200d': "ZERO WIDTH JOINER",
	'\u200e': "LEFT-TO-RIGHT MARK",
	'\u200f': "RIGHT-TO-LEFT MARK",
	'\u2060': "WORD JOINER",
	'\u202f': "NARROW NO-BREAK SPACE",
	'\ufeff': "ZERO WIDTH NO-BREAK SPACE (BOM)",
	'\t':     "TAB",
	'\n':     "LINE FEED",
	'\r':     "CARRIAGE RETURN",
	'\x1b':   "ESCAPE",
	'\x7f':   "DELETE",
	'\u0085': "NEXT LINE",
	'\u009b': "CONTROL SEQUENCE INTRODUCER",
	'\u202d': "LEFT-TO-RIGHT OVERRIDE",
	'\u202e': "RIGHT-TO-LEFT OVERRIDE",
	'\u2028': "LINE SEPARATOR",
	'\u2029': "PARAGRAPH SEPARATOR",
}

func runeName(r rune) string {
	if n, ok := runeNames[r]; ok {
		return fmt.Sprintf("U+%04X (%s)", r, n)
	}
	return fmt.Sprintf("U+%04X", r)
}

// quote shows a value in a message: as written when every character is
// visible, else Go-quoted so that invisible characters show as \u escapes;
// long values are cut.
func quote(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) > max {
		n := 0
		for i := range s {
			if n == max {
				return quote(s[:i]) + "…"
			}
			n++
		}
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return `"` + s + `"`
}
