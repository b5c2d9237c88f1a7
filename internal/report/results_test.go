package report

import (
	"path/filepath"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestReportRecordsNothing: a results file that records no row (empty,
// only a header, a torn header, a header and a torn row) does not say that
// every row is done; with the input, every row is not sent.
func TestReportRecordsNothing(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.csv"), orderCSV)
	for _, tt := range []struct {
		name, content    string
		torn, tornHeader bool
	}{
		{"empty", "", false, false},
		{"only a header", writer.Header + "\n", false, false},
		{"a torn header", writer.Header[:13], true, true},
		{"a BOM alone", "\ufeff", true, true},
		{"a header and a torn row", writer.Header + "\n713516551148,succ", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			results := writeFile(t, filepath.Join(t.TempDir(), "r.csv"), tt.content)
			rep, err := Build(Options{Results: results})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Done() || rep.Rows != 0 || rep.ResultsRows != 0 || rep.Torn != tt.torn || rep.TornHeader != tt.tornHeader {
				t.Errorf("without the input: done %v, rows %d, results rows %d, torn %v, torn header %v; want not done, 0, 0, %v, %v",
					rep.Done(), rep.Rows, rep.ResultsRows, rep.Torn, rep.TornHeader, tt.torn, tt.tornHeader)
			}
			rep, err = Build(Options{Results: results, Input: in})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := countsOf(rep), (counts{Rows: 5, NotSent: 5}); got != want || rep.Done() {
				t.Errorf("with the input: %+v, done %v; want %+v, not done", got, rep.Done(), want)
			}
		})
	}
}
