package run_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/report"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestStopResumeModel: a run against a faulty fake, stopped at a random
// moment, leaves failures, rows of unknown outcome and rows not sent; a
// --resume of it is then stopped (the first signal) or aborted (the token
// refused) at a random moment. The resume's counts, as its summary adds
// them up, must agree with report --input on the same files right after:
// no row counted twice (failed before and unknown, not sent and done).
func TestStopResumeModel(t *testing.T) {
	c := run.Seeds{Test: "TestStopResumeModel", Flag: "stop", N: *stopHistories, Seed: *stopSeed, Short: 10, Long: 30}
	run.PlaySeeds(t, c, stopResumeRun)
}

func stopResumeRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 5))
	input, rows := writeStopInput(t, rng, true)
	results := filepath.Join(filepath.Dir(input), "in.results.csv")
	timeout := time.Duration(100+rng.IntN(300)) * time.Millisecond
	fake := newStopFake(t, rng, false, timeout)
	// Few retries: the first run leaves failures.
	first, err := stopAt(rng, input, results, writer.Create, fake, timeout, rng.IntN(3), int64(rng.IntN(rows)), false)
	if err != nil && !errors.Is(err, run.ErrInterrupted) {
		t.Fatalf("first run: %v", err)
	}
	abort := rng.IntN(3) == 0
	c, err := stopAt(rng, input, results, writer.Resume, fake, timeout, 3+rng.IntN(6), int64(rng.IntN(rows)), abort)
	t.Logf("seed %d: %d rows; first run: read %d success %d failed %d unknown %d not sent %d; resume (abort %v): %v",
		seed, rows, first.Read, first.Success, first.Failed, first.Unknown, first.NotSent(), abort, err)
	if err != nil && !errors.Is(err, run.ErrInterrupted) && !errors.Is(err, batch.ErrAuth) {
		t.Fatalf("resume: %v", err)
	}
	in, err := report.Build(report.Options{Results: results, Input: input, Reader: reader.Options{Name: input}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resume: %+v", c)
	t.Logf("report: %d rows: %d success, %d out of order, %d failed (%d unknown), %d invalid, %d not sent",
		in.Rows, in.Success, in.OutOfOrder, in.Failed, in.Unknown, in.Invalid, in.NotSent)
	if c.Read != in.Rows {
		return // stopped before the whole input was read: report counts rows the run never saw
	}
	// As the summary adds them up (cmd/kapture-bulk's summary).
	failed, unknown := c.Failed+c.Unknown+c.FailedBefore, c.Unknown+c.UnknownBefore
	if failed != in.Failed || unknown != in.Unknown {
		t.Errorf("summary: %d failed (%d unknown: %d in flight, %d before; %d failed before); report: %d failed (%d unknown)",
			failed, unknown, c.Unknown, c.UnknownBefore, c.FailedBefore, in.Failed, in.Unknown)
	}
	if c.NotSent() != in.NotSent {
		t.Errorf("summary: %d not sent; report: %d not sent", c.NotSent(), in.NotSent)
	}
	// A success the resume was to send again, to keep its ticket's rows
	// in order, is done (report: in order or not) until it goes.
	if done := c.Success + c.Skipped + c.DoneBefore; done != in.Success+in.OutOfOrder {
		t.Errorf("summary: %d success, %d skipped, %d kept an earlier success; report: %d success, %d out of order",
			c.Success, c.Skipped, c.DoneBefore, in.Success, in.OutOfOrder)
	}
	sum := c.Success + c.Skipped + c.DoneBefore + c.HeldBack + failed + c.Invalid + c.NotSent()
	if sum != c.Read {
		t.Errorf("summary: its counts add up to %d rows, %d were read", sum, c.Read)
	}
}

// writeStopInput writes a random input of tickets 7135165xxxxx into a
// new folder, each row's comment naming it (c0 on line 2); with invalid,
// one row in 20 has no sub-status.
func writeStopInput(t *testing.T, rng *rand.Rand, invalid bool) (path string, rows int) {
	var b strings.Builder
	b.WriteString("ticket_id,sub_status,comment\n")
	rows = 40 + rng.IntN(160)
	tickets := 5 + rng.IntN(rows)
	for i := range rows {
		st := []string{"P", "PS", "CL"}[rng.IntN(3)]
		if invalid && rng.IntN(20) == 0 {
			st = ""
		}
		fmt.Fprintf(&b, "7135165%05d,%s,c%d\n", rng.IntN(tickets), st, i)
	}
	path = filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, rows
}

// stopAt runs input once against fake (mode: writer.Create or Resume),
// retrying a payload up to retries times, and stops it once (the first
// signal) after `after` results; abort: the fake refuses the token from
// then on instead, which aborts the run.
func stopAt(rng *rand.Rand, input, results string, mode writer.Mode, fake *stopFake, timeout time.Duration, retries int, after int64, abort bool) (run.Snapshot, error) {
	cfg := run.Config{
		Input: input, Reader: reader.Options{Name: input}, Results: results, Mode: mode,
		Engine: batch.Config{
			BaseURL: fake.url, Token: kapturetest.DefaultToken,
			Workers: 1 + rng.IntN(4), BatchSize: 1 + rng.IntN(8), MaxRetries: retries,
			Timeout: timeout, BackoffBase: time.Millisecond, BackoffMax: time.Duration(1+rng.IntN(30)) * time.Millisecond,
			BreakerThreshold: 1000,
		},
	}
	stop := make(chan struct{})
	cfg.Stop = stop
	var stats run.Stats
	quit, watched := make(chan struct{}), make(chan struct{})
	go func() { // the stop; ends when Run has returned (quit)
		defer close(watched)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			if c := stats.Snapshot(); c.Sending && c.Success+c.Failed >= after {
				if abort {
					fake.refuse.Store(true)
				} else {
					close(stop)
				}
				return
			}
		}
	}()
	err := run.Run(context.Background(), cfg, &stats)
	close(quit)
	<-watched
	return stats.Snapshot(), err
}
