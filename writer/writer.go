// Package writer owns the results CSV: it creates, overwrites or resumes
// it, keeps it locked while in use, appends one row per finished input row,
// and reads it back for --resume.
//
// File format (a contract, see DESIGN.md "Results CSV"):
//
//   - UTF-8 without BOM, comma-separated, LF line endings, quoted as
//     encoding/csv quotes (RFC 4180).
//   - Header, exactly: ticket_id,status,message,line,http_status,attempts,finished_at,fingerprint
//   - Every row is one physical line: CR and LF inside a cell are written
//     as a space, so that a crash can only tear the last line and cutting
//     back to the last newline always leaves whole rows.
//   - A text cell a spreadsheet would run as a formula (first character
//     = + - @, tab or CR) gets a leading single quote; invalid UTF-8
//     becomes U+FFFD; a cell is cut to 32000 bytes (see inert).
//   - An empty message on a failed or invalid row is written as
//     "(no message)".
//   - http_status is empty when no response was received; attempts is 0 for
//     rows never sent; finished_at is RFC 3339 in UTC with milliseconds
//     (2006-01-02T15:04:05.000Z): fixed width, and it sorts as text.
//   - Resume reads ticket_id, message and finished_at not at all, so a file
//     a spreadsheet re-saved (7.13517E+11, local dates) still resumes as
//     long as line, status and fingerprint are intact.
//   - fingerprint is 16 lowercase hex digits, or empty for an invalid row
//     that has none.
//
// Durability: every Write hands its rows to the OS in one write call, so
// they survive kill -9 of the process. They are fsynced only by Close: an
// fsync per payload multiplied the cost of a Write by about 5 on a Linux VM
// (BenchmarkWriteSync) and costs far more on macOS, where Sync is
// F_FULLFSYNC. What a power cut or kernel crash can lose is the results the
// OS had not yet written back (seconds); a resume sends those rows again,
// as it does for payloads in flight at a kill -9.
package writer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Header is the first line of every results CSV, without its newline.
const Header = "ticket_id,status,message,line,http_status,attempts,finished_at,fingerprint"

// TimeFormat is the layout of the finished_at cell.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// columns is the number of cells in a row.
const columns = 8

// maxLine bounds line numbers so that the resume state can key them as
// uint32: an input of more lines would be a file of many gigabytes.
const maxLine uint64 = 1<<32 - 1

// Status is the outcome of one input row.
type Status string

const (
	// StatusSuccess: the API said the row was applied.
	StatusSuccess Status = "success"
	// StatusFailed: the API refused the row, or it could not be delivered
	// within the retries.
	StatusFailed Status = "failed"
	// StatusInvalid: the row broke a validation rule and was never sent.
	StatusInvalid Status = "invalid"
)

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
	// Fingerprint is 16 lowercase hex digits (64 bits) of the exact
	// object sent; empty only for invalid rows that have none.
	Fingerprint string
}

// noMessage stands in for an empty message on a failed or invalid row: the
// contract says that message is never empty, and an empty cell would read as
// "nothing wrong".
const noMessage = "(no message)"

// Mode says what Open does with an existing results file.
type Mode int

const (
	// Create refuses (ErrExists) a file that exists and is non-empty,
	// leaving it untouched. A missing or empty file is fine, and so is a
	// results file with a header and no rows (a run that stopped before
	// its first result, say on a bad input file): there is nothing in it to
	// protect, and refusing it would make the user reach for --overwrite.
	Create Mode = iota
	// Overwrite truncates the file and starts afresh. It refuses
	// (ErrNotResults) a non-empty file that is not a results CSV, so that a
	// mistyped path cannot wipe the input.
	Overwrite
	// Resume keeps the file, cuts a torn last line, appends, and loads the
	// resume state (Writer.Done). A missing or empty file starts a new one.
	Resume
)

