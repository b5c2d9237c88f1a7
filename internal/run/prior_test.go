package run

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/report"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestStoppedResumeCountsEarlierFailures: a resume stopped before it sent
// rows that failed (or were of unknown outcome) in the run before counts
// them failed, as report then does, not "not sent".
func TestStoppedResumeCountsEarlierFailures(t *testing.T) {
	dir := t.TempDir()
	input := writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516000001,CL\n713516000002,CL\n713516000003,CL\n713516000004,CL\n")
	results := filepath.Join(dir, "in.results.csv")
	keys := map[int]resume.Row{}
	rd, err := reader.Open(mustOpen(t, input), reader.Options{Name: input})
	if err != nil {
		t.Fatal(err)
	}
	resume.Walk(rd, 0, nil, func(r *resume.Row) error { keys[r.Line] = *r; return nil })
	// The run before: line 2 done, line 3 failed, line 4 in flight when
	// it was killed (the journal lists it), line 5 never sent.
	w, err := writer.Open(results, writer.Create)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StartJournal(1, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]writer.Result{
		{TicketID: "713516000001", Status: writer.StatusSuccess, Line: 2, Attempts: 1, Key: keys[2].Key},
		{TicketID: "713516000002", Status: writer.StatusFailed, Message: "locked", Line: 3, Attempts: 1, Key: keys[3].Key},
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sending(0, []writer.InFlight{{Line: 4, TicketID: "713516000003", Key: keys[4].Key}}); err != nil {
		t.Fatal(err)
	}
	w.Close() // the journal stays: a row in flight

	// The resume meets only 429s (a long Retry-After) and is stopped once
	// it has read every row: nothing goes out again.
	srv := kapturetest.NewServer(t, kapturetest.Options{Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
		return &kapturetest.Fault{Kind: kapturetest.FaultTooMany, RetryAfter: time.Minute}
	}})
	cfg := config(input, results, srv.URL)
	cfg.Mode = writer.Resume
	stop := make(chan struct{})
	cfg.Stop = stop
	var stats Stats
	go func() { // ends when the rows are read, or the run is over
		for stats.Snapshot().Read < 4 && !stopped(stop) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // the first request meets its 429
		close(stop)
	}()
	if err := Run(context.Background(), cfg, &stats); err != ErrInterrupted {
		t.Fatalf("Run: %v, want interrupted", err)
	}
	c := stats.Snapshot()
	rep, err := report.Build(report.Options{Results: results, Input: input, Reader: reader.Options{Name: input}})
	if err != nil {
		t.Fatal(err)
	}
	failed, unknown := c.Failed+c.Unknown+c.FailedBefore, c.Unknown+c.UnknownBefore
	if failed != rep.Failed || unknown != rep.Unknown || c.NotSent() != rep.NotSent || c.Skipped != rep.Success {
		t.Errorf("the run counts %d failed (%d unknown), %d not sent, %d done; report %d failed (%d unknown), %d not sent, %d done",
			failed, unknown, c.NotSent(), c.Skipped, rep.Failed, rep.Unknown, rep.NotSent, rep.Success)
	}
	if rep.Failed != 2 || rep.Unknown != 1 || rep.NotSent != 1 {
		t.Errorf("report: %d failed (%d unknown), %d not sent; want 2 (1), 1", rep.Failed, rep.Unknown, rep.NotSent)
	}
}
