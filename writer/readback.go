package writer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Reading a results file back: for a resume (ReadBack, through the open
// Writer), and for a look that changes nothing (ReadFile, TornRowOf).

// ReadBack calls fn for every whole row of a file opened in Resume mode,
// in the order they were appended (see ReadRows), and counts them; the
// torn last line, if any, is not read. Call it once, before Write.
func (w *Writer) ReadBack(fn func(Row) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mode != Resume || w.read {
		return fmt.Errorf("results file %q: ReadBack only once, in Resume mode", w.path)
	}
	w.read = true
	count := func(r Row) error {
		w.rows++
		return fn(r)
	}
	return ReadRows(io.NewSectionReader(w.f, 0, w.off), w.path, count)
}

// Size returns the bytes of the file's whole rows, header included: what
// ReadBack reads.
func (w *Writer) Size() int64 { return w.off }

// TornRow returns what can still be read of a torn last line of a file
// opened in Resume mode: its ticket_id and line cells where they are whole
// (a comma follows them), Damaged saying it is torn. ok is false when the
// file ended cleanly. A resume takes the line's ticket as one something was
// recorded for: a crash tore the write of a result.
func (w *Writer) TornRow() (row Row, ok bool) {
	if w.torn == 0 {
		return Row{}, false
	}
	return tornRow(w.f, w.off, w.torn), true
}

// TornRowOf is TornRow for the results file at path, read without locking
// or changing it, with the bytes of the torn line: 0 for a missing file or
// one that ends cleanly.
func TornRowOf(path string) (row Row, torn int64, err error) {
	f, fi, err := OpenRead(path)
	if errors.Is(err, os.ErrNotExist) {
		return Row{}, 0, nil
	}
	if err != nil {
		return Row{}, 0, err
	}
	defer f.Close()
	keep, err := LastNewline(f, fi.Size())
	if err != nil || keep == 0 || keep == fi.Size() {
		return Row{}, 0, err
	}
	return tornRow(f, keep, fi.Size()-keep), fi.Size() - keep, nil
}

// tornRow reads the whole cells at the start of the torn tail of n bytes
// at off.
func tornRow(f io.ReaderAt, off, n int64) Row {
	b := make([]byte, min(n, 4<<10))
	got, _ := f.ReadAt(b, off)
	b = b[:got]
	row := Row{Damaged: "torn last line"}
	var cells [columns][]byte
	// Only cells a comma closes are whole: drop what follows the last one.
	if i := bytes.LastIndexByte(b, ','); i >= 0 {
		if n, ok := splitCells(b[:i], cells[:]); ok {
			if n >= 1 {
				row.TicketID = string(cells[0])
			}
			if n >= 4 {
				row.Line, _ = parseLine(cells[3])
			}
		}
	}
	return row
}

// TornBytes returns how many bytes of a torn last line (a crash mid-write)
// a resume found; the first Write cuts them off. 0 when the file ended
// cleanly.
func (w *Writer) TornBytes() int64 { return w.torn }

// LastNewline returns the offset just past the last '\n' of f (size bytes
// long), or 0 when there is none. It reads backwards in blocks, so a clean
// file costs one small read.
func LastNewline(f io.ReaderAt, size int64) (int64, error) {
	const block = 64 << 10
	buf := make([]byte, block)
	for end := size; end > 0; {
		start := max(end-block, 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// ReadFile reads the rows of the results file at path, as ReadBack does,
// without locking or changing it: a dry run's look at what a resume would
// send. A torn last line is not read; a missing file has no rows.
func ReadFile(path string, fn func(Row) error) error {
	f, fi, err := OpenRead(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if fi.Size() > 0 {
		if err := checkHeader(f, path, fi.Size()); err != nil {
			return err
		}
	}
	keep, err := LastNewline(f, fi.Size())
	if err != nil {
		return fmt.Errorf("read results file %q: %w", path, err)
	}
	return ReadRows(io.NewSectionReader(f, 0, keep), path, fn)
}