func (m Mode) String() string {
	switch m {
	case Create:
		return "create"
	case Overwrite:
		return "overwrite"
	case Resume:
		return "resume"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Errors returned by Open, always wrapped with the path of the file.
var (
	// ErrExists: the results file exists and is not empty, and the mode
	// is Create. Nothing was changed.
	ErrExists = errors.New("exists and is not empty")
	// ErrLocked: another process (or another Writer) holds the file.
	ErrLocked = errors.New("in use by another run (locked)")
	// ErrNotResults: the existing file is not a results CSV: a wrong
	// header, or a malformed row on resume. Nothing was changed.
	ErrNotResults = errors.New("not a results CSV")
)

// Writer appends rows to a locked results CSV. Write and Close are meant
// for one goroutine (the run's single writer goroutine); a mutex still
// guards them so a stray concurrent Close cannot interleave with a Write.
type Writer struct {
	path string
	done *Done
	now  func() time.Time // time of rows with a zero FinishedAt; a field so tests can fix it

	mu     sync.Mutex
	f      *os.File
	unlock func() error
	off    int64 // end of the last whole row: where the next Write goes
	err    error // sticky: once a write failed the file is not trusted
	closed bool

	// Reused by every Write so that appending costs no allocation beyond
	// the numeric cells of each row.
	buf     bytes.Buffer
	csv     *csv.Writer
	record  [columns]string
	scratch []byte
}

// Open opens the results file at path in the given mode and locks it for
// the life of the Writer. The lock is non-blocking: a file held by another
// run fails at once with ErrLocked. The parent directory must exist.
//
// The file is opened without O_TRUNC and without O_APPEND: nothing is
// changed before the lock is held and the mode's checks have passed, and
// the file can be cut back (a torn line, Overwrite) through the same handle
// on every OS.
func Open(path string, mode Mode) (*Writer, error) {
	if mode != Create && mode != Overwrite && mode != Resume {
		return nil, fmt.Errorf("open results %q: unknown mode %d", path, int(mode))
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	// A pipe or device cannot be cut back or resumed, and WriteAt fails on
	// it anyway: say so plainly rather than with a seek error.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errors.New("not a regular file")
		}
		return nil, fmt.Errorf("results file %q: %w", path, err)
	}
	unlock, err := lockFile(f)
	if err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("results file %q: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock results file %q: %w", path, err)
	}
	w := &Writer{path: path, f: f, unlock: unlock, now: time.Now}
	w.csv = csv.NewWriter(&w.buf)
	if err := w.start(mode); err != nil {
		unlock()
		f.Close()
		return nil, err
	}
	return w, nil
}

// start applies the mode to the locked file and leaves w.off at its end.
func (w *Writer) start(mode Mode) error {
	fi, err := w.f.Stat()
	if err != nil {
		return fmt.Errorf("results file %q: %w", w.path, err)
	}
	size := fi.Size()
	switch mode {
	case Create:
		if size > 0 && !headerOnly(w.f, size) {
			return fmt.Errorf("results file %q: %w", w.path, ErrExists)
		}
	case Overwrite:
		if size > 0 {
			if err := checkHeader(w.f, w.path, size); err != nil {
				return err
			}
			if err := w.f.Truncate(0); err != nil {
				return fmt.Errorf("truncate results file %q: %w", w.path, err)
			}
		}
		size = 0
	case Resume:
		d, keep, err := load(w.f, w.path, size)
		if err != nil {
			return err
		}
		w.done = d
		if keep < size {
			// Only now, with the whole file read and found sound, is the
			// torn tail cut: a refused file stays byte for byte as it was.
			if err := w.f.Truncate(keep); err != nil {
				return fmt.Errorf("cut torn last line of results file %q: %w", w.path, err)
			}
		}
		size = keep
	}
	w.off = size
	if size == 0 {
		if err := w.writeAt([]byte(Header + "\n")); err != nil {
			return err
		}
	}
	return nil
}

// headerOnly reports whether f (size bytes) holds exactly a results header
// line and nothing else.
func headerOnly(f io.ReaderAt, size int64) bool {
	if size != int64(len(Header)+1) && size != int64(len(Header)+2) {
		return false
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil {
		return false
	}
	return string(b) == Header+"\n" || string(b) == Header+"\r\n"
}

// checkHeader refuses a file whose first line is not the results header.
// A file with no newline at all may be a torn header (a crash right after
// the file was created); it passes if it is a prefix of the header line.
func checkHeader(f io.ReaderAt, path string, size int64) error {
	const n = len(Header) + 8 // room for a BOM and a CR
	b := make([]byte, min(int64(n), size))
	got, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read results file %q: %w", path, err)
	}
	return headerError(path, b[:got], size)
}

// headerError reports whether first (the first bytes of a file of the given
// size) starts with the results header line, or is a torn prefix of it.
func headerError(path string, first []byte, size int64) error {
	first = bytes.TrimPrefix(first, []byte("\ufeff")) // a spreadsheet may add one
	line, _, hasNL := bytes.Cut(first, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if hasNL && string(line) == Header {
		return nil
	}
	if !hasNL && int64(len(first)) == size && strings.HasPrefix(Header+"\r", string(first)) {
		return nil // torn header
	}
	return fmt.Errorf("results file %q: %w: first line is %q, want %q",
		path, ErrNotResults, shorten(line, 80), Header)
}

func shorten(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// Write appends rows to the file in one write call, so that they reach the
// OS together (and a crash tears at most the last line). It checks every
// row first and writes none if one is malformed. Call it from one goroutine.
//
// After a failed write the file is cut back to its last whole row and every
// later Write returns the same error: the run must stop, and a resume picks
// up from what is on disk.
func (w *Writer) Write(rows []Result) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("write results file %q: %w", w.path, os.ErrClosed)
	}
	if w.err != nil {
		return w.err
	}
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		if err := check(&rows[i]); err != nil {
			return fmt.Errorf("write results file %q: row for line %d: %w", w.path, rows[i].Line, err)
		}
	}
	w.buf.Reset()
	now := w.now()
	for i := range rows {
		w.encode(&rows[i], now)
		// encoding/csv over a bytes.Buffer: it cannot fail, and it quotes
		// exactly what RFC 4180 needs. It is used rather than gocsv's
		// MarshalCSV because rows are append-only with a fixed layout:
		// no reflection, no header logic, and the cells are ours to
		// sanitise before quoting.
		w.csv.Write(w.record[:])
	}
	w.csv.Flush()
	if err := w.writeAt(w.buf.Bytes()); err != nil {
		w.err = err
		return err
	}
	return nil
}

