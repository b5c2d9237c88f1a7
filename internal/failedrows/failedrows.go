// Package failedrows writes rows of an input back in the input's own
// columns, with an error column saying why each is there: report's
// --failed-rows (the rows not done) and verify's --differs (the rows of
// the tickets that differ). The file is an input again: fixed or not, it
// runs.
package failedrows

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// ErrorColumn is the column the file adds after the input's own: why the
// row is in the file. A run leaves it out, even with all extra columns
// sent.
const ErrorColumn = reader.ReportErrorColumn

// Rows says which rows of an input to write, in input order.
type Rows interface {
	Len() int
	// Ordinal returns the i-th row's ordinal among the input's data rows
	// (0 for the first); it grows with i.
	Ordinal(i int) int
	// Message returns the error cell of the i-th row, read again as rec.
	Message(i int, rec reader.Record) (string, error)
}

// Write reads the input again from in (opts.Name names it), keeping
// every row's cells as found, and writes to out the rows rows lists: the input's own
// header cells, delimiter and row cells, and a last column error. A run
// of the file leaves the error column out, as it leaves out any column it
// does not know. An input that has an error column already (a failed rows
// file, fixed and run) gets its cells replaced, not a second one. A cell a
// spreadsheet would run as a formula gets a leading ' (reader.EscapeCell),
// which the reader takes off again when the file is run. The file is
// UTF-8 with a BOM, so that a spreadsheet shows its characters right
// (whatever encoding the input was in; the reader takes the BOM). It
// returns how many rows it wrote; a row to write that the input no
// longer has is reader.ErrChanged.
func Write(out io.Writer, in io.Reader, opts reader.Options, rows Rows) (int64, error) {
	opts.KeepRaw = true
	rd, err := reader.Open(in, opts)
	if err != nil {
		return 0, err
	}
	header, own, errCol := layout(rd)
	bw := bufio.NewWriter(out)
	cw := writeHeader(bw, header, rd.Delimiter())
	var n int64
	for i, ordinal := 0, 0; i < rows.Len(); ordinal++ {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return n, fmt.Errorf("%s: %w: read again, it has not %s to write", opts.Name, reader.ErrChanged, plural.Of(rows.Len()-i, "row", "rows"))
		}
		if err != nil {
			return n, err
		}
		if rows.Ordinal(i) != ordinal {
			continue
		}
		if rec.Raw == nil {
			return n, fmt.Errorf("%s:%d: the row's cells could not be kept to write them", opts.Name, rec.Line)
		}
		msg, err := rows.Message(i, rec)
		if err != nil {
			return n, err
		}
		i++
		cw.Write(escaped(failedRow(rec.Raw, own, errCol, msg)))
		n++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("write failed rows: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write failed rows: %w", err)
	}
	return n, nil
}

// FirstLine returns the file's start that Write writes for the input at
// path read with opts, up to and with the newline after the header: a
// file that starts so is one Write wrote for this input (or an input of
// the same header).
func FirstLine(path string, opts reader.Options) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	defer fh.Close()
	opts.KeepRaw = true
	rd, err := reader.Open(fh, opts)
	if err != nil {
		return nil, err
	}
	header, _, _ := layout(rd)
	var b bytes.Buffer
	cw := writeHeader(&b, header, rd.Delimiter())
	cw.Flush()
	return b.Bytes(), cw.Error()
}

// layout returns the file's header for the input rd reads (its own
// cells, and the error column unless it has one), how many of its
// columns are the input's, and where the error column is.
func layout(rd *reader.Reader) (header []string, own, errCol int) {
	header = rd.RawHeader()
	own = len(header) // the input's columns before ours
	errCol = -1
	for i, h := range header {
		if reader.NormalizeName(h) == ErrorColumn {
			errCol = i
		}
	}
	if errCol < 0 {
		errCol = len(header)
		header = append(header, ErrorColumn)
	}
	return header, own, errCol
}

// writeHeader starts the file on w: the BOM and the header, in the
// input's delimiter; the csv.Writer writes the rows after it.
func writeHeader(w io.Writer, header []string, delimiter rune) *csv.Writer {
	io.WriteString(w, "\ufeff")
	cw := csv.NewWriter(w)
	cw.Comma = delimiter
	cw.Write(escaped(header))
	return cw
}

// escaped returns cells with the ' of reader.EscapeCell where a
// spreadsheet would run one as a formula: the file is meant to be opened
// in one, and the reader takes the ' off when the file is run.
func escaped(cells []string) []string {
	for i, c := range cells {
		cells[i] = reader.EscapeCell(c)
	}
	return cells
}

// failedRow returns a row's cells for the file: its own cells, a short row
// padded to the header's own columns, and msg in the error column. A row
// longer than the header keeps its extra cells, with msg after them,
// unless the header has its own error column.
func failedRow(raw []string, own, errCol int, msg string) []string {
	cells := make([]string, max(len(raw), own), max(len(raw), own)+1)
	copy(cells, raw)
	if errCol < own {
		cells[errCol] = msg
		return cells
	}
	return append(cells, msg)
}
