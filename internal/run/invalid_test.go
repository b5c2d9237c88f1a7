package run

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Validate groups invalid rows by reason, each with its count and first
// lines, where 42 rows were 42 lines; EveryRow lists each.
func TestValidateGroupsInvalidRows(t *testing.T) {
	var in strings.Builder
	in.WriteString("ticket_id,sub_status\n")
	for i := range 42 {
		fmt.Fprintf(&in, "abc%d,CL\n", i)
	}
	in.WriteString("713516551148,\n")
	var out bytes.Buffer
	st, err := Validate("-", strings.NewReader(in.String()), reader.Options{Name: "in.csv"}, 0, &out, Grouped)
	if err != nil || st.Invalid != 43 {
		t.Fatalf("Validate = %+v, %v", st, err)
	}
	want := `invalid rows by reason (most rows first):
      42  ticket_id <value> is not a ticket id (digits only)
          in.csv lines 2, 3, 4, 5, 6 and 37 more
       1  sub_status is empty
          in.csv line 44
  (--all lists every invalid row with its own message)
`
	if out.String() != want {
		t.Errorf("listing:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if _, err := Validate("-", strings.NewReader(in.String()), reader.Options{Name: "in.csv"}, 0, &out, EveryRow); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 43 || !strings.HasPrefix(out.String(), `in.csv:2: ticket_id "abc0"`) {
		t.Errorf("EveryRow: %d lines:\n%s", n, out.String())
	}
}

// The dry run's time estimate follows --rate, --burst and the payloads,
// and says what it assumes.
func TestDryRunEstimate(t *testing.T) {
	for _, tt := range []struct {
		payloads int64
		eng      batch.Config
		want     []string
	}{
		{600, batch.Config{Rate: 5, Burst: 1, Workers: 4}, []string{"about 2m at --rate 5;", "within 800ms (--workers 4", "no retries or 429s"}},
		{11, batch.Config{Rate: 5, Burst: 1, Workers: 4}, []string{"about 2s at --rate 5"}},
		{3, batch.Config{Rate: 2, Burst: 5, Workers: 1}, []string{"about a second or less"}},
		{36001, batch.Config{Rate: 10, Burst: 1, Workers: 4}, []string{"about 1h at --rate 10"}},
		{50, batch.Config{AutoRate: true, Burst: 1, Workers: 4}, []string{"about 10s at 5 requests a second, where --rate auto starts"}},
		{50, batch.Config{Rate: 0, Workers: 4}, []string{"no estimate at --rate 0", "4 requests at a time"}},
	} {
		got := estimate(tt.payloads, tt.eng)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("estimate(%d, %+v) = %q, want %q in it", tt.payloads, tt.eng, got, w)
			}
		}
	}
	if got := roughly(100 * time.Minute); got != "1h40m" {
		t.Errorf("roughly(100m) = %q", got)
	}
}

// TestResumeKeepsInvalidRowsOnce: a resume does not write an invalid row
// again when its line's latest result is that same verdict, so that
// resumes of an input with invalid rows do not grow the results file by
// them each time; it still counts them invalid. A row whose verdict
// changed (edited into another mistake) is written again.
func TestResumeKeepsInvalidRowsOnce(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	input := writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516551148,CL\nabc,CL\n713516551149,\nxyz,P\n")
	results := filepath.Join(dir, "in.results.csv")
	if err := Run(context.Background(), config(input, results, srv.URL), nil); err != nil {
		t.Fatal(err)
	}
	first := lines(t, results)
	for i := range 3 {
		cfg := config(input, results, srv.URL)
		cfg.Mode = writer.Resume
		var st Stats
		if err := Run(context.Background(), cfg, &st); err != nil {
			t.Fatal(err)
		}
		if c := st.Snapshot(); c.Invalid != 3 || c.Skipped != 1 || c.NotSent() != 0 {
			t.Errorf("resume %d: %d invalid, %d skipped, %d not sent; want 3, 1, 0", i+1, c.Invalid, c.Skipped, c.NotSent())
		}
		if got := st.FailureReasons(10); len(got) != 2 {
			t.Errorf("resume %d: failure reasons %v, want the two of the invalid rows", i+1, got)
		}
		if got := lines(t, results); got != first {
			t.Errorf("resume %d: the results file holds %d lines, after the first run %d", i+1, got, first)
		}
	}
	// Line 3 breaks otherwise: its new verdict is written.
	writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516551148,CL\nabcd,CL\n713516551149,\nxyz,P\n")
	cfg := config(input, results, srv.URL)
	cfg.Mode = writer.Resume
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, results); got != first+1 {
		t.Errorf("after an edit: %d lines, want %d (the edited row's verdict)", got, first+1)
	}
}
