package reader

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Input limits. They keep the memory of a read bounded whatever the input
// (a binary file, /dev/zero, a line of gigabytes, a header of a million
// columns), and they are far beyond what an export of ticket updates holds.
const (
	// MaxRecordBytes bounds one record: the header or one row, quoted line
	// breaks included, counted after decoding to UTF-8. A record over it
	// refuses the whole input (a *FileError naming the line where it
	// starts): it is 32 times what a full Excel cell holds (32,767
	// characters), so it is an unclosed quote swallowing the rows after it,
	// or not a CSV at all, and reading on could lose or misattribute rows.
	MaxRecordBytes = 1 << 20

	// MaxColumns bounds the columns of the header. A header with more
	// refuses the input. An export of ticket updates has a handful of
	// columns, a wide CRM export a few dozen to a few hundred (the helper
	// columns are left out); a thousand and more is another kind of file,
	// or a wrong delimiter.
	MaxColumns = 1000

	// MaxObjectBytes bounds the request object one row sends: the JSON
	// object of the six documented keys and the extra columns sent, with
	// its escapes. A row over it is invalid (recorded, never sent) and the
	// run goes on. 16 KiB is about 16,000 characters of comment, pages
	// more than a note on a ticket holds; the bound keeps a payload of 50
	// rows under 1 MiB and the rows queued between the reader and the
	// workers (a few thousand with the default flags) within the memory
	// budget.
	MaxObjectBytes = 16 << 10
)

// keptValueBytes bounds the ticket_id an oversized row keeps in its
// Record: enough for any real ticket id, so the results still name it.
const keptValueBytes = 128

// cloneAbove is the record size from which a row's values are copied out
// of the record (see bound): encoding/csv makes one string of a whole
// record, and a ticket_id kept in a queue would otherwise pin all of it.
const cloneAbove = 4 << 10

// limitKind says which limit a record broke.
type limitKind uint8

const (
	limitRecord  limitKind = iota + 1 // MaxRecordBytes
	limitColumns                      // MaxColumns (the header only)
)

// limitError is what recordGuard returns when the input breaks a limit;
// the source turns it into a *FileError naming the file and the field.
type limitError struct {
	kind    limitKind
	header  bool // the record is the header
	line    int  // parser line on which the record starts
	inQuote bool // a quoted field was open when the limit was reached
	oneLine bool // no line feed in the record up to the limit
	max     int  // the record bound broken (recordGuard.max)
}

func (e *limitError) Error() string {
	return fmt.Sprintf("line %d: input limit %d exceeded", e.line, e.kind)
}

// recordGuard sits under encoding/csv and fails the read, with a
// *limitError, when a record grows over MaxRecordBytes or the header over
// MaxColumns, so that encoding/csv (which holds a whole record) never
// holds more. It follows the records the way encoding/csv does with
// LazyQuotes off: every '"' opens or closes quoting ("" inside quotes
// toggles twice), and a line feed outside quotes ends a record. Where a
// stray quote would make it disagree, encoding/csv reports a syntax error
// on that record first. It passes on the bytes up to the limit, so that
// the complete rows before it are returned whatever the size of the
// reads, and fails the next read.
type recordGuard struct {
	r       io.Reader
	max     int // MaxRecordBytes, unless Records.SetMaxRecord said otherwise
	comma   byte
	header  bool // the header has not ended yet
	started bool // the header has begun (blank lines before it are skipped)
	inQuote bool
	bytes   int // bytes of the current record so far
	columns int // header: field separators seen outside quotes, plus one
	line    int // current parser line, 1-based as encoding/csv counts
	recLine int // parser line on which the current record started
	err     error
}

func newRecordGuard(r io.Reader, comma rune) *recordGuard {
	return &recordGuard{r: r, max: MaxRecordBytes, comma: byte(comma), header: true, columns: 1, line: 1, recLine: 1}
}

func (g *recordGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	// Any run of bytes between two line feeds of one read is then shorter
	// than a record may be: scanRows checks only the first and the last.
	if len(p) > g.max {
		p = p[:g.max]
	}
	n, err := g.r.Read(p)
	k := 0
	if g.header {
		k = g.scanHeader(p[:n])
	}
	if g.err == nil && k < n {
		k += g.scanRows(p[k:n])
	}
	if g.err != nil {
		if k == 0 {
			return 0, g.err
		}
		return k, nil
	}
	return n, err
}

