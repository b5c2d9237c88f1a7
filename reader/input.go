package reader

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// ErrOptions marks an Options value the reader cannot honour (an unknown
// encoding or delimiter): a usage error, not a problem of the file.
var ErrOptions = errors.New("bad reader option")

// peekSize bounds how much of the file is looked at before the CSV parser
// starts: enough for a sep= line and any sane header.
const peekSize = 64 << 10

// source is the input made ready for encoding/csv: decoded to UTF-8, line
// endings made parseable, the sep= line consumed and the delimiter known.
// Open and Check share it so that both see exactly the same rows.
type source struct {
	name       string
	kind       string // Options.kind
	comma      rune
	lineOffset int // physical lines consumed before the parser starts (sep=)
	guard      *recordGuard
	tee        *tee
	csv        *csv.Reader
}

// newSource builds the decoding pipeline: raw bytes → file kind, BOM
// sniffing and decoding → CR-only translation → header peek → record guard
// (the input limits) → tee → encoding/csv.
func newSource(r io.Reader, opts Options) (*source, error) {
	name := opts.Name
	if name == "" {
		name = "input"
	}
	if opts.Delimiter != 0 && !supportedDelim(opts.Delimiter) {
		return nil, fmt.Errorf("delimiter %q: want , ; tab or |: %w", opts.Delimiter, ErrOptions)
	}
	dec, err := decode(r, opts.Encoding, name)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(&crReader{r: dec}, peekSize)
	s := &source{name: name, kind: opts.kind}

	comma, sepLine, err := sniff(br, name, opts.kind)
	if err != nil {
		return nil, err
	}
	if sepLine {
		s.lineOffset = 1
	}
	if opts.Delimiter != 0 {
		comma = opts.Delimiter // the caller knows better than a sep= line or a count
	}
	s.comma = comma
	s.guard = newRecordGuard(br, comma)
	s.tee = &tee{r: s.guard}
	s.csv = csv.NewReader(s.tee)
	s.csv.Comma = comma
	s.csv.ReuseRecord = true // a Record takes the strings (one allocation per record: see cloneAbove); the slice can be reused
	// FieldsPerRecord stays 0: the header fixes the count, and a ragged row
	// comes back as ErrFieldCount (see Reader.ragged).
	return s, nil
}

func supportedDelim(c rune) bool {
	return c == ',' || c == ';' || c == '\t' || c == '|'
}

// decode refuses a file that its first bytes show is no text (a workbook,
// an archive, a PDF: see fileKind), strips a UTF-8 BOM, decodes UTF-16
// announced by a BOM, and decodes Windows-1252 only when asked: a
// single-byte encoding cannot be told from the bytes, and we never guess.
func decode(r io.Reader, encoding, name string) (io.Reader, error) {
	enc := strings.ToLower(strings.TrimSpace(encoding))
	switch enc {
	case "", "utf-8", "utf8", "windows-1252", "cp1252":
	default:
		return nil, fmt.Errorf("encoding %q: want utf-8 or windows-1252: %w", encoding, ErrOptions)
	}
	br := bufio.NewReaderSize(r, peekSize)
	_, _ = br.Peek(kindPeek)          // waits for the first bytes (an error shows later)
	head, _ := br.Peek(br.Buffered()) // and looks at all that came, without waiting
	if what, todo := fileKind(head); what != "" {
		return nil, &FileError{Name: name, Msg: fmt.Sprintf("this is %s, not a CSV file: %s", what, todo)}
	}
	var kind string
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		kind = "UTF-8"
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		kind = "UTF-16LE"
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		kind = "UTF-16BE"
	}
	if kind != "" && (enc == "windows-1252" || enc == "cp1252") {
		return nil, &FileError{Name: name, Msg: fmt.Sprintf("file starts with a %s byte order mark but the encoding windows-1252 was asked for", kind)}
	}
	switch kind {
	case "UTF-8":
		_, _ = br.Discard(3) // else it stays glued to the first column name
		return br, nil
	case "UTF-16LE":
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()), nil
	case "UTF-16BE":
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()), nil
	}
	if enc == "windows-1252" || enc == "cp1252" {
		return transform.NewReader(br, charmap.Windows1252.NewDecoder()), nil
	}
	return br, nil
}

