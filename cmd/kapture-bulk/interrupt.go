package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
)

// errInterrupted is the cause of a run cancelled by a second signal, and
// what a run interrupted before sending anything returns (exit 130).
var errInterrupted = errors.New("interrupted")

// interrupts turns signals into the run's two ways to stop: the first
// signal stops it taking new rows and payloads (requests in flight finish
// and their results are written), the second cancels ctx: stop at once.
// It watches from before the checks that precede sending, so a Ctrl-C is
// never held back. Its goroutine lives until close.
type interrupts struct {
	stop   chan struct{} // closed by the first signal
	cancel context.CancelCauseFunc
	log    *slog.Logger
	closed chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	n      int
	onStop []func()
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
	ir.mu.Lock()
	ir.n++
	n, fns := ir.n, ir.onStop
	if n == 1 {
		close(ir.stop)
		ir.onStop = nil
	}
	ir.mu.Unlock()
	if n == 1 {
		ir.log.Warn("interrupted: finishing the requests in flight; send the signal again to stop at once", "signal", sig.String())
		for _, fn := range fns {
			fn()
		}
		return
	}
	ir.log.Warn("interrupted again: stopping now", "signal", sig.String())
	ir.cancel(errInterrupted)
}

// whenStopped runs fn at the first signal, or at once if it came already.
func (ir *interrupts) whenStopped(fn func()) {
	ir.mu.Lock()
	if ir.n == 0 {
		ir.onStop = append(ir.onStop, fn)
		ir.mu.Unlock()
		return
	}
	ir.mu.Unlock()
	fn()
}

func (ir *interrupts) interrupted() bool {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	return ir.n > 0
}

// close stops watching and waits for the watcher to end.
func (ir *interrupts) close() {
	close(ir.closed)
	ir.wg.Wait()
}

// errInputAborted ends a read of stdin that the run no longer wants.
var errInputAborted = errors.New("input abandoned")

// abortable reads r in a goroutine of its own and hands the bytes over a
// pipe, so that a read blocked on a pipe or a terminal can be abandoned:
// after abort, Read returns errInputAborted at once. (A blocked read of
// stdin cannot be cancelled in Go.) The goroutine ends when r ends, or at
// its first read after abort: for a stdin that never ends, with the
// process, which is what abandoning it means.
func abortable(r io.Reader) (io.Reader, func()) {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err) // nil: EOF for the reader
	}()
	var once sync.Once
	return abortedReader{pr}, func() { once.Do(func() { pr.Close() }) }
}

// abortedReader says errInputAborted, not io.ErrClosedPipe, once aborted.
type abortedReader struct{ pr *io.PipeReader }

func (r abortedReader) Read(p []byte) (int, error) {
	n, err := r.pr.Read(p)
	if errors.Is(err, io.ErrClosedPipe) {
		err = errInputAborted
	}
	return n, err
}
