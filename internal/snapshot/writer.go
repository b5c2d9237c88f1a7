package snapshot

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Writer appends entries to a snapshot, locked for the life of the
// Writer. It is safe for concurrent use: a run's workers ask Has and Add
// from several goroutines.
type Writer struct {
	path string
	api  string
	raw  bool // the file has the raw column

	mu     sync.Mutex
	f      *os.File
	unlock func() error
	off    int64 // end of the last whole row: where the next Add goes
	torn   int64 // bytes of a torn last line past off, cut at the first Add
	has    marks
	err    error // sticky: once a write failed the file is not trusted
	closed bool
}

// Open opens the snapshot at path for appending entries read from api,
// creating it (mode 0600) when missing, and locks it (a file another
// Writer holds fails at once, wrapping writer.ErrLocked). It refuses a
// file that is not a snapshot (ErrNotSnapshot) and one of another API
// (ErrOtherAPI), leaving it as it was; an existing file readable by others
// is made 0600. Has then says which tickets it holds: their first read is
// kept, across any number of runs. A file opened with OpenRaw keeps raw
// cells empty when opened with Open.
func Open(path, api string) (*Writer, error) { return open(path, api, false) }

// OpenRaw is Open for a snapshot with the raw column: the reads' elements,
// customer data masked. A snapshot started without it is refused
// (ErrNoRaw).
func OpenRaw(path, api string) (*Writer, error) { return open(path, api, true) }

func open(path, api string, raw bool) (*Writer, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("snapshot file %q: %w", path, writer.NotRegular(fi)) // before an open that may block
	}
	f, unlock, err := writer.OpenLocked(path, "snapshot", 0o600)
	if err != nil {
		return nil, err
	}
	w := &Writer{path: path, api: api, f: f, unlock: unlock, has: marks{}}
	if err := w.start(raw); err != nil {
		unlock()
		f.Close()
		return nil, err
	}
	return w, nil
}

// start reads what the locked file holds, checks it, and leaves w.off at
// the end of its last whole row; a new or empty file gets the header.
func (w *Writer) start(raw bool) error {
	fi, err := w.f.Stat()
	if err != nil {
		return fmt.Errorf("snapshot %q: %w", w.path, err)
	}
	size := fi.Size()
	keep, err := writer.LastNewline(w.f, size)
	if err != nil {
		return fmt.Errorf("read snapshot %q: %w", w.path, err)
	}
	if keep == 0 && size > 0 && !tornHeader(w.f, size) {
		return fmt.Errorf("%s: %w: it holds no whole line", w.path, ErrNotSnapshot)
	}
	if keep > 0 {
		if w.raw, err = w.readBack(keep); err != nil {
			return err
		}
		if raw && !w.raw {
			return fmt.Errorf("snapshot %q %w: give another file to keep the raw reads", w.path, ErrNoRaw)
		}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := w.f.Chmod(0o600); err != nil {
			return fmt.Errorf("snapshot %q: make it 0600: %w", w.path, err)
		}
	}
	w.off, w.torn = keep, size-keep
	if keep == 0 {
		// New, empty, or only a torn header: nothing to keep.
		w.raw = raw
		head := Header
		if raw {
			head += "," + RawColumn
		}
		w.torn = size
		return w.write([]byte(head + "\n"))
	}
	return nil
}

// readBack reads the file's whole rows (keep bytes): the tickets it holds,
// and whether it is of w's API.
func (w *Writer) readBack(keep int64) (raw bool, err error) {
	return scan(io.NewSectionReader(w.f, 0, keep), w.path, func(e Entry) error {
		if e.API != w.api {
			return fmt.Errorf("%s:%d: %w: %s, not %s", w.path, e.Line, ErrOtherAPI, e.API, w.api)
		}
		w.has.add(e.Ticket.ID, heldBefore|absentIf(e.Ticket.Found))
		return nil
	})
}

