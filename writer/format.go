package writer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// Header is the first line of every results CSV, without its newline.
const Header = "ticket_id,status,message,line,http_status,attempts,finished_at,fingerprint"

// timeFormat is the layout of the finished_at cell: fixed width, sorts as
// text.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// columns is the number of cells in a row.
const columns = 8

// maxLine bounds line numbers: an input of more lines would be a file of
// many gigabytes.
const maxLine = 1<<31 - 1

// Status is the outcome of one input row.
type Status string

const (
	// StatusSuccess: the API said the row was applied.
	StatusSuccess Status = "success"
	// StatusFailed: the API refused the row, it could not be delivered
	// within the retries, or its outcome is unknown (the run was killed
	// while it was in flight).
	StatusFailed Status = "failed"
	// StatusInvalid: the row broke a validation rule and was never sent.
	StatusInvalid Status = "invalid"
	// StatusUnchanged: the row was not sent because a sync state says its
	// ticket already holds what the row sends.
	StatusUnchanged Status = "unchanged"
)

func (s Status) valid() bool {
	return s == StatusSuccess || s == StatusFailed || s == StatusInvalid || s == StatusUnchanged
}

// Result is one row of the results CSV.
type Result struct {
	TicketID string
	Status   Status
	// Message is the server's message, or ours; never empty for failed
	// and invalid rows (Write puts noMessage there rather than leave it
	// empty).
	Message string
	// Line is the input line on which the row starts (header = 1).
	Line int
	// HTTPStatus is 0 when no response was received: an empty cell.
	HTTPStatus int
	// Attempts is the number of requests that carried the row; 0 when
	// never sent.
	Attempts int
	// FinishedAt is written in UTC with milliseconds; the zero time means
	// "now", the time of the Write.
	FinishedAt time.Time
	// Key is the row's key, written in the fingerprint cell; the zero
	// Key (an empty cell) only for invalid rows, which were never sent.
	Key rowkey.Key
}

// noMessage stands in for an empty message on a failed or invalid row: the
// message is never empty there, and an empty cell would read as "nothing
// wrong".
const noMessage = "(no message)"

// check refuses rows that would break the format in a way a resume could
// not read back.
func check(r *Result) error {
	if !r.Status.valid() {
		return fmt.Errorf("status %q is not success, failed, invalid or unchanged", string(r.Status))
	}
	if r.Line < 1 || r.Line > maxLine {
		return fmt.Errorf("line %d is not a line number", r.Line)
	}
	if r.HTTPStatus < 0 || r.HTTPStatus > 999 {
		return fmt.Errorf("http status %d out of range", r.HTTPStatus)
	}
	if r.Attempts < 0 {
		return fmt.Errorf("attempts %d is negative", r.Attempts)
	}
	if r.Key.IsZero() && r.Status != StatusInvalid {
		return fmt.Errorf("a %s row without a key", r.Status)
	}
	return nil
}

// maxCell bounds a text cell in bytes: a spreadsheet cell holds at most
// 32,767 characters, and a longer one (an HTML error page) is cut there
// anyway, by the spreadsheet, without saying so.
const maxCell = 32000

// Inert returns s as the results CSV writes a text cell (see inert), for
// another CSV meant for people and spreadsheets.
func Inert(s string) string { return inert(s) }

