package run

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestResumeOfALargeFinishedRunSendsNothing: a finished run whose tickets'
// rows lie far apart (more tickets between two rows of one ticket than any
// table of a fixed size would hold), with some rows repeated exactly that
// far apart, resumes without sending a row, however often. A minute under
// -race: make test-long runs it; resume's TestPlanHoldsNothing holds the
// plan to the same under -short.
func TestResumeOfALargeFinishedRunSendsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("70,000 tickets run three times: make test-long")
	}
	const tickets = 70_000 // more than the 65,536 of the old fixed tables
	var b strings.Builder
	b.WriteString("ticket_id,sub_status\n")
	for round, sub := range []string{"P", "CL", "P"} {
		for i := range tickets {
			if round == 2 && i%7 != 0 {
				continue // every 7th ticket gets its first row again, exactly
			}
			fmt.Fprintf(&b, "%d,%s\n", 713500000000+i, sub)
		}
	}
	srv := kapturetest.NewServer(t, kapturetest.Options{NoRecord: true})
	dir := t.TempDir()
	cfg := config(writeFile(t, dir, "in.csv", b.String()), filepath.Join(dir, "r.csv"), srv.URL)
	cfg.Engine.BatchSize, cfg.Engine.Workers = 500, 4
	var first Stats
	if err := Run(context.Background(), cfg, &first); err != nil {
		t.Fatal(err)
	}
	rows := first.Snapshot().Success
	cfg.Mode = writer.Resume
	for i := range 2 {
		var st Stats
		if err := Run(context.Background(), cfg, &st); err != nil {
			t.Fatal(err)
		}
		if c := st.Snapshot(); c.Requests != 0 || c.Skipped != rows || c.Resent != 0 {
			t.Fatalf("resume %d of a finished run of %d rows: %d requests, %d skipped, %d sent again; want 0, %d, 0",
				i+1, rows, c.Requests, c.Skipped, c.Resent, rows)
		}
	}
}