// scanHeader follows the header a byte at a time (it is read once),
// counting its columns. It returns how many bytes of b it took: up to the
// header's end, or up to a limit.
func (g *recordGuard) scanHeader(b []byte) int {
	for i, c := range b {
		switch {
		case c == '"':
			g.inQuote = !g.inQuote
		case c == '\n' && g.inQuote:
			g.line++
		case c == '\n' && g.started:
			g.line++
			g.header, g.bytes, g.recLine = false, 0, g.line
			return i + 1
		case c == '\n':
			g.line++ // a blank line before the header
			g.bytes, g.recLine = 0, g.line
			continue
		case c == g.comma && !g.inQuote:
			if g.columns++; g.columns > MaxColumns {
				return g.fail(limitColumns, i)
			}
		}
		if c != '\r' {
			g.started = true
		}
		if g.bytes++; g.bytes > g.max {
			return g.fail(limitRecord, i)
		}
	}
	return len(b)
}

// scanRows follows the data rows from quote to quote: between two quotes
// only line feeds matter, and the bytes functions find them fast. Line
// numbers are counted once per read. It returns how many bytes of b may
// pass: all, or those before a limit.
func (g *recordGuard) scanRows(b []byte) int {
	recEnd := -1 // index in b of the last line feed that ended a record
	for off := 0; off < len(b); {
		seg := b[off:]
		q := bytes.IndexByte(seg, '"')
		if q >= 0 {
			seg = seg[:q]
		}
		from := 0 // where the current record's part of seg starts
		if !g.inQuote {
			if last := bytes.LastIndexByte(seg, '\n'); last >= 0 {
				// The record in progress ends at the first line feed; the
				// lines up to the last are whole records, each shorter
				// than this read; a new one starts after the last.
				if first := bytes.IndexByte(seg, '\n'); g.bytes+first > g.max {
					return g.failAt(b, off+g.max-g.bytes, recEnd)
				}
				recEnd, g.bytes, from = off+last, 0, last+1
			}
		}
		if room := g.max - g.bytes; len(seg)-from > room {
			return g.failAt(b, off+from+room, recEnd)
		}
		g.bytes += len(seg) - from
		if q < 0 {
			break
		}
		if g.bytes == g.max {
			return g.failAt(b, off+q, recEnd)
		}
		g.inQuote = !g.inQuote
		g.bytes++
		off += q + 1
	}
	g.count(b, recEnd)
	return len(b)
}

// count moves the line numbers past b, in which the last record to end
// did so at b[recEnd] (-1: none did).
func (g *recordGuard) count(b []byte, recEnd int) {
	g.line += bytes.Count(b, []byte{'\n'})
	if recEnd >= 0 {
		g.recLine = g.line - bytes.Count(b[recEnd+1:], []byte{'\n'})
	}
}

// failAt records a record over g.max at b[at].
func (g *recordGuard) failAt(b []byte, at, recEnd int) int {
	g.count(b[:at], recEnd)
	return g.fail(limitRecord, at)
}

// fail records the limit broken at b[at] and returns at: the bytes before
// it still pass.
func (g *recordGuard) fail(kind limitKind, at int) int {
	g.err = &limitError{kind: kind, header: g.header, line: g.recLine, inQuote: g.inQuote, oneLine: g.line == g.recLine, max: g.max}
	return at
}

