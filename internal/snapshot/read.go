package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Read calls fn for every entry of the snapshot at path, in file order,
// and returns fn's first error. A ticket's first row is its entry: a later
// row of the same ticket (two snapshots pasted together) is skipped. A
// torn last line (a crash in mid-write) is not read. It refuses, naming
// the line and column, a file that is not a snapshot (ErrNotSnapshot) or
// whose rows are of several APIs (ErrOtherAPI).
func Read(path string, fn func(Entry) error) error {
	f, fi, err := openRead(path)
	if err != nil {
		return err
	}
	defer f.Close()
	keep, err := writer.LastNewline(f, fi.Size())
	if err != nil {
		return fmt.Errorf("read snapshot %q: %w", path, err)
	}
	seen := ids{}
	_, err = scan(io.NewSectionReader(f, 0, keep), path, func(e Entry) error {
		if seen.has(e.Ticket.ID) {
			return nil
		}
		seen.add(e.Ticket.ID)
		return fn(e)
	})
	return err
}

// openRead opens the snapshot at path for reading; anything but a regular
// file is refused before it is opened, so that a FIFO cannot block.
func openRead(path string) (*os.File, os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open snapshot: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("snapshot %q: %w", path, writer.NotRegular(fi))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open snapshot: %w", err)
	}
	return f, fi, nil
}

// maxRawRecord bounds a row of a snapshot with the raw column: a read is
// at most 1.25 MiB (the engine's bound for one ticket), and as masked
// JSON in a CSV cell whose quotes are doubled it stays under 3 MiB. A
// snapshot without it has the input's bound, reader.MaxRecordBytes.
const maxRawRecord = 4 << 20

// scan reads a snapshot's whole lines from r (named path in errors) and
// calls fn with every row's entry; raw says the file has the raw column.
// An empty r is a snapshot with no rows. It reads as an input is read
// (reader.Records): its limits, and its wording of a broken file.
func scan(r io.Reader, path string, fn func(Entry) error) (raw bool, err error) {
	cr, err := reader.OpenRecords(r, reader.Options{Name: path, Delimiter: ','}, "a snapshot (kapture-bulk snapshot --out, run --backup)")
	if err != nil {
		return false, notSnapshotErr(err)
	}
	head, _, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, notSnapshotErr(err)
	}
	want := columns
	switch line := join(head); line {
	case Header:
	case Header + "," + RawColumn:
		raw, want = true, columns+1
		cr.SetMaxRecord(maxRawRecord)
	default:
		return false, fmt.Errorf("%s: %w: its first line is %.80q, want %q", path, ErrNotSnapshot, line, Header)
	}
	api, apiLine := "", 0
	for {
		rec, line, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return raw, nil
		}
		if err != nil {
			return raw, notSnapshotErr(err)
		}
		if len(rec) != want {
			return raw, notSnapshot(path, line, 0, fmt.Sprintf("%d cells, want %d", len(rec), want))
		}
		e, err := parseRecord(rec, line)
		var ce *cellError
		if errors.As(err, &ce) {
			return raw, notSnapshot(path, line, ce.col, ce.msg)
		}
		if apiLine == 0 {
			api, apiLine = e.API, line
		} else if e.API != api {
			return raw, fmt.Errorf("%s:%d: %w: api %q, but %q on line %d", path, line, ErrOtherAPI, e.API, api, apiLine)
		}
		if err := fn(e); err != nil {
			return raw, err
		}
	}
}

// join is a header line as its cells say it.
func join(cells []string) string {
	var b bytes.Buffer
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c)
	}
	return b.String()
}

// notSnapshotErr marks a file the reader refused (a syntax error, a
// record over the limits, no text) as ErrNotSnapshot too.
func notSnapshotErr(err error) error {
	var fe *reader.FileError
	if errors.As(err, &fe) {
		return fmt.Errorf("%w (%w)", err, ErrNotSnapshot)
	}
	return fmt.Errorf("snapshot: %w", err)
}

// notSnapshot refuses a file whose line cannot be a snapshot's: a
// *reader.FileError naming where, that is also ErrNotSnapshot.
func notSnapshot(path string, line, col int, msg string) error {
	return fmt.Errorf("%w (%w)", &reader.FileError{Name: path, Line: line, Column: col, Msg: msg}, ErrNotSnapshot)
}

// ids is a set of ticket ids, by their hash (rowkey.TicketHash): about 10
// bytes a ticket rather than 50. Two of a million tickets share a hash
// with odds of about one in 30 million; the later one is then taken as
// read already.
type ids map[uint64]struct{}

func (s ids) has(id string) bool { _, ok := s[rowkey.TicketHash(id)]; return ok }
func (s ids) add(id string)      { s[rowkey.TicketHash(id)] = struct{}{} }
