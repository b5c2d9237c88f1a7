// Package writer owns the results CSV: it creates, overwrites or resumes
// it, keeps it locked while in use, appends one row per finished input row,
// reads its rows back for a resume, and keeps the in-flight journal beside
// it.
//
// File format:
//
//   - UTF-8 without BOM, comma-separated, LF line endings, quoted as
//     encoding/csv quotes (RFC 4180).
//   - Header, exactly: ticket_id,status,message,line,http_status,attempts,finished_at,fingerprint
//   - Every row is one physical line: CR and LF inside a cell are written
//     as a space, so that a crash can only tear the last line and a
//     damaged line is one damaged row.
//   - A text cell a spreadsheet would run as a formula (first character
//     = + - @, tab or CR) gets a leading single quote; invalid UTF-8
//     becomes U+FFFD; a cell is cut to 32000 bytes (see inert).
//   - An empty message on a failed or invalid row is written as
//     "(no message)".
//   - http_status is empty when no response was received; attempts is 0 for
//     rows never sent; finished_at is RFC 3339 in UTC with milliseconds
//     (2006-01-02T15:04:05.000Z): fixed width, and it sorts as text.
//   - fingerprint is the row's key (package rowkey): k<16 hex>.<16 hex>,
//     with .<n> for a repeated row; empty for an invalid row.
//   - Reading back (ReadRows) needs only status, line and fingerprint, and
//     reads every line on its own: a file a spreadsheet re-saved (CRLF, a
//     BOM, 7.13517E+11 ticket ids, local dates) resumes, and a line that
//     cannot be read costs only its own row.
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
	"sync"
	"time"
)

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
	// Resume keeps the file and appends to it; ReadBack reads its rows
	// and InFlight the journal a killed run left. A torn last line is cut
	// at the first Write, so that a resume refused after reading the file
	// leaves it byte for byte as it was. A missing or empty file starts a
	// new one.
	Resume
)

// Errors returned by Open, always wrapped with the path of the file.
var (
	// ErrExists: the results file exists and is not empty, and the mode
	// is Create. Nothing was changed.
	ErrExists = errors.New("exists and is not empty")
	// ErrLocked: another process (or another Writer) holds the file.
	ErrLocked = errors.New("in use by another run (locked)")
	// ErrNotResults: the existing file is not a results CSV (its header is
	// not the results header). Nothing was changed.
	ErrNotResults = errors.New("not a results CSV")
)

// Writer appends rows to a locked results CSV and keeps its in-flight
// journal. Its methods are meant for one goroutine (the run's single
// writer goroutine); a mutex still guards them so a stray concurrent Close
// cannot interleave with a Write.
type Writer struct {
	path string
	mode Mode
	now  func() time.Time // time of rows with a zero FinishedAt; a field so tests can fix it

	mu     sync.Mutex
	f      *os.File
	unlock func() error
	off    int64 // end of the last whole row: where the next Write goes
	torn   int64 // bytes of a torn last line past off, cut at the first Write
	rows   int   // rows in the file (known after ReadBack in Resume mode)
	read   bool  // ReadBack ran
	jnl    *journal
	err    error // sticky: once a write failed the file is not trusted
	closed bool

	// Reused by every Write so that appending costs no allocation beyond
	// the numeric cells of each row.
	buf     bytes.Buffer
	csv     *csv.Writer
	record  [columns]string
	scratch []byte
	// The last finished_at formatted: a payload's rows share one.
	lastTime     time.Time
	lastTimeText []byte
}

// Open opens the results file at path in the given mode and locks it for
// the life of the Writer. The lock is non-blocking: a file held by another
// run fails at once with ErrLocked. The parent directory must exist.
//
// The file is opened without O_TRUNC and without O_APPEND: nothing is
// changed before the lock is held and the mode's checks have passed, and
// the file can be cut back (a torn line, Overwrite) through the same handle
// on every OS. A journal left beside the file by an earlier run is
// removed in Create and Overwrite mode, and in Resume mode when the file is
// new or empty: what it says is about rows this run does not resume.
func Open(path string, mode Mode) (*Writer, error) {
	if mode != Create && mode != Overwrite && mode != Resume {
		return nil, fmt.Errorf("open results %q: unknown mode %d", path, int(mode))
	}
	f, unlock, err := OpenLocked(path, "results", 0o644)
	if err != nil {
		return nil, err
	}
	w := &Writer{path: path, mode: mode, f: f, unlock: unlock, now: time.Now}
	w.csv = csv.NewWriter(&w.buf)
	if err := w.start(mode); err != nil {
		unlock()
		f.Close()
		return nil, err
	}
	return w, nil
}