// inert makes a text cell safe to open in a spreadsheet and keeps it on
// one line:
//   - CR and LF become spaces: every row stays one physical line, so a
//     crash can only tear the last line, and a damaged line is one row;
//   - invalid UTF-8 becomes U+FFFD: the file is UTF-8 for every reader;
//   - a cell longer than maxCell bytes is cut at a character boundary and
//     ends with "…";
//   - a cell starting with = + - @ or tab (OWASP's CSV injection list; a
//     leading CR is already a space) gets a leading ' so a spreadsheet
//     shows it as text instead of running it.
func inert(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > maxCell {
		cut := maxCell
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

// Row is one results row as read back, for a resume. A cell that could
// not be read leaves its field zero: a spreadsheet may have re-saved the
// file, or a person edited it, and a damaged row must cost that row (it is
// sent again), never the whole file.
type Row struct {
	// Status is "" when the status cell is not one of the statuses.
	Status Status
	// Key is the row's key; KeyOK is false when the fingerprint cell is
	// empty (an invalid row) or unreadable.
	Key   rowkey.Key
	KeyOK bool
	// Line is the input line the row was for; 0 when unreadable.
	Line int
	// TicketID is the ticket_id cell as found (a spreadsheet may have
	// mangled it into 7.13517E+11).
	TicketID string
	// Message is the message cell as found (with the leading ' the
	// writer puts before a cell a spreadsheet would run as a formula).
	Message string
	// FileLine is where the row stands in the results file (header = 1),
	// and Offset where its line starts, in bytes (see MessageAt).
	FileLine int
	Offset   int64
	// Damaged says what could not be read; empty for a sound row.
	Damaged string
}

// ReadRows calls fn for every row of a results CSV, in the order they were
// appended; r starts at the header, which must be the results header
// (with or without a BOM). Every row is one physical line (CR and LF
// inside cells are written as spaces), so each line is read on its own: a
// damaged line is reported in its Row, and reading goes on. ReadRows fails
// only when r cannot be read, the header is not a results header, or fn
// fails.
func ReadRows(r io.Reader, name string, fn func(Row) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	first, off, err := readLine(br)
	switch {
	case errors.Is(err, io.EOF) && len(first) == 0:
		return nil // an empty file
	case err != nil && !errors.Is(err, io.EOF):
		return fmt.Errorf("read results file %q: %w", name, err)
	}
	if err := headerError(name, append(first, '\n'), int64(len(first)+1)); err != nil {
		return err
	}
	var cells [columns][]byte
	var msg string // the last message: most rows repeat it, and share it
	for n := 2; ; n++ {
		line, size, err := readLine(br)
		if len(line) > 0 {
			row := parseRow(line, cells[:], &msg)
			if len(line) > maxRowBytes {
				row = Row{Damaged: fmt.Sprintf("a line of more than %d bytes", maxRowBytes)}
			}
			row.FileLine, row.Offset = n, off
			if ferr := fn(row); ferr != nil {
				return ferr
			}
		}
		off += size
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read results file %q near line %d: %w", name, n, err)
		}
	}
}

// maxRowBytes bounds a results line: the writer writes none longer than
// eight cells of maxCell bytes; a longer one was made by someone else, and
// reading it whole could take any amount of memory.
const maxRowBytes = 8*maxCell + 1024

// readLine returns the next line without its line ending, and the bytes
// it took, ending included; of a line longer than maxRowBytes, only its
// first maxRowBytes and a little more.
func readLine(br *bufio.Reader) ([]byte, int64, error) {
	line, err := br.ReadSlice('\n')
	size := int64(len(line))
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = br.ReadSlice('\n')
			size += int64(len(line))
			if len(long) <= maxRowBytes { // past it, the rest is not kept
				long = append(long, line...)
			}
		}
		line = long
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, size, err
}

// Messages reads the message cells of a results file's rows by where
// their lines start (Row.Offset): a reader of a large results file keeps
// where each row's message is rather than the message.
type Messages struct {
	r   io.ReaderAt
	buf []byte
}

// NewMessages reads messages from the results file r.
func NewMessages(r io.ReaderAt) *Messages { return &Messages{r: r, buf: make([]byte, 1<<10)} }

// At returns the message of the row whose line starts at off.
func (m *Messages) At(off int64) (string, error) { return m.cell(off, 2) }

// TicketAt returns the ticket_id cell of the row whose line starts at off.
func (m *Messages) TicketAt(off int64) (string, error) { return m.cell(off, 0) }