// tornHeader reports whether f (size bytes, no newline) is the start of a
// header line: a crash right after the file was made.
func tornHeader(f io.ReaderAt, size int64) bool {
	if size > int64(len(Header)+len(RawColumn)+2) {
		return false
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	return strings.HasPrefix(Header+","+RawColumn, string(b))
}

// Has reports whether the snapshot holds ticket id (a read of it was
// kept, by this Writer or before).
func (w *Writer) Has(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.has.get(id)
	return ok
}

// Len returns how many tickets the snapshot holds.
func (w *Writer) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.has)
}

// mark returns what the snapshot holds of ticket id: ok false when no
// read of it.
func (w *Writer) mark(id string) (m mark, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.has.get(id)
}

// Add appends the entries of the tickets the snapshot does not hold yet
// (of several entries of one ticket, the first), in one write call, then
// syncs the file: a pre-image must outlast a power cut that the update
// sent after it survives. An entry of another API, or without a ticket
// id, fails the whole call and writes nothing. After a failed write the
// file is cut back to its last whole row and every later Add fails.
func (w *Writer) Add(es []Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("write snapshot %q: %w", w.path, os.ErrClosed)
	}
	if w.err != nil {
		return w.err
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	added := marks{}
	for i := range es {
		e := &es[i]
		switch {
		case e.Ticket.ID == "":
			return fmt.Errorf("write snapshot %q: an entry without a ticket id", w.path)
		case e.API != "" && e.API != w.api:
			return fmt.Errorf("write snapshot %q: ticket %s: %w (%s, not %s)", w.path, e.Ticket.ID, ErrOtherAPI, e.API, w.api)
		case w.has.holds(e.Ticket.ID) || added.holds(e.Ticket.ID):
			continue
		}
		added.add(e.Ticket.ID, absentIf(e.Ticket.Found))
		cw.Write(e.record(w.api, w.raw)) // into a bytes.Buffer: cannot fail
	}
	if len(added) == 0 {
		return nil
	}
	cw.Flush()
	if err := w.write(buf.Bytes()); err != nil {
		w.err = err
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.err = fmt.Errorf("sync snapshot %q: %w", w.path, err)
		return w.err
	}
	for h, m := range added {
		w.has[h] = m
	}
	return nil
}

// write writes b at the end of the last whole row, after cutting a torn
// line; on failure it cuts off whatever part of b reached the file.
func (w *Writer) write(b []byte) error {
	if w.torn > 0 {
		if err := w.f.Truncate(w.off); err != nil {
			return fmt.Errorf("cut the torn last line of snapshot %q: %w", w.path, err)
		}
		w.torn = 0
	}
	n, err := w.f.WriteAt(b, w.off)
	if err != nil {
		err = fmt.Errorf("write snapshot %q: %w", w.path, err)
		if terr := w.f.Truncate(w.off); terr != nil {
			err = fmt.Errorf("%w (and cutting the partial row failed: %v)", err, terr)
		}
		return err
	}
	w.off += int64(n)
	return nil
}

// Close syncs, unlocks and closes the file. A second Close returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return errors.Join(w.f.Sync(), w.unlock(), w.f.Close())
}

// mark is what a snapshot holds of a ticket, besides its row.
type mark uint8

const (
	heldBefore mark = 1 << iota // the file held it when the Writer opened it
	heldAbsent                  // the read did not show the ticket (found false)
)

// absentIf is heldAbsent for a ticket not found.
func absentIf(found bool) mark {
	if found {
		return 0
	}
	return heldAbsent
}

// marks is ids with a mark per ticket (as small: a byte more a ticket).
type marks map[uint64]mark

func (s marks) get(id string) (mark, bool) { m, ok := s[rowkey.TicketHash(id)]; return m, ok }
func (s marks) holds(id string) bool       { _, ok := s[rowkey.TicketHash(id)]; return ok }
func (s marks) add(id string, m mark)      { s[rowkey.TicketHash(id)] = m }
