package main

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/kapture-bulk/kapture-bulk/internal/run"
)

// interrupts turns signals into the run's two ways to stop: the first
// signal closes stop, the run's soft stop (it takes no new rows and
// payloads; what is in flight settles within --timeout), the second
// cancels ctx with run.ErrInterrupted: stop at once. After the first, it
// says every --progress-interval what the stop still waits for, so that
// nobody takes the wait for a hang. It watches from before the checks
// that precede sending, so a Ctrl-C is never held back. Its goroutine
// lives until close.
type interrupts struct {
	stop   chan struct{} // closed by the first signal
	cancel context.CancelCauseFunc
	log    *slog.Logger
	stats  func() run.Snapshot
	// grace is how long a stop waits at most (--timeout), every how
	// often it says so.
	grace, every time.Duration
	closed       chan struct{}
	wg           sync.WaitGroup
	n            int // signals so far; only the watcher goroutine touches it
}

func watchSignals(signals <-chan os.Signal, cancel context.CancelCauseFunc, log *slog.Logger, stats func() run.Snapshot, grace, every time.Duration) *interrupts {
	ir := &interrupts{stop: make(chan struct{}), cancel: cancel, log: log, stats: stats,
		grace: grace, every: max(every, minProgressInterval), closed: make(chan struct{})}
	ir.wg.Add(1)
	go func() {
		defer ir.wg.Done()
		var waiting *time.Ticker
		var tick <-chan time.Time // nil until the first signal
		defer func() {
			if waiting != nil {
				waiting.Stop()
			}
		}()
		for {
			select {
			case <-ir.closed:
				return
			case sig := <-signals:
				ir.signal(sig)
				if waiting == nil {
					waiting = time.NewTicker(ir.every)
					tick = waiting.C
				}
			case <-tick:
				ir.stillWaiting()
			}
		}
	}()
	return ir
}

func (ir *interrupts) signal(sig os.Signal) {
	ir.n++
	c := ir.stats()
	if ir.n == 1 {
		close(ir.stop)
		if c.Delivering == 0 {
			ir.log.Warn("interrupted: stopping; nothing is in flight", "signal", sig.String())
			return
		}
		ir.log.Warn("interrupted: sending nothing new, waiting for the answers to the requests in flight; send the signal again to stop at once (their rows' outcome then stays unknown)",
			"signal", sig.String(), "requests", c.Delivering, "rows", c.InFlight, "at_most", ir.grace.String())
		return
	}
	ir.log.Warn("interrupted again: stopping now; the rows in flight keep an unknown outcome", "signal", sig.String(), "rows", c.InFlight)
	ir.cancel(run.ErrInterrupted)
}

// stillWaiting says what the stop still waits for, if anything.
func (ir *interrupts) stillWaiting() {
	c := ir.stats()
	left, waiting := stopWait(c, time.Now())
	if ir.n > 1 || !waiting {
		return
	}
	ir.log.Warn("stopping: still waiting for the answers to the requests in flight; send the signal again to stop at once",
		"requests", c.Delivering, "rows", c.InFlight, "at_most", left.String())
}

// stopWait reports whether a stop waits for requests in flight (c's
// Delivering), and for how long at most from now, rounded up to a second:
// what the log line and the bar say while it waits.
func stopWait(c run.Snapshot, now time.Time) (left time.Duration, waiting bool) {
	if c.Delivering == 0 || c.StopDeadline.IsZero() {
		return 0, false
	}
	return (max(c.StopDeadline.Sub(now), 0) + time.Second - 1).Truncate(time.Second), true
}

// close stops watching and waits for the watcher to end.
func (ir *interrupts) close() {
	close(ir.closed)
	ir.wg.Wait()
}