// cell returns cell i of the row whose line starts at off.
func (m *Messages) cell(off int64, i int) (string, error) {
	for {
		n, err := m.r.ReadAt(m.buf, off)
		line, _, whole := bytes.Cut(m.buf[:n], []byte("\n"))
		if whole || errors.Is(err, io.EOF) || len(m.buf) > maxRowBytes {
			var cells [columns][]byte
			line = bytes.TrimSuffix(line, []byte("\r"))
			if got, ok := splitCells(line, cells[:]); !ok || got != columns {
				return "", fmt.Errorf("results row at byte %d cannot be read", off)
			}
			return string(cells[i]), nil
		}
		if err != nil {
			return "", fmt.Errorf("read results row at byte %d: %w", off, err)
		}
		m.buf = make([]byte, 2*len(m.buf))
	}
}

// parseRow reads the cells of one line. *msg is the message of the row
// before: a row with the same message gets the same string, so that a file
// of rows that mostly say the same costs no string per row for it.
func parseRow(line []byte, cells [][]byte, msg *string) Row {
	var row Row
	n, ok := splitCells(line, cells)
	if !ok || n != columns {
		row.Damaged = fmt.Sprintf("%d cells, want %d", n, columns)
		if !ok {
			row.Damaged = "broken quoting"
		}
		return row
	}
	row.TicketID = string(cells[0])
	if string(cells[2]) != *msg {
		*msg = string(cells[2])
	}
	row.Message = *msg
	var bad []string
	if s := Status(cells[1]); s.valid() {
		row.Status = s
	} else {
		bad = append(bad, fmt.Sprintf("status %q", shorten(cells[1], 20)))
	}
	if l, ok := parseLine(cells[3]); ok {
		row.Line = l
	} else {
		bad = append(bad, fmt.Sprintf("line %q", shorten(cells[3], 20)))
	}
	if fp := cells[7]; len(fp) > 0 {
		if k, err := rowkey.Parse(string(fp)); err == nil {
			row.Key, row.KeyOK = k, true
		} else {
			bad = append(bad, fmt.Sprintf("fingerprint %q", shorten(fp, 40)))
		}
	} else if row.Status != StatusInvalid {
		bad = append(bad, "no fingerprint")
	}
	if len(bad) > 0 {
		row.Damaged = strings.Join(bad, ", ")
	}
	return row
}

// parseLine reads a line number: digits only, 1 to maxLine.
func parseLine(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 1 && n <= maxLine
}

// splitCells splits one CSV line (RFC 4180, no line breaks inside cells)
// into cells, unquoting quoted ones, and returns how many there were; ok is
// false for broken quoting. It keeps at most len(cells); an unquoted cell
// is a slice of line, so reading a row allocates only for quoted cells.
func splitCells(line []byte, cells [][]byte) (n int, ok bool) {
	for i := 0; ; n++ {
		var cell []byte
		if i < len(line) && line[i] == '"' {
			var b []byte
			for i++; ; {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					return n + 1, false // the quote is never closed
				}
				b = append(b, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					b = append(b, '"')
					i++
					continue
				}
				break
			}
			if i < len(line) && line[i] != ',' {
				return n + 1, false // junk after the closing quote
			}
			cell = b
		} else {
			j := bytes.IndexByte(line[i:], ',')
			if j < 0 {
				j = len(line) - i
			}
			cell = line[i : i+j]
			i += j
		}
		if n < len(cells) {
			cells[n] = cell
		}
		if i >= len(line) {
			return n + 1, true
		}
		i++ // the comma
	}
}

// headerError reports whether first (the first bytes of a file of the given
// size) starts with the results header line, or is a torn prefix of it.
func headerError(path string, first []byte, size int64) error {
	whole := int64(len(first)) == size
	first = bytes.TrimPrefix(first, []byte("\ufeff")) // a spreadsheet may add one
	line, _, hasNL := bytes.Cut(first, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if hasNL && string(line) == Header {
		return nil
	}
	if !hasNL && whole && strings.HasPrefix(Header+"\r", string(first)) {
		return nil // torn header, or a BOM alone
	}
	if msg := reader.NotText(first, "a results CSV (run writes INPUT.results.csv)"); msg != "" {
		return fmt.Errorf("results file %q: %w: %s", path, ErrNotResults, msg)
	}
	return fmt.Errorf("results file %q: %w: first line is %q, want %q",
		path, ErrNotResults, shorten(line, 80), Header)
}

func shorten(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}
