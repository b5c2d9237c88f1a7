package resume

import (
	"errors"
	"io"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// Records yields an input's records in file order: a *reader.Reader.
type Records interface {
	Next() (reader.Record, error)
}

// Row is one data row of the input as Walk hands it on.
type Row struct {
	reader.Record
	// Ordinal counts the data rows before it: 0 for the first.
	Ordinal int
	// Key is a valid row's key (zero for an invalid row), as every read
	// of the input gives it; Repeat says a row of its ticket came earlier.
	Key    rowkey.Key
	Repeat bool
	// Object is a valid row's request object (reader.AppendObject). Its
	// bytes are reused for the next row: copy them to keep them.
	Object []byte
	// Decision is what the Plan says of a valid row; Send without a Plan.
	// Prior is the row's latest result in the results file the Plan
	// reads (HasPrior false: none, or no Plan); for an invalid row, the
	// latest result on its line when that is invalid (State.Invalid).
	Decision Decision
	Prior    Result
	HasPrior bool
}

// Walk reads src to its end, or its first limit data rows when limit > 0,
// and calls fn with each data row in order: an invalid row as read, a
// valid one with its key and, given a plan, the plan's decision. This is
// the one loop over an input's rows that a run, a dry run, a resume's
// index and a report share, so that they key and judge every row alike.
// Walk returns fn's first error, or src's; nil at the end of src.
func Walk(src Records, limit int, plan *Plan, fn func(*Row) error) error {
	occ := rowkey.NewCounter()
	var row Row
	for n := 0; limit <= 0 || n < limit; n++ {
		rec, err := src.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		obj := row.Object[:0]
		row = Row{Record: rec, Ordinal: n}
		if rec.Invalid == "" {
			row.Object = reader.AppendObject(obj, rec)
			row.Key = rowkey.New(rec.TicketID, row.Object)
			row.Key.Occurrence, row.Repeat = occ.Next(row.Key)
			if plan != nil {
				row.Decision = plan.Decide(row.Key, rec.Line)
				row.Prior, row.HasPrior = plan.st.Latest(row.Key)
			}
		} else {
			row.Object = obj
			if plan != nil {
				row.Prior, row.HasPrior = plan.st.Invalid(rec.Line)
			}
		}
		if err := fn(&row); err != nil {
			return err
		}
	}
	return nil
}

// IndexInput reads the whole input src and returns its Index over st,
// for a run that takes its first limit data rows (0: all).
func IndexInput(st *State, src Records, limit int) (*Index, error) {
	ix := NewIndex(st)
	err := Walk(src, 0, nil, func(r *Row) error {
		if r.Invalid == "" {
			ix.Add(r.Key, limit > 0 && r.Ordinal >= limit)
		}
		return nil
	})
	return ix, err
}
