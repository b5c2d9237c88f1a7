package reader

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Records reads a CSV file of kapture-bulk's own kinds (a names file, a
// snapshot, a results CSV) a record at a time, through an input's
// pipeline: a file that is no text refused by its first bytes, the BOM
// and UTF-16 decoded, any line ends, the delimiter given or detected, the
// limits (MaxRecordBytes a record, MaxColumns in the header) and a CSV
// syntax error said as an input's are: a *FileError naming the file, the
// line and the column. It knows nothing of the columns; records may be
// ragged. It is not safe for concurrent use.
type Records struct {
	src   *source
	prev  int64    // input offset where the previous record ended
	names []string // the header's cells, for column names in messages
}

// OpenRecords starts reading r, named opts.Name in messages, read with
// opts.Delimiter (0: detected) and opts.Encoding; kind is what the file
// should be ("a names file"), for the message that refuses a file that is
// no text. It reads nothing but the start of the file.
func OpenRecords(r io.Reader, opts Options, kind string) (*Records, error) {
	opts.kind = kind
	src, err := newSource(r, opts)
	if err != nil {
		return nil, err
	}
	src.csv.FieldsPerRecord = -1
	return &Records{src: src}, nil
}

// Read returns the next record (the header first) and the physical line
// on which it starts. The record's slice is reused by the next Read; its
// strings are not. At the end it returns io.EOF; a syntax error or a
// record over the limits is a *FileError, and the stream stops there.
func (r *Records) Read() ([]string, int, error) {
	r.src.tee.keep = r.prev
	rec, err := r.src.csv.Read()
	if err != nil {
		return nil, 0, r.explain(err)
	}
	line, _ := r.src.csv.FieldPos(0)
	if r.names == nil {
		r.names = slices.Clone(rec)
	}
	r.prev = r.src.csv.InputOffset()
	return rec, line + r.src.lineOffset, nil
}

// SetMaxRecord bounds the records after the header at n bytes rather
// than MaxRecordBytes: a file whose rows may hold more (a snapshot's raw
// column, a read of up to 1.25 MiB, its quotes doubled). Called after
// the header, before the next Read.
func (r *Records) SetMaxRecord(n int) { r.src.guard.max = n }

// explain turns encoding/csv's error into an input's wording.
func (r *Records) explain(err error) error {
	var (
		pe *csv.ParseError
		le *limitError
	)
	switch {
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.As(err, &le):
		return r.src.limitFileError(le, r.prev, r.names)
	case errors.As(err, &pe):
		return r.src.syntaxError(pe, r.prev, r.names)
	}
	return fmt.Errorf("read %s: %w", r.src.name, err)
}
