package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// recordSource yields the input's records.
type recordSource interface {
	Next() (reader.Record, error)
}

// pipeline is the sending part of a run: a producer reading records, the
// engine sending them, and one writer goroutine owning the results file.
type pipeline struct {
	records     recordSource // the reader, or a gate in front of it
	w           *writer.Writer
	done        *writer.Done
	eng         *batch.Engine
	log         *slog.Logger
	limit       int
	resultsPath string
	stop        <-chan struct{} // the soft stop
	stats       *Stats

	readErr error // set by the producer before it closes rows
}

// run sends the input. A soft stop (p.stop) stops it taking new rows and
// payloads; cancelling ctx stops it at once. abortInput unblocks a read of
// stdin the run no longer wants.
func (p *pipeline) run(ctx context.Context, abortInput func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	results := make(chan []writer.Result, 64)
	var writeErr error
	writerDone := make(chan struct{})
	go func() { // the only goroutine that touches the results file; ends when results is closed
		defer close(writerDone)
		for res := range results {
			if writeErr != nil {
				continue // keep draining so senders never block
			}
			if err := p.w.Write(res); err != nil {
				writeErr = fmt.Errorf("write results %s: %w", p.resultsPath, err)
				cancel(writeErr)
				continue
			}
			for _, r := range res {
				p.stats.count(r.Status)
			}
		}
	}()
	send := func(res []writer.Result) error {
		select {
		case results <- res:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}

	rows := make(chan batch.Row, 256)
	prodCtx, stopProd := context.WithCancel(ctx)
	prodDone := make(chan struct{})
	go func() { // ends at the input's end, a stop, or stopProd below
		defer close(prodDone)
		defer close(rows)
		// On an input error (a CSV syntax error in stdin) the rows
		// already read still go out: closing rows lets the engine drain.
		p.readErr = p.produce(prodCtx, rows, send)
	}()

	runErr := p.eng.Run(ctx, rows, func(res []batch.Result) error {
		return send(toWriter(res))
	})
	abortInput() // the producer may be blocked reading stdin
	stopProd()
	<-prodDone
	close(results)
	<-writerDone

	interrupted := stopped(p.stop)
	switch {
	case writeErr != nil:
		return writeErr
	case runErr != nil && interrupted && (errors.Is(runErr, ErrInterrupted) || errors.Is(runErr, context.Canceled)):
		return nil // the caller learns of the stop from Run
	case runErr != nil:
		return runErr
	case p.readErr != nil && !(errors.Is(p.readErr, errInputAborted) && interrupted):
		return p.readErr
	}
	return nil
}

// produce reads records until the end, a stop, or an input error, and
// hands them on: invalid rows straight to the results, rows already done
// (by a resume) counted and skipped, the rest to the engine.
func (p *pipeline) produce(ctx context.Context, rows chan<- batch.Row, send func([]writer.Result) error) error {
	var dups duplicates
	defer func() { p.stats.duplicates.Store(dups.n) }()
	resume := newResumeFilter(p.done)
	for n := 0; p.limit == 0 || n < p.limit; n++ {
		select {
		case <-p.stop:
			return nil
		case <-ctx.Done():
			return nil
		default:
		}
		rec, err := p.records.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p.stats.read.Add(1)
		if rec.Invalid != "" {
			if err := send([]writer.Result{{
				TicketID: rec.TicketID, Status: writer.StatusInvalid, Message: rec.Invalid,
				Line: rec.Line, FinishedAt: time.Now(),
			}}); err != nil {
				return nil // the run is ending; its cause is reported elsewhere
			}
			continue
		}
		if dups.seen(rec.TicketID) && dups.n == 1 {
			p.log.Warn("a ticket_id appears more than once: its rows go out in file order, one at a time (the summary counts them)",
				"ticket_id", rec.TicketID, "line", rec.Line)
		}
		row := batch.NewRow(rec)
		if resume.skip(row) {
			p.stats.skipped.Add(1)
			continue
		}
		select {
		case rows <- row:
		case <-p.stop:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

func toWriter(res []batch.Result) []writer.Result {
	out := make([]writer.Result, len(res))
	for i, r := range res {
		st := writer.StatusFailed
		if r.Status == batch.Success {
			st = writer.StatusSuccess
		}
		out[i] = writer.Result{
			TicketID: r.TicketID, Status: st, Message: r.Message, Line: r.Line,
			HTTPStatus: r.HTTPStatus, Attempts: r.Attempts, FinishedAt: r.FinishedAt,
			Fingerprint: r.Fingerprint,
		}
	}
	return out
}
