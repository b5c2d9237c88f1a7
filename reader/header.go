package reader

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Documented columns, in the order of the API's documentation.
const (
	colTicketID     = "ticket_id"
	colSubStatus    = "sub_status"
	colQueue        = "queue"
	colComment      = "comment"
	colCallbackTime = "callback_time"
	colDisposition  = "disposition"
)

func documented(name string) bool {
	switch name {
	case colTicketID, colSubStatus, colQueue, colComment, colCallbackTime, colDisposition:
		return true
	}
	return false
}

// NormalizeName is how header cells are matched: surrounding spaces (and
// NBSP, zero-width characters) dropped, lower-cased, each run of spaces or
// '-' turned into one '_'. "Ticket ID", " Sub Status ", "QUEUE" and
// "callback-time" become ticket_id, sub_status, queue and callback_time.
// Exported so that the command line can normalise --extra-columns the same
// way.
func NormalizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSep := false
	for _, r := range s {
		switch {
		case r == '-' || unicode.IsSpace(r) || r == '\u00a0':
			pendingSep = b.Len() > 0
		case invisible(r):
			// dropped: a header is a name, not data sent to the CRM
		default:
			if pendingSep {
				b.WriteByte('_')
				pendingSep = false
			}
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// ReportErrorColumn is the column a report's failed rows file adds to the
// input's own: the reason a row did not go through. AllExtra does not send
// it (ExtraColumns still may, by name). An input that has it is read as a
// failed rows file: its cells lose the ' that EscapeCell added.
const ReportErrorColumn = "error"

// header is the analysed header line.
type header struct {
	raw     []string // cells as found
	names   []string // normalised; "" for an unnamed column
	doc     docIx    // where the documented columns are
	others  []int    // indexes of the other columns: extra and unnamed
	sent    []int    // indexes of extra columns to send, by name
	leftOut []string // extra columns present but not sent
	unnamed []int    // indexes of unnamed columns
	escaped bool     // a failed rows file: its cells went through EscapeCell
}

// docIx holds the index of each documented column in the header, -1 for
// one that is absent (ticket_id and sub_status never are).
type docIx struct {
	ticketID, subStatus, queue, comment, callbackTime, disposition int
}

// field returns the value of column i of fields, "" for an absent column.
func field(fields []string, i int) string {
	if i < 0 {
		return ""
	}
	return fields[i]
}

// analyseHeader normalises the header and refuses what cannot be read
// unambiguously: a missing ticket_id or sub_status, a column named twice,
// an --extra-columns name that is not there.
func analyseHeader(raw []string, line int, opts Options, name string) (*header, error) {
	h := &header{raw: append([]string(nil), raw...), names: make([]string, len(raw))}
	h.escaped = slices.ContainsFunc(raw, func(c string) bool { return NormalizeName(c) == ReportErrorColumn })
	h.unescape(h.raw)
	raw = h.raw
	seen := make(map[string]int, len(raw))
	for i, cell := range raw {
		if !utf8.ValidString(cell) {
			return nil, &FileError{Name: name, Line: line, Column: i + 1, Msg: fmt.Sprintf("header column %d %s is not valid UTF-8; if the file is Windows-1252 (Excel \"CSV\" on Windows), read it with encoding windows-1252", i+1, quote(cell))}
		}
		if strings.IndexByte(cell, 0) >= 0 {
			// NormalizeName would drop the NULs and match the names: refuse
			// here rather than call every row invalid.
			return nil, &FileError{Name: name, Line: line, Column: i + 1, Msg: "the header contains NUL bytes: the file looks like UTF-16 without a byte order mark; export it again as UTF-8 (or UTF-16 with BOM)"}
		}
		n := NormalizeName(cell)
		h.names[i] = n
		if n == "" {
			h.unnamed = append(h.unnamed, i)
			h.others = append(h.others, i)
			continue
		}
		if j, dup := seen[n]; dup {
			return nil, &FileError{Name: name, Line: line, Column: i + 1, Msg: fmt.Sprintf("columns %d %s and %d %s are both %s after normalisation; remove or rename one", j+1, quote(raw[j]), i+1, quote(cell), n)}
		}
		seen[n] = i
		if !documented(n) {
			h.others = append(h.others, i)
		}
	}
	var missing []string
	for _, req := range []string{colTicketID, colSubStatus} {
		if _, ok := seen[req]; !ok {
			missing = append(missing, req)
		}
	}
	if len(missing) > 0 {
		return nil, &FileError{Name: name, Line: line, Msg: fmt.Sprintf("no %s column; columns found: %s", strings.Join(missing, " or "), h.found())}
	}
	at := func(col string) int {
		if i, ok := seen[col]; ok {
			return i
		}
		return -1
	}
	h.doc = docIx{ticketID: at(colTicketID), subStatus: at(colSubStatus), queue: at(colQueue),
		comment: at(colComment), callbackTime: at(colCallbackTime), disposition: at(colDisposition)}
	want := make(map[string]bool, len(opts.ExtraColumns))
	for _, e := range opts.ExtraColumns {
		n := NormalizeName(e)
		if n == "" {
			continue
		}
		if _, ok := seen[n]; !ok {
			return nil, &FileError{Name: name, Line: line, Msg: fmt.Sprintf("extra column %s is not in the header; columns found: %s", n, h.found())}
		}
		want[n] = true
	}
	for i, n := range h.names {
		if n == "" || documented(n) {
			continue
		}
		// "all" leaves out the error column a report's failed rows file
		// adds: it says why a row failed, and is nothing for the CRM.
		if (opts.AllExtra && n != ReportErrorColumn) || want[n] {
			h.sent = append(h.sent, i)
		} else {
			h.leftOut = append(h.leftOut, n)
		}
	}
	// By name, not by place: a row's object (and so its key) must not
	// change when the export's columns come in another order.
	slices.SortFunc(h.sent, func(a, b int) int { return strings.Compare(h.names[a], h.names[b]) })
	return h, nil
}

// foundShown bounds how many header cells a message lists.
const foundShown = 12

// found lists the header cells as the user wrote them, the first
// foundShown of them, then how many more there are.
func (h *header) found() string {
	var parts []string
	more := 0
	for _, c := range h.raw {
		switch {
		case strings.TrimSpace(c) == "":
		case len(parts) == foundShown:
			more++
		default:
			parts = append(parts, quote(c))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	if more > 0 {
		return fmt.Sprintf("%s … and %d more", strings.Join(parts, ", "), more)
	}
	return strings.Join(parts, ", ")
}
