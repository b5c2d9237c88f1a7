package report

import (
	"fmt"
	"os"

	"github.com/kapture-bulk/kapture-bulk/internal/failedrows"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// writeFailedRows writes to opts.FailedRows the rows failing lists (by
// ordinal among the data rows, in input order) as package failedrows
// writes them, each with why it is not done in the error column.
func writeFailedRows(opts Options, failing []why, msgs messages) (int64, error) {
	fh, err := os.Open(opts.Input)
	if err != nil {
		return 0, fmt.Errorf("open input: %w", err)
	}
	defer fh.Close()
	return failedrows.Write(opts.FailedRows, fh, opts.Reader, failingRows{failing, msgs})
}

// failingRows are the rows not done, for failedrows.Write.
type failingRows struct {
	rows []why
	msgs messages
}

func (f failingRows) Len() int          { return len(f.rows) }
func (f failingRows) Ordinal(i int) int { return int(f.rows[i].ordinal) }
func (f failingRows) Message(i int, rec reader.Record) (string, error) {
	return f.rows[i].message(rec, f.msgs)
}
