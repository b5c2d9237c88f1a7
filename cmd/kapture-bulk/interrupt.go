package main

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/kapture-bulk/kapture-bulk/internal/run"
)

// interrupts turns signals into the run's two ways to stop: the first
// signal closes stop, the run's soft stop (it takes no new rows and
// payloads; requests in flight finish and their results are written), the
// second cancels ctx with run.ErrInterrupted: stop at once. It watches
// from before the checks that precede sending, so a Ctrl-C is never held
// back. Its goroutine lives until close.
type interrupts struct {
	stop   chan struct{} // closed by the first signal
	cancel context.CancelCauseFunc
	log    *slog.Logger
	closed chan struct{}
	wg     sync.WaitGroup
	n      int // signals so far; only the watcher goroutine touches it
}

func watchSignals(signals <-chan os.Signal, cancel context.CancelCauseFunc, log *slog.Logger) *interrupts {
	ir := &interrupts{stop: make(chan struct{}), cancel: cancel, log: log, closed: make(chan struct{})}
	ir.wg.Add(1)
	go func() {
		defer ir.wg.Done()
		for {
			select {
			case <-ir.closed:
				return
			case sig := <-signals:
				ir.signal(sig)
			}
		}
	}()
	return ir
}

func (ir *interrupts) signal(sig os.Signal) {
	ir.n++
	if ir.n == 1 {
		ir.log.Warn("interrupted: finishing the requests in flight; send the signal again to stop at once", "signal", sig.String())
		close(ir.stop)
		return
	}
	ir.log.Warn("interrupted again: stopping now", "signal", sig.String())
	ir.cancel(run.ErrInterrupted)
}

// close stops watching and waits for the watcher to end.
func (ir *interrupts) close() {
	close(ir.closed)
	ir.wg.Wait()
}
