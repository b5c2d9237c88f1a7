package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/syncstate"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// pipeline is the sending part of a run: a producer reading records, the
// engine sending them, and one writer goroutine owning the results file
// and its in-flight journal.
type pipeline struct {
	records     resume.Records
	w           *writer.Writer
	plan        *resume.Plan // nil unless resuming
	eng         *batch.Engine
	sending     *sendHook // the engine's BeforeSend
	log         *slog.Logger
	limit       int
	resultsPath string
	stop        <-chan struct{} // the soft stop
	stats       *Stats
	sync        *syncRun // nil unless a sync run
	prior       priorResults

	readErr error // set by the producer before it closes rows
}

// writeReq is one piece of work for the writer goroutine: results to
// append, rows about to be sent to record in the journal, or the lines of
// rows the engine gave back as not sent to drop from it; the last two are
// answered on done once they are.
type writeReq struct {
	results []writer.Result
	sender  int
	sending []writer.InFlight
	unsent  []int
	done    chan error
}

// sendHook is the engine's BeforeSend: it records a request's rows in the
// journal, through the writer goroutine, before the request leaves. A
// worker's results reach the writer before its next request does (one
// channel, in order), so its journal slot never drops rows whose results
// are not written.
type sendHook struct {
	reqs chan<- writeReq // set before the engine runs
}

func (h *sendHook) beforeSend(ctx context.Context, worker int, rows []batch.Row) error {
	req := writeReq{sender: worker, sending: make([]writer.InFlight, len(rows)), done: make(chan error, 1)}
	for i, r := range rows {
		req.sending[i] = writer.InFlight{Line: r.Line, TicketID: r.TicketID, Key: r.Key}
	}
	select {
	case h.reqs <- req:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// unsent is the engine's Unsent: it drops from the journal rows whose
// requests the API cannot have applied, so that they count as not sent
// rather than of unknown outcome. Even after the run was cancelled: the
// writer goroutine reads requests until the engine has returned.
func (h *sendHook) unsent(_ int, rows []batch.Row) error {
	req := writeReq{unsent: make([]int, len(rows)), done: make(chan error, 1)}
	for i, r := range rows {
		req.unsent[i] = r.Line
	}
	h.reqs <- req
	return <-req.done
}

// run sends the input. A soft stop (p.stop) stops it taking new rows and
// payloads; cancelling ctx stops it at once. abortInput unblocks a read of
// stdin the run no longer wants.
func (p *pipeline) run(ctx context.Context, abortInput func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	reqs := make(chan writeReq, 64)
	p.sending.reqs = reqs
	var writeErr error
	writerDone := make(chan struct{})
	go func() { // the only goroutine that touches the results file; ends when reqs is closed
		defer close(writerDone)
		writeErr = p.write(reqs, cancel)
	}()
	send := func(res []writer.Result) error {
		select {
		case reqs <- writeReq{results: res}:
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
		for i := range res {
			if res[i].NotApplied {
				p.stats.notApplied.Add(1)
			}
		}
		return send(toWriter(res))
	})
	abortInput() // the producer may be blocked reading stdin
	stopProd()
	<-prodDone
	close(reqs)
	<-writerDone
	unanswered := p.w.Unanswered()
	p.stats.unanswered(unanswered)
	failed, unknown, done := p.prior.left(unanswered)
	p.stats.failedBefore.Store(failed)
	p.stats.unknownBefore.Store(unknown)
	p.stats.doneBefore.Store(done)

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

// write does the writer goroutine's work until reqs is closed. After a
// failed write it cancels the run and answers every later request with
// that error, so that no sender blocks and nothing more is sent.
func (p *pipeline) write(reqs <-chan writeReq, cancel context.CancelCauseFunc) error {
	var failed error
	for req := range reqs {
		var err error
		switch {
		case failed != nil:
			err = failed
		case req.unsent != nil:
			err = p.w.NotSent(req.unsent)
		case req.done != nil:
			err = p.w.Sending(req.sender, req.sending)
			if err == nil {
				err = p.sync.sending(req.sending)
			}
		default:
			err = p.w.Write(req.results)
			if err == nil {
				for _, r := range req.results {
					p.stats.count(r.Status)
					p.stats.tallyReason(&r)
				}
				p.prior.written(req.results)
				p.sync.written(req.results)
				if len(reqs) == 0 {
					err = p.sync.idle()
				}
			}
		}
		p.stats.inflight.Store(int64(p.w.InFlightRows()))
		if req.done != nil {
			req.done <- err
		}
		if err != nil && failed == nil {
			failed = err
			if !errors.Is(err, errSyncWrite) {
				failed = fmt.Errorf("write results %s: %w", p.resultsPath, err)
			}
			cancel(failed)
		}
	}
	return failed
}

// errStopped ends the producer's walk: the run is stopping, and says why
// elsewhere.
var errStopped = errors.New("stopped")

// produce reads records until the end, a stop, or an input error, and
// hands them on: invalid rows straight to the results, rows a resume
// skips or holds back counted, the rest (unless a sync run finds them
// unchanged, or holds them back) to the engine.
func (p *pipeline) produce(ctx context.Context, rows chan<- batch.Row, send func([]writer.Result) error) error {
	defer p.sync.flush(send) // rows recorded unchanged so far get their results
	err := resume.Walk(p.records, p.limit, p.plan, func(row *resume.Row) error {
		if stopped(p.stop) || ctx.Err() != nil {
			return errStopped
		}
		p.stats.read.Add(1)
		if row.Invalid != "" {
			if p.prior.sameInvalid(row) {
				p.stats.keptInvalid(row)
				return nil
			}
			if send([]writer.Result{invalidResult(row.Record)}) != nil {
				return errStopped
			}
			return nil
		}
		if row.Repeat && p.stats.duplicates.Add(1) == 1 {
			p.log.Warn("a ticket_id appears more than once: its rows go out in file order, one at a time (the summary counts them)",
				"ticket_id", row.TicketID, "line", row.Line)
		}
		switch row.Decision {
		case resume.Skip:
			p.stats.skipped.Add(1)
			return nil
		case resume.HoldBack:
			p.stats.heldBack.Add(1)
			return nil
		case resume.SendAgain:
			p.stats.resent.Add(1)
		}
		switch d, err := p.sync.decide(row.Record, row.Key, send); {
		case err != nil:
			return errStopped
		case d == syncstate.HoldBack:
			p.stats.heldBack.Add(1)
			return nil
		case d == syncstate.Unchanged:
			return nil
		}
		p.prior.add(row)
		select {
		case rows <- rowOf(row):
		case <-p.stop:
			return errStopped
		case <-ctx.Done():
			return errStopped
		}
		return nil
	})
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

func invalidResult(rec reader.Record) writer.Result {
	return writer.Result{
		TicketID: rec.TicketID, Status: writer.StatusInvalid, Message: rec.Invalid,
		Line: rec.Line, FinishedAt: time.Now(),
	}
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
			Key: r.Key,
		}
	}
	return out
}