// start applies the mode to the locked file and leaves w.off at the end of
// its last whole row.
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
		if size > 0 {
			if err := checkHeader(w.f, w.path, size); err != nil {
				return err
			}
		}
		keep, err := LastNewline(w.f, size)
		if err != nil {
			return fmt.Errorf("read results file %q: %w", w.path, err)
		}
		if keep == 0 && size > 0 {
			// Only a torn header: nothing to keep or protect.
			if err := w.f.Truncate(0); err != nil {
				return fmt.Errorf("cut torn header of results file %q: %w", w.path, err)
			}
		} else {
			w.torn = size - keep
		}
		size = keep
	}
	if mode != Resume || size == 0 {
		// A journal beside a file that starts afresh (or that a person
		// deleted) speaks of rows this run does not resume.
		if err := os.Remove(JournalPath(w.path)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale in-flight journal: %w", err)
		}
	}
	w.off = size
	if size == 0 {
		return w.writeAt([]byte(Header + "\n"))
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

// Rows returns the number of rows in the file: those ReadBack read (in
// Resume mode) plus those written since.
func (w *Writer) Rows() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rows
}

// Write appends rows to the file in one write call, so that they reach the
// OS together (and a crash tears at most the last line), then drops them
// from the in-flight journal. It checks every row first and writes none if
// one is malformed.
//
// After a failed write the file is cut back to its last whole row and every
// later Write returns the same error: the run must stop, and a resume picks
// up from what is on disk.
func (w *Writer) Write(rows []Result) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil || len(rows) == 0 {
		return err
	}
	for i := range rows {
		if err := check(&rows[i]); err != nil {
			return fmt.Errorf("write results file %q: row for line %d: %w", w.path, rows[i].Line, err)
		}
	}
	if w.torn > 0 {
		if err := w.f.Truncate(w.off); err != nil {
			w.err = fmt.Errorf("cut torn last line of results file %q: %w", w.path, err)
			return w.err
		}
		w.torn = 0
	}
	w.buf.Reset()
	now := w.now()
	for i := range rows {
		w.encode(&rows[i], now)
		// encoding/csv over a bytes.Buffer cannot fail, and it quotes
		// exactly what RFC 4180 needs; the cells are ours to sanitise
		// before quoting.
		w.csv.Write(w.record[:])
	}
	w.csv.Flush()
	if err := w.writeAt(w.buf.Bytes()); err != nil {
		w.err = err
		return err
	}
	w.rows += len(rows)
	if w.jnl != nil {
		w.jnl.done(rows)
	}
	return nil
}

func (w *Writer) usable() error {
	if w.closed {
		return fmt.Errorf("write results file %q: %w", w.path, os.ErrClosed)
	}
	return w.err
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

// encode fills w.record with the cells of r. The numeric, time and key
// cells are formatted into one scratch buffer and turned into a single
// string, sliced per cell: one allocation per row instead of five.
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
	if !t.Equal(w.lastTime) || w.lastTimeText == nil {
		w.lastTime = t
		w.lastTimeText = t.UTC().AppendFormat(w.lastTimeText[:0], timeFormat)
	}
	s = append(s, w.lastTimeText...)
	endTime := len(s)
	if !r.Key.IsZero() {
		s = r.Key.Append(s) // the key is formatted here, as it is written, and only here
	}
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
		cells[endAttempts:endTime],
		cells[endTime:],
	}
}

// Close syncs the file to disk, unlocks and closes it. It removes the
// in-flight journal when no row is in flight any more (a run that stopped
// at once may leave requests whose outcome it never learnt: their rows
// stay in the journal for the next resume). A second Close returns nil.
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
	if w.jnl != nil {
		empty := w.jnl.empty() && w.err == nil
		if err := w.jnl.close(); err != nil {
			errs = append(errs, err)
		}
		if empty {
			if err := os.Remove(JournalPath(w.path)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove in-flight journal: %w", err))
			}
		}
	}
	if err := w.unlock(); err != nil {
		errs = append(errs, fmt.Errorf("unlock results file %q: %w", w.path, err))
	}
	if err := w.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close results file %q: %w", w.path, err))
	}
	return errors.Join(errs...)
}

// InFlight returns the rows the journal beside a file opened in Resume
// mode lists as in flight: a run was killed (or stopped at once) before
// their results were written. It returns none for a missing journal, and
// none with an error wrapping errJournal for one that is not a journal
// (the caller warns and goes on: nothing reliable can be read from it).
func (w *Writer) InFlight() ([]InFlight, error) {
	if w.mode != Resume {
		return nil, nil
	}
	return ReadInFlight(w.path)
}

// IsUnreadableJournal reports whether err says the journal file is not one.
func IsUnreadableJournal(err error) bool { return errors.Is(err, errJournal) }

// StartJournal starts this run's in-flight journal (replacing one a killed
// run left, which the caller has read with InFlight and recorded) for
// senders senders of at most rows rows in flight each.
func (w *Writer) StartJournal(senders, rows int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if w.jnl != nil {
		return errors.New("in-flight journal already started")
	}
	j, err := openJournal(JournalPath(w.path), senders, rows)
	if err != nil {
		return err
	}
	w.jnl = j
	return nil
}

// Sending records rows as in flight for sender before their request
// leaves. It returns once the journal holds them (as far as the OS is
// concerned), so that a kill afterwards cannot hide the request.
func (w *Writer) Sending(sender int, rows []InFlight) error {
	return w.withJournal(func(j *journal) error { return j.add(sender, rows, w.rows) })
}

// ReadInFlight returns the rows the journal beside the results file at
// path lists as in flight, without changing it (see InFlight).
func ReadInFlight(path string) ([]InFlight, error) { return readJournal(JournalPath(path)) }