// writeAt writes b at the end of the last whole row. On failure it cuts
// off whatever part of b reached the file, so no torn row is left between
// whole ones.
func (w *Writer) writeAt(b []byte) error {
	n, err := w.f.WriteAt(b, w.off)
	if err != nil {
		err = fmt.Errorf("write results file %q: %w", w.path, err)
		// Cut back whatever the failed call wrote, whatever n says: a
		// pwrite that fails part way may report 0 bytes written.
		if terr := w.f.Truncate(w.off); terr != nil {
			err = fmt.Errorf("%w (and cutting the partial row failed: %v)", err, terr)
		}
		return err
	}
	w.off += int64(n)
	return nil
}

// check refuses rows that would break the contract in a way the file
// could not be read back from (a resume would then refuse the whole file).
func check(r *Result) error {
	switch r.Status {
	case StatusSuccess, StatusFailed, StatusInvalid:
	default:
		return fmt.Errorf("status %q is not success, failed or invalid", string(r.Status))
	}
	if r.Line < 1 || uint64(r.Line) > maxLine {
		return fmt.Errorf("line %d is not a line number", r.Line)
	}
	if r.HTTPStatus < 0 || r.HTTPStatus > 999 {
		return fmt.Errorf("http status %d out of range", r.HTTPStatus)
	}
	if r.Attempts < 0 {
		return fmt.Errorf("attempts %d is negative", r.Attempts)
	}
	if r.Fingerprint == "" {
		if r.Status == StatusSuccess {
			return errors.New("success without a fingerprint")
		}
		return nil
	}
	if _, ok := parseFingerprint(r.Fingerprint); !ok {
		return fmt.Errorf("fingerprint %q is not 16 lowercase hex digits", r.Fingerprint)
	}
	return nil
}

// encode fills w.record with the cells of r. The numeric and time cells
// are formatted into one scratch buffer and turned into a single string,
// sliced per cell: one allocation per row instead of four.
func (w *Writer) encode(r *Result, now time.Time) {
	s := w.scratch[:0]
	s = strconv.AppendInt(s, int64(r.Line), 10)
	endLine := len(s)
	if r.HTTPStatus != 0 {
		s = strconv.AppendInt(s, int64(r.HTTPStatus), 10)
	}
	endHTTP := len(s)
	s = strconv.AppendInt(s, int64(r.Attempts), 10)
	endAttempts := len(s)
	t := r.FinishedAt
	if t.IsZero() {
		t = now
	}
	s = t.UTC().AppendFormat(s, TimeFormat)
	w.scratch = s
	cells := string(s)

	msg := r.Message
	if msg == "" && r.Status != StatusSuccess {
		msg = noMessage
	}
	w.record = [columns]string{
		inert(r.TicketID),
		string(r.Status),
		inert(msg),
		cells[:endLine],
		cells[endLine:endHTTP],
		cells[endHTTP:endAttempts],
		cells[endAttempts:],
		r.Fingerprint,
	}
}

// maxCell bounds a text cell in bytes: a spreadsheet cell holds at most
// 32,767 characters, and a longer one (an HTML error page) is cut there
// anyway, by the spreadsheet, without saying so.
const maxCell = 32000

// inert makes a text cell safe to open in a spreadsheet and keeps it on
// one line:
//   - CR and LF become spaces: every row stays one physical line, so the
//     torn-line repair on resume can cut at the last newline;
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

// Close syncs the file to disk, unlocks and closes it. A second Close
// returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	if err := w.f.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("sync results file %q: %w", w.path, err))
	}
	if err := w.unlock(); err != nil {
		errs = append(errs, fmt.Errorf("unlock results file %q: %w", w.path, err))
	}
	if err := w.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close results file %q: %w", w.path, err))
	}
	return errors.Join(errs...)
}

// Done returns the resume state loaded by Open in Resume mode, nil in the
// other modes. It describes the file as it was at Open; Writes do not
// change it.
func (w *Writer) Done() *Done { return w.done }

// Path returns the path given to Open.
func (w *Writer) Path() string { return w.path }