// limitFileError explains a broken limit, naming the line where the record
// starts, or where its unclosed quoted field starts when that is the likely
// cause. from is the input offset where the record (with any blank lines
// before it) starts; names are the header's, nil while reading it.
func (s *source) limitFileError(le *limitError, from int64, names []string) *FileError {
	what := "the row starting here"
	if le.header {
		what = "the header"
	}
	if le.kind == limitColumns {
		file := "the file of ticket updates"
		if s.kind != "" {
			file = s.kind
		}
		return &FileError{Name: s.name, Line: le.line + s.lineOffset,
			Msg: fmt.Sprintf("the header has more than %d columns (the limit); check that this is %s and its delimiter", MaxColumns, file)}
	}
	limit := fmt.Sprintf("is longer than %s (the limit of one row)", sizeText(le.max))
	if le.header {
		limit = fmt.Sprintf("is longer than %s (the limit)", sizeText(le.max))
	}
	if le.inQuote {
		raw, _ := s.tee.held(from, s.tee.off)
		if f, ok := locate(raw, byte(s.comma), le.line); ok && f.kind == kindUnclosed {
			return &FileError{Name: s.name, Line: f.line + s.lineOffset, Column: f.field,
				Msg: fmt.Sprintf("%s %s: quoted field %s opens on this line and is not closed within it; is its closing quote missing?", what, limit, s.columnName(f.field, names))}
		}
	}
	msg := fmt.Sprintf("%s %s", what, limit)
	if le.oneLine {
		msg += " and has no line break; is this a CSV file?"
	}
	return &FileError{Name: s.name, Line: le.line + s.lineOffset, Msg: msg}
}

// columnName is "column N", with the column's name when the header gave one.
func (s *source) columnName(field int, names []string) string {
	col := fmt.Sprintf("column %d", field)
	if field <= len(names) && names[field-1] != "" {
		col += " (" + names[field-1] + ")"
	}
	return col
}

// sizeText shows a byte count the way the limits are documented.
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", (n+1<<10-1)>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// objectBytes returns the size of the request object sent for rec, and
// the name and size of its largest value, as AppendObject writes it. A
// row small enough that even six bytes for every byte fit is not scanned:
// its size is then a lower bound.
func objectBytes(rec *Record) (n int, largest string, largestN int) {
	vals := [...]struct{ name, v string }{
		{colTicketID, rec.TicketID}, {colSubStatus, rec.SubStatus}, {colQueue, rec.Queue},
		{colComment, rec.Comment}, {colCallbackTime, rec.CallbackTime}, {colDisposition, rec.Disposition},
	}
	raw := objectOverhead
	for _, v := range vals {
		raw += len(v.v)
	}
	for _, f := range rec.Extra {
		raw += extraOverhead + len(f.Name) + len(f.Value)
	}
	if raw*6 <= MaxObjectBytes {
		return raw, "", 0 // a lower bound, but no escapes could take it over
	}
	n = objectOverhead
	for _, v := range vals {
		m := jsonLen(v.v)
		n += m
		if m > largestN {
			largest, largestN = v.name, m
		}
	}
	for _, f := range rec.Extra {
		m := jsonLen(f.Value)
		n += extraOverhead + jsonLen(f.Name) + m
		if m > largestN {
			largest, largestN = f.Name, m
		}
	}
	return n, largest, largestN
}

// bound enforces MaxObjectBytes on a built record: a row over it becomes
// invalid and keeps only its line, a short ticket_id and the reason, so
// that no Record carries much more than MaxObjectBytes of values. size is
// the bytes of input the row came from: over cloneAbove, the ticket_id
// (which outlives the record, in the queues of the engine) is copied out
// of the record, and so are the other values when they are less than half
// of it (columns not sent make up the rest).
func bound(rec *Record, size int64) {
	n, largest, largestN := objectBytes(rec)
	if n > MaxObjectBytes {
		id := rec.TicketID
		if len(id) > keptValueBytes {
			id = ""
		}
		*rec = Record{Line: rec.Line, TicketID: strings.Clone(id), Invalid: also(rec.Invalid,
			fmt.Sprintf("the row's request object would be %s (%s: %s); the limit is %s per row",
				sizeText(n), largest, sizeText(largestN), sizeText(MaxObjectBytes)))}
		return
	}
	if size <= cloneAbove {
		return
	}
	rec.TicketID = strings.Clone(rec.TicketID)
	if int64(n)*2 >= size {
		return
	}
	for _, p := range []*string{&rec.SubStatus, &rec.Queue, &rec.Comment, &rec.CallbackTime, &rec.Disposition} {
		*p = strings.Clone(*p)
	}
	for i := range rec.Extra {
		rec.Extra[i].Value = strings.Clone(rec.Extra[i].Value)
	}
}
