package resume

import (
	"io"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// records is an input as Records over a slice; reads counts its Next calls.
type records struct {
	recs  []reader.Record
	reads int
}

func (r *records) Next() (reader.Record, error) {
	r.reads++
	if len(r.recs) == 0 {
		return reader.Record{}, io.EOF
	}
	rec := r.recs[0]
	r.recs = r.recs[1:]
	return rec, nil
}

// input returns the records of specs "ticket/comment", on lines 2, 3, ...
func input(specs ...string) []reader.Record {
	out := make([]reader.Record, len(specs))
	for i, s := range specs {
		t, c, _ := strings.Cut(s, "/")
		out[i] = reader.Record{Line: i + 2, TicketID: t, SubStatus: "CL", Comment: c}
	}
	return out
}

// result is a results row: the key of spec ("ticket/comment") with its
// occurrence, and its status.
type result struct {
	spec   string
	occ    uint32
	status writer.Status
}

func stateOf(t *testing.T, results []result) *State {
	t.Helper()
	b := NewBuilder(nil)
	for i, r := range results {
		rec := input(r.spec)[0]
		_, k := keyOf(nil, rec)
		k.Occurrence = r.occ
		if err := b.Add(writer.Row{Status: r.status, Key: k, KeyOK: true, Line: i + 2, TicketID: rec.TicketID}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Build()
}

// decisions walks in with plan p and spells its decisions as TestPlan does.
func decisions(t *testing.T, in []reader.Record, limit int, p *Plan) string {
	t.Helper()
	var got strings.Builder
	err := Walk(&records{recs: in}, limit, p, func(r *Row) error {
		got.WriteString(letter(r.Decision))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got.String()
}

// IndexInput counts occurrences only where it needs them and stops once
// nothing more can be learned: its Plan must be the one of every row's
// exact key added in order.
func TestIndexInputAgreesWithEveryRowAdded(t *testing.T) {
	tests := []struct {
		name    string
		results []result
		in      []string
		limit   int
		want    string
	}{
		{"finished, a ticket a row", []result{{"1/a", 0, ok}, {"2/b", 0, ok}, {"3/c", 0, ok}}, []string{"1/a", "2/b", "3/c"}, 0, "kkk"},
		{"only a repeated row's second occurrence recorded", []result{{"1/a", 1, ok}}, []string{"1/a", "1/a", "2/b"}, 0, "sas"},
		{"a deleted row applied after the last", []result{{"1/a", 0, ok}, {"1/b", 0, ok}, {"1/x", 0, ok}, {"2/c", 0, ok}}, []string{"1/a", "1/b", "2/c"}, 0, "kak"},
		{"repeats of a ticket of several", []result{{"1/a", 0, ok}, {"1/a", 1, ok}, {"1/b", 0, ok}, {"2/c", 0, fail}}, []string{"2/c", "1/a", "1/a", "1/b"}, 0, "skkk"},
		{"held back by a row beyond the limit", []result{{"1/b", 0, ok}, {"2/c", 0, ok}}, []string{"1/a", "2/c", "1/b"}, 2, "hk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(tt.in...)
			var keys []rowkey.Key
			if err := Walk(&records{recs: in}, 0, nil, func(r *Row) error { keys = append(keys, r.Key); return nil }); err != nil {
				t.Fatal(err)
			}
			whole := NewIndex(stateOf(t, tt.results))
			for i, k := range keys {
				whole.Add(k, tt.limit > 0 && i >= tt.limit)
			}
			ix, err := IndexInput(stateOf(t, tt.results), &records{recs: in}, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if ix.Belongs() != whole.Belongs() || !ix.Belongs() {
				t.Errorf("belongs: %v, every row added: %v (want true)", ix.Belongs(), whole.Belongs())
			}
			want, got := decisions(t, in, tt.limit, whole.Plan()), decisions(t, in, tt.limit, ix.Plan())
			if got != want || got != tt.want {
				t.Errorf("decisions %q, every row added %q, want %q", got, want, tt.want)
			}
		})
	}
}

// A resume of a finished run whose tickets have a result each learns all
// it needs from the first row that matches: the rest of the input (read
// whole by the syntax check before) is not read again.
func TestIndexInputStopsOnceNothingIsLeftToLearn(t *testing.T) {
	results := []result{{"1/a", 0, ok}, {"2/b", 0, ok}, {"3/c", 0, ok}, {"4/d", 0, ok}}
	src := &records{recs: input("9/new", "1/a", "2/b", "3/c", "4/d")}
	ix, err := IndexInput(stateOf(t, results), src, 0)
	if err != nil || !ix.Belongs() {
		t.Fatalf("IndexInput: belongs %v, %v", ix.Belongs(), err)
	}
	if src.reads != 2 {
		t.Errorf("read %d rows, want 2 (the new row, then the first that matches)", src.reads)
	}
	// With a ticket of several results, every row's ticket must be seen.
	results = append(results, result{"4/e", 0, ok})
	src = &records{recs: input("9/new", "1/a", "2/b", "3/c", "4/d")}
	if _, err := IndexInput(stateOf(t, results), src, 0); err != nil {
		t.Fatal(err)
	}
	if src.reads != 6 {
		t.Errorf("with a ticket of several results: read %d times, want 6 (every row, then the end)", src.reads)
	}
}

// A walk with a Plan keeps its tickets' first rows on the State's entries
// (firsts): it must number every row as a Counter of its own does, and
// hold in its map only the tickets whose first row has no entry.
func TestFirstsNumberRowsAsACounter(t *testing.T) {
	st := stateOf(t, []result{{"1/a", 0, ok}, {"1/c", 0, ok}, {"2/b", 1, ok}, {"3/x", 0, fail}, {"5/e", 0, ok}})
	in := input("1/a", "2/b", "1/a", "1/c", "3/x", "1/a", "2/b", "3/x", "4/n", "4/n", "5/e", "2/b")
	f := &firsts{t: &st.t, rest: map[uint64]uint64{}}
	own, onTable := rowkey.NewCounter(), rowkey.NewCounterWith(f)
	for _, rec := range in {
		_, k := keyOf(nil, rec)
		o1, r1 := own.Next(k)
		o2, r2 := onTable.Next(k)
		if o1 != o2 || r1 != r2 {
			t.Errorf("line %d (%s/%s): occurrence %d, repeat %v; a Counter of its own: %d, %v", rec.Line, rec.TicketID, rec.Comment, o2, r2, o1, r1)
		}
	}
	// 2's first row sends b, recorded only as occurrence 1; 4 has no entry.
	if len(f.rest) != 2 {
		t.Errorf("the map holds %d tickets, want 2 (tickets 2 and 4)", len(f.rest))
	}
	for _, e := range st.t.entries {
		if e.result().Status&flagBits != 0 {
			t.Errorf("a result's status keeps a walk's marks: %v", e.result().Status)
		}
	}
}