// peekHeader returns the buffered start of the input once it holds the
// first non-blank line whole (or the input ended, or peekSize bytes are
// buffered): the delimiter is judged on that line alone, and a slow stdin
// (an export still running) must not be held until peekSize bytes arrive.
func peekHeader(br *bufio.Reader) ([]byte, error) {
	// The scan of firstLine, resumed where the previous read ended: a
	// pipe may bring the line a byte at a time.
	scanned, begun, inQuote := 0, false, false
	for n := 1; ; {
		if _, err := br.Peek(n); err != nil { // waits for at least n bytes
			p, _ := br.Peek(br.Buffered())
			return p, err
		}
		p, _ := br.Peek(br.Buffered()) // all there is, without waiting
		for ; scanned < len(p); scanned++ {
			switch c := p[scanned]; {
			case !begun && (c == '\n' || c == '\r'):
			case c == '\n' && !inQuote:
				return p, nil
			case c == '"':
				inQuote, begun = !inQuote, true
			default:
				begun = true
			}
		}
		if len(p) >= peekSize {
			return p, nil
		}
		n = len(p) + 1
	}
}

// firstLine returns p's first non-blank line (blank lines the CSV parser
// skips too), without its end, and whether that end, outside quotes, is in p.
func firstLine(p []byte) ([]byte, bool) {
	for len(p) > 0 && (p[0] == '\n' || p[0] == '\r') {
		p = p[1:]
	}
	inQuote := false
	for i, b := range p {
		switch b {
		case '"':
			inQuote = !inQuote
		case '\n':
			if !inQuote {
				return p[:i], true
			}
		}
	}
	return p, false
}

// sniff looks at the start of the input without consuming it, except for an
// Excel "sep=X" first line, which is consumed (it is never the header). It
// returns the delimiter: the sep= one, else the one of , ; tab | that occurs
// most often outside quotes on the header line. Ties go to the earlier in
// that order (comma first: the commonest, and the default of every tool).
func sniff(br *bufio.Reader, name, kind string) (comma rune, sepLine bool, err error) {
	p, err := peekHeader(br)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, false, fmt.Errorf("read %s: %w", name, err)
	}
	header, _ := firstLine(p)
	if msg := binaryLine(header, kind); msg != "" {
		return 0, false, &FileError{Name: name, Msg: msg}
	}
	if c, n, ok := sepDirective(p); ok {
		if !supportedDelim(c) {
			return 0, false, &FileError{Name: name, Line: 1, Msg: fmt.Sprintf("the sep= line names delimiter %q; want , ; tab or |", c)}
		}
		if _, err := br.Discard(n); err != nil {
			return 0, false, fmt.Errorf("read %s: %w", name, err)
		}
		return c, true, nil
	}
	var counts [4]int
	delims := [4]byte{',', ';', '\t', '|'}
	inQuote := false
	for _, b := range header {
		if b == '"' {
			inQuote = !inQuote
		} else if i := bytes.IndexByte(delims[:], b); i >= 0 && !inQuote {
			counts[i]++
		}
	}
	best := 0
	for i := 1; i < len(counts); i++ {
		if counts[i] > counts[best] {
			best = i
		}
	}
	return rune(delims[best]), false, nil
}

// sepDirective recognises Excel's first line "sep=;" (also quoted, as some
// tools write it) and returns the delimiter and the length of the line.
func sepDirective(p []byte) (comma rune, n int, ok bool) {
	end := bytes.IndexByte(p, '\n')
	line := p
	if end >= 0 {
		line, n = p[:end], end+1
	} else {
		n = len(p)
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) >= 2 && line[0] == '"' && line[len(line)-1] == '"' {
		line = line[1 : len(line)-1]
	}
	if len(line) != 5 || !strings.EqualFold(string(line[:4]), "sep=") {
		return 0, 0, false
	}
	return rune(line[4]), n, true
}

