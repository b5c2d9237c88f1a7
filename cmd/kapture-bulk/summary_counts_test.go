package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	outcome "github.com/kapture-bulk/kapture-bulk/internal/report"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestSummaryOfStoppedResumeAgreesWithReport: a resume sends an edited
// row again, and so (to keep its ticket's rows in order) the ticket's
// later row, done before; stopped after the first, it leaves the second
// holding its earlier success. The summary must count it as report does
// (done, out of order), not as not sent, and still give the resume
// command.
func TestSummaryOfStoppedResumeAgreesWithReport(t *testing.T) {
	var resuming atomic.Bool
	stop := make(chan struct{})
	var once sync.Once
	stats := &run.Stats{}
	srv := kapturetest.NewServer(t, kapturetest.Options{Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
		if resuming.Load() {
			// The resume's first request: stop, and answer it once the
			// engine knows (a stop deadline), so that nothing more leaves.
			once.Do(func() {
				close(stop)
				for end := time.Now().Add(10 * time.Second); stats.Snapshot().StopDeadline.IsZero() && time.Now().Before(end); {
					time.Sleep(time.Millisecond)
				}
			})
		}
		return nil
	}})
	dir := t.TempDir()
	input := filepath.Join(dir, "in.csv")
	results := filepath.Join(dir, "in.results.csv")
	write := func(content string) {
		if err := os.WriteFile(input, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := run.Config{
		Input: input, Reader: reader.Options{Name: input}, Results: results, Mode: writer.Create,
		Engine: batch.Config{BaseURL: srv.URL, Token: kapturetest.DefaultToken, BatchSize: 1, Workers: 1},
	}
	write("ticket_id,sub_status\n713516551148,P\n713516551148,CL\n713516551149,CL\n")
	if err := run.Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	write("ticket_id,sub_status\n713516551148,PS\n713516551148,CL\n713516551149,CL\n") // line 2 edited
	resuming.Store(true)
	cfg.Mode, cfg.Stop = writer.Resume, stop
	st := &runState{start: time.Now(), input: input, resultsPath: results, stats: stats,
		next: advice{command: "kapture-bulk run --resume in.csv"}}
	if err := run.Run(context.Background(), cfg, st.stats); !errors.Is(err, run.ErrInterrupted) {
		t.Fatalf("resume: %v, want it interrupted", err)
	}
	s := st.summary(time.Now())
	rep, err := outcome.Build(outcome.Options{Results: results, Input: input, Reader: reader.Options{Name: input}})
	if err != nil {
		t.Fatal(err)
	}
	if s.NotSent != rep.NotSent || s.Success+s.SkippedResume != rep.Success+rep.OutOfOrder || s.Failed != rep.Failed || s.Unknown != rep.Unknown {
		t.Errorf("summary: %d success, %d skipped, %d failed (%d unknown), %d not sent; report: %d success, %d out of order, %d failed (%d unknown), %d not sent",
			s.Success, s.SkippedResume, s.Failed, s.Unknown, s.NotSent, rep.Success, rep.OutOfOrder, rep.Failed, rep.Unknown, rep.NotSent)
	}
	if rep.OutOfOrder != 1 {
		t.Errorf("report: %d rows out of order, want 1 (the ticket's later row, not sent again)", rep.OutOfOrder)
	}
	if s.ResumeCommand == "" {
		t.Error("no resume command, though a row must go again")
	}
}
