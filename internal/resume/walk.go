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
	if plan != nil {
		occ = rowkey.NewCounterWith(&firsts{t: &plan.st.t, rest: map[uint64]uint64{}})
	}
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
			row.Object, row.Key = keyOf(obj, rec)
			row.Key.Occurrence, row.Repeat = occ.Next(row.Key)
			if plan != nil {
				var i int
				row.Decision, i = plan.decideRow(row.Key, rec.Line)
				if row.HasPrior = i >= 0; row.HasPrior {
					row.Prior = plan.st.t.entries[i].result()
				}
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

// keyOf appends a valid record's request object to obj and returns it
// with the record's key, its occurrence (a Counter's) aside: every read of
// the input keys its rows here.
func keyOf(obj []byte, rec reader.Record) ([]byte, rowkey.Key) {
	obj = reader.AppendObject(obj, rec)
	return obj, rowkey.New(rec.TicketID, obj)
}

// IndexInput reads the input src and returns its Index over st, for a
// run that takes its first limit data rows (0: all). It keys the rows as
// Walk does, but counts occurrences (a Counter of every ticket of the
// input, the most of its time and memory) only for the rows whose key it
// needs: those of tickets the results record more than once, beyond the
// limit, or until a row shows that the results file is this input's. A
// ticket's occurrences depend on its own rows only, so they come out as
// Walk's. When no ticket has several results and the run takes the whole
// input, the rows after that one can teach the Index nothing: it stops
// there: a caller that needs the whole input read before it sends (its
// syntax, its record count) reads it so itself, as a run's syntax check
// does, and a resume of a finished run reads it twice, not three times.
func IndexInput(st *State, src Records, limit int) (*Index, error) {
	ix := NewIndex(st)
	occ := rowkey.NewCounter()
	var obj []byte
	for n := 0; ; n++ {
		rec, err := src.Next()
		if errors.Is(err, io.EOF) {
			return ix, nil
		}
		if err != nil {
			return ix, err
		}
		if rec.Invalid != "" {
			continue
		}
		var k rowkey.Key
		obj, k = keyOf(obj[:0], rec)
		first, end := st.t.ticket(k.Ticket)
		if first < 0 || end-first == 1 && limit <= 0 && ix.belongs {
			continue // nothing recorded for its ticket, or nothing more to learn from it
		}
		k.Occurrence, _ = occ.Next(k)
		ix.add(k, first, end, limit > 0 && n >= limit)
		if ix.belongs && limit <= 0 && !st.t.several {
			return ix, nil
		}
	}
}
