package report

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// ErrorColumn is the column the failed rows file adds after the input's
// own: why the row is in the file. A run leaves it out, even with all
// extra columns sent.
const ErrorColumn = reader.ReportErrorColumn

// writeFailedRows reads the input again, keeping every row's cells as
// found, and writes to opts.FailedRows the rows failing lists (by ordinal
// among the data rows), in input order: the input's own header cells,
// delimiter and row cells, and a last column error. A run of the file
// leaves the error column out, as it leaves out any column it does not
// know. An input that has an error column already (a failed rows file,
// fixed and run) gets its cells replaced, not a second one. A cell a
// spreadsheet would run as a formula gets a leading ' (reader.EscapeCell),
// which the reader takes off again when the file is run. The file is
// UTF-8 with a BOM, so that a spreadsheet shows its characters right
// (whatever encoding the input was in; the reader takes the BOM). It
// returns how many rows it wrote.
func writeFailedRows(opts Options, failing []why, msgs *writer.Messages) (int64, error) {
	fh, err := os.Open(opts.Input)
	if err != nil {
		return 0, fmt.Errorf("open input: %w", err)
	}
	defer fh.Close()
	ropts := opts.Reader
	ropts.KeepRaw = true
	rd, err := reader.Open(fh, ropts)
	if err != nil {
		return 0, err
	}
	header := rd.RawHeader()
	own := len(header) // the input's columns before ours
	errCol := -1
	for i, h := range header {
		if reader.NormalizeName(h) == ErrorColumn {
			errCol = i
		}
	}
	if errCol < 0 {
		errCol = len(header)
		header = append(header, ErrorColumn)
	}
	bw := bufio.NewWriter(opts.FailedRows)
	bw.WriteString("\ufeff")
	cw := csv.NewWriter(bw)
	cw.Comma = rd.Delimiter()
	cw.Write(escaped(header))
	var n int64
	for ordinal := 0; len(failing) > 0; ordinal++ {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return n, fmt.Errorf("%s changed while the report read it: %d of its rows to write are gone", opts.Input, len(failing))
		}
		if err != nil {
			return n, err
		}
		if int(failing[0].ordinal) != ordinal {
			continue
		}
		if rec.Raw == nil {
			return n, fmt.Errorf("%s:%d: the row's cells could not be kept to write them", opts.Input, rec.Line)
		}
		msg, err := failing[0].message(rec, msgs)
		if err != nil {
			return n, err
		}
		failing = failing[1:]
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

// escaped returns cells with the ' of reader.EscapeCell where a
// spreadsheet would run one as a formula: the file is meant to be opened
// in one, and the reader takes the ' off when the file is run.
func escaped(cells []string) []string {
	for i, c := range cells {
		cells[i] = reader.EscapeCell(c)
	}
	return cells
}

// failedRow returns a row's cells for the failed rows file: its own cells,
// a short row padded to the header's own columns, and msg in the error
// column. A row longer than the header keeps its extra cells, with msg
// after them, unless the header has its own error column.
func failedRow(raw []string, own, errCol int, msg string) []string {
	cells := make([]string, max(len(raw), own), max(len(raw), own)+1)
	copy(cells, raw)
	if errCol < own {
		cells[errCol] = msg
		return cells
	}
	return append(cells, msg)
}