// crReader makes old-Mac files (lines ended by a lone CR) readable by
// encoding/csv, which only ends lines at LF. The first line ending decides:
// LF or CRLF → bytes pass through untouched (a lone CR inside a cell stays
// data, as encoding/csv treats it); a lone CR → every CR becomes LF and an
// LF right after a CR is dropped, which needs no look-ahead, so a CRLF split
// across two reads is handled by remembering the last byte.
type crReader struct {
	r      io.Reader
	mode   crMode
	lastCR bool // translate mode: the previous byte was a CR (now an LF)
}

type crMode uint8

const (
	crUndecided crMode = iota
	crPending          // the first line ending is a CR that ended a read
	crPass
	crTranslate
)

func (c *crReader) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		if c.mode == crPass || n == 0 {
			return n, err
		}
		b := p[:n]
		if c.mode == crPending {
			if b[0] == '\n' {
				// That CR (already passed on as LF) was half of a CRLF: a
				// CRLF file, passed through from here on.
				c.mode = crPass
				n = copy(b, b[1:])
				if n == 0 && err == nil {
					continue
				}
				return n, err
			}
			c.mode = crTranslate
			c.lastCR = false
		}
		if c.mode == crUndecided {
			i := bytes.IndexAny(b, "\r\n")
			switch {
			case i < 0:
				return n, err
			case b[i] == '\n', i+1 < n && b[i+1] == '\n':
				c.mode = crPass
				return n, err
			case i+1 < n:
				c.mode = crTranslate
			default:
				// A CR ends this read: pass it on as LF and let the next
				// byte decide.
				b[i] = '\n'
				c.mode = crPending
				return n, err
			}
		}
		w := 0
		for _, ch := range b {
			switch {
			case ch == '\r':
				b[w] = '\n'
				w++
				c.lastCR = true
				continue
			case ch == '\n' && c.lastCR:
				// second half of a CRLF: the CR already ended the line
			default:
				b[w] = ch
				w++
			}
			c.lastCR = false
		}
		if w > 0 || err != nil {
			return w, err
		}
		// Everything was dropped (the LF of a CRLF): read again rather
		// than return 0, nil.
	}
}

// tee keeps the bytes encoding/csv has read since the start of the current
// row, addressed by csv.Reader.InputOffset, so that a ragged row or a syntax
// error can be re-examined: encoding/csv returns no fields with a syntax
// error, and csv.ParseError does not say which field broke. It holds at most maxHeld
// bytes past keep (an unclosed quote would otherwise copy the rest of the
// file); beyond that the re-examination works on a prefix.
type tee struct {
	r    io.Reader
	buf  []byte
	base int64 // input offset of buf[0]
	off  int64 // input offset of the next byte read
	keep int64 // bytes before this offset are no longer needed
}

const maxHeld = 4 << 20

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n == 0 {
		return n, err
	}
	end := t.base + int64(len(t.buf))
	switch {
	case t.keep >= end:
		// Nothing held is needed: start afresh here (this also heals a gap
		// left by an overlong row).
		t.buf = t.buf[:0]
		t.base = t.off
	case t.keep > t.base && t.keep-t.base >= int64(len(t.buf))/2:
		m := copy(t.buf, t.buf[t.keep-t.base:])
		t.buf = t.buf[:m]
		t.base = t.keep
	}
	if t.base+int64(len(t.buf)) == t.off && int64(len(t.buf)) < maxHeld {
		t.buf = append(t.buf, p[:n]...)
	}
	t.off += int64(n)
	return n, err
}

// held returns the input from offset from to at most offset to, as far as
// it is still held, and whether that is all of it.
func (t *tee) held(from, to int64) ([]byte, bool) {
	end := t.base + int64(len(t.buf))
	if from < t.base || from > end {
		return nil, from >= to
	}
	complete := true
	if to > end {
		to, complete = end, false
	}
	if from >= to {
		return nil, complete
	}
	return t.buf[from-t.base : to-t.base], complete
}

// linesIn counts the physical lines a stretch of input spans.
func linesIn(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	n := bytes.Count(b, []byte{'\n'})
	if b[len(b)-1] != '\n' {
		n++
	}
	return n
}
