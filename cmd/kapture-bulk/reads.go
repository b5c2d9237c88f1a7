package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
)

// The commands that read tickets without sending (snapshot, verify,
// probe) share what is here: the engine set up from apiFlags, a stop on
// the first signal, reads spread over the workers, and their progress.

// readSession is what a read command sets up before it reads.
type readSession struct {
	log   *slog.Logger
	lines *termLines // stderr on a terminal (a status line); nil elsewhere
	eng   *batch.Engine
	api   string // the API root, as snapshots and names files name it
	start time.Time
	quit  func() // ends the signal watcher
}

// openSession sets up, from checked flags, the logger, the engine (with
// its own settings in tune) and the watcher that turns the first signal
// into the end of ctx (cause run.ErrInterrupted: exit 130). Reads are
// idempotent: a stop loses only the reads in flight. Call close when
// done.
func (f *apiFlags) openSession(ctx context.Context, e *env, what string, tune func(*batch.Config)) (context.Context, *readSession, error) {
	log, lines, err := f.logger(e)
	if err != nil {
		return ctx, nil, err
	}
	cfg, err := f.engineConfig(e, log)
	if err != nil {
		return ctx, nil, err
	}
	tune(&cfg)
	api, err := batch.APIRoot(cfg)
	if err != nil {
		return ctx, nil, withCode(exitUsage, err)
	}
	eng, err := batch.New(cfg)
	if err != nil {
		return ctx, nil, withCode(exitUsage, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	s := &readSession{log: log, lines: lines, eng: eng, api: api, start: time.Now()}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ends at close
		defer wg.Done()
		select {
		case sig := <-e.signals:
			log.Warn("interrupted: stopping; "+what, "signal", sig.String())
			cancel(run.ErrInterrupted)
		case <-done:
		}
	}()
	s.quit = func() {
		close(done)
		wg.Wait()
		cancel(nil)
	}
	return ctx, s, nil
}

func (s *readSession) close() {
	if s != nil {
		s.quit()
	}
}

// ticketReader reads tickets through the engine: ids in requests of size
// ids, up to workers requests at once, counted for the progress and the
// summary.
type ticketReader struct {
	eng                 *batch.Engine
	size, workers       int
	read, found, unread atomic.Int64 // unread: batch.Ticket.Unread, not in read
}

func newTicketReader(eng *batch.Engine, size, workers int) *ticketReader {
	return &ticketReader{eng: eng, size: size, workers: workers}
}

// round is how many ids a command hands to each at once: a few requests
// for every worker, so that one slow request holds the others little.
func (r *ticketReader) round() int { return r.size * r.workers * 4 }

// each reads ids (distinct) and hands the tickets of each request to got,
// with the index of its first id, from several goroutines at once. It
// returns the first error of a read or of got; the requests after it are
// not made.
func (r *ticketReader) each(ctx context.Context, ids []string, got func(start int, ts []batch.Ticket) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.workers)
	for start := 0; start < len(ids); start += r.size {
		chunk := ids[start:min(start+r.size, len(ids))]
		g.Go(func() error {
			if gctx.Err() != nil {
				return context.Cause(gctx)
			}
			ts, err := r.eng.Read(gctx, chunk)
			if err != nil {
				return err
			}
			r.count(ts)
			return got(start, ts)
		})
	}
	return g.Wait()
}

// all reads ids: one Ticket per id, in order (verify.Options.Read).
func (r *ticketReader) all(ctx context.Context, ids []string) ([]batch.Ticket, error) {
	out := make([]batch.Ticket, len(ids))
	err := r.each(ctx, ids, func(start int, ts []batch.Ticket) error {
		copy(out[start:], ts) // each request its own part of out
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (r *ticketReader) count(ts []batch.Ticket) {
	found, unread := 0, 0
	for _, t := range ts {
		switch {
		case t.Unread != "":
			unread++
		case t.Found:
			found++
		}
	}
	r.read.Add(int64(len(ts) - unread))
	r.found.Add(int64(found))
	r.unread.Add(int64(unread))
}

// readText counts tickets read as the summaries say it.
func readText(read, found int64) string {
	return fmt.Sprintf("%s (%d found, %d not found)", plural.Of(read, "ticket read", "tickets read"), found, read-found)
}

// startReadProgress shows how the reads go until the returned stop: a
// status line on a terminal (s.lines), a log line every
// --progress-interval elsewhere, nothing with --quiet. what names the
// command on the status line.
func (f *apiFlags) startReadProgress(ctx context.Context, s *readSession, r *ticketReader, what string) (stop func()) {
	if f.quiet {
		return func() {}
	}
	tick := f.progressInterval
	if s.lines != nil {
		tick = min(250*time.Millisecond, tick)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // ends at stop
		defer close(done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.showProgress(r, what)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		if s.lines != nil {
			s.lines.clearBar()
		}
	}
}

// showProgress shows the reads so far once.
func (s *readSession) showProgress(r *ticketReader, what string) {
	read, found := r.read.Load(), r.found.Load()
	es := s.eng.Stats()
	elapsed := time.Since(s.start)
	perSec := 0.0
	if elapsed > 0 {
		perSec = float64(read) / elapsed.Seconds()
	}
	if s.lines == nil {
		s.log.Info("progress", "tickets_read", read, "found", found, "not_found", read-found,
			"tickets_per_s", batch.RoundRate(perSec), "requests", es.Requests, "retries", es.Retries,
			"rate", batch.RoundRate(es.Rate), "elapsed", elapsed.Round(time.Second).String())
		return
	}
	line := fmt.Sprintf("%s: %s | %s | %.1f tickets/s", what, readText(read, found), plural.Of(es.Requests, "request", "requests"), perSec)
	if es.Retries > 0 {
		line += " | " + plural.Of(es.Retries, "retry", "retries")
	}
	s.lines.clearBar() // the last line may be longer
	fmt.Fprint(s.lines.barWriter(), line)
}
