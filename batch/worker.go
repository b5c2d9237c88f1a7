package batch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// worker owns the rows routed to it: it builds their payloads in order and
// sends them one at a time, so a ticket (always routed to the same worker)
// never has two rows in flight.
type worker struct {
	e    *Engine
	id   int // 0 to Workers-1, for Config.BeforeSend
	q    *rowQueue
	emit func([]Result) error
}

// loop runs until in is closed, soft ends (no new payloads) or a fatal
// error. Requests use ctx, so one in flight when soft ends still finishes.
func (w *worker) loop(ctx, soft context.Context) error {
	chunk := NewChunker(w.e.cfg.BatchSize)
	var carry Row
	hasCarry := false
	for {
		chunk.Reset()
		if hasCarry {
			chunk.Add(carry) // the first row of a payload always fits
			hasCarry = false
		} else {
			select {
			case <-soft.Done():
				return stopErr(ctx)
			case r, ok := <-w.q.rows:
				if !ok {
					return nil
				}
				w.q.took(r)
				chunk.Add(r)
			}
		}
		// Wait for the right to send before filling the payload: rows that
		// arrive meanwhile ride in this request instead of a later one,
		// which matters when the rate limit is the bottleneck.
		if err := w.e.pacer.wait(soft); err != nil {
			return stopErr(ctx)
		}
		// Read after the wait, so that a switch to single-item payloads
		// made meanwhile holds for this payload.
		chunk.Resize(w.e.batchSize())
	fill:
		for !chunk.Full() {
			select {
			case r, ok := <-w.q.rows:
				if !ok {
					break fill
				}
				w.q.took(r)
				if !chunk.Add(r) {
					// A row of its ticket is in this payload already, or
					// r would make it too big: flush early, and r starts
					// the next one.
					carry, hasCarry = r, true
					break fill
				}
			default:
				break fill
			}
		}
		if err := w.deliver(ctx, soft, chunk.Rows(), 0, true); err != nil {
			return err
		}
	}
}

// stopErr is what a worker returns when it stops taking payloads: nil for
// a requested stop, the cause when the run itself was cancelled.
func stopErr(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// deliver sends rows as one payload until it has a final answer for each
// of them, retrying, splitting and sending rows again on their own as
// needed. prior counts requests that already carried these rows (in the
// payload they were split from, or in one whose reply did not state their
// outcome); admitted says the pacer was already waited for. It returns
// only fatal errors.
func (w *worker) deliver(ctx, soft context.Context, rows []Row, prior int, admitted bool) error {
	// A new buffer per payload, never reused: the HTTP transport may
	// still be reading a request's body after Do returned (a server that
	// answers before reading it), so a reused buffer would be overwritten
	// under it.
	body := Payload(rows)
	for attempt := 1; ; attempt++ {
		if !admitted {
			if err := w.e.pacer.wait(soft); err != nil {
				return stopErr(ctx)
			}
		}
		admitted = false
		if soft.Err() != nil {
			return stopErr(ctx) // stopped while waiting: this request is not sent
		}
		if err := w.beforeSend(ctx, rows); err != nil {
			return err
		}
		dep, err := w.e.pacer.depart(soft)
		if err != nil {
			return stopErr(ctx)
		}
		w.e.requests.Add(1)
		if attempt > 1 {
			w.e.retries.Add(1)
		}
		out, err := w.e.client.do(dep.trace(ctx), body, rows)
		dep.done()
		if err != nil {
			return err
		}
		if out.httpStatus == http.StatusTooManyRequests {
			w.e.pacer.throttled(dep, out.retryAfter)
		} else {
			w.e.pacer.answered(dep, out.httpStatus)
		}
		w.e.noteReply(out.form, len(rows))
		tries := prior + attempt
		if out.kind != kindRetry {
			return w.settle(ctx, soft, rows, out, tries)
		}
		if attempt > w.e.cfg.MaxRetries {
			msg := fmt.Sprintf("gave up after %d attempts: %s", attempt, out.message)
			if err := w.emitAll(rows, Failed, msg, out.httpStatus, tries); err != nil {
				return err
			}
			return w.e.unhealthy(msg)
		}
		w.e.log.Debug("retrying payload", "rows", len(rows), "attempt", attempt, "reason", out.message)
		if sleep(soft, w.e.backoff(attempt)) != nil {
			return stopErr(ctx)
		}
	}
}

// beforeSend calls Config.BeforeSend, if any, for the rows of the request
// about to be made.
func (w *worker) beforeSend(ctx context.Context, rows []Row) error {
	if w.e.cfg.BeforeSend == nil {
		return nil
	}
	if err := w.e.cfg.BeforeSend(ctx, w.id, rows); err != nil {
		return fmt.Errorf("before sending %d rows: %w", len(rows), err)
	}
	return nil
}

// settle acts on a reply that is final for its request (anything but
// kindRetry), made tries requests after rows were first sent: it emits
// the outcomes the reply states, splits a payload the API rejected as a
// whole, and sends again on their own the rows whose outcome the reply
// did not state. It returns only fatal errors.
func (w *worker) settle(ctx, soft context.Context, rows []Row, out outcome, tries int) error {
	switch out.kind {
	case kindRows:
		w.e.healthy()
		unknown, err := w.emitRows(rows, out, tries)
		if err != nil {
			return err
		}
		return w.sendEach(ctx, soft, unknown, tries)
	case kindSuccess:
		w.e.healthy()
		return w.emitAll(rows, Success, out.message, out.httpStatus, tries)
	case kindRejected:
		w.e.failStreak.Store(0) // the API answered; it is not down
		if len(rows) == 1 {
			return w.emitAll(rows, Failed, out.message, out.httpStatus, tries)
		}
		// Bisect until the failure sits on the rows that cause it.
		// Resending rows the API may already have applied is safe:
		// an update sets values, and this worker still holds every
		// later row of these tickets.
		w.e.splits.Add(1)
		mid := len(rows) / 2
		if err := w.deliver(ctx, soft, rows[:mid], tries, false); err != nil {
			return err
		}
		return w.deliver(ctx, soft, rows[mid:], tries, false)
	case kindFailed:
		if err := w.emitAll(rows, Failed, out.message, out.httpStatus, tries); err != nil {
			return err
		}
		return w.e.unhealthy(out.message)
	case kindAuth:
		return w.fatal(rows, fmt.Errorf("%w: %s", ErrAuth, out.message), out.httpStatus, tries)
	case kindConfig:
		return w.fatal(rows, fmt.Errorf("%w: %s", ErrConfig, out.message), out.httpStatus, tries)
	}
	return fmt.Errorf("reply of kind %d is not final", out.kind)
}

// fatal records rows as failed with err, which stops the run, and returns
// err: the rows of the request that found it get the reason, and --resume
// sends them again.
func (w *worker) fatal(rows []Row, err error, httpStatus, tries int) error {
	if eerr := w.emitAll(rows, Failed, err.Error(), httpStatus, tries); eerr != nil {
		return eerr
	}
	return err
}

// sendEach sends each row as a payload of its own, in order, after prior
// requests carried them without stating their outcome. Sending a row the
// API may already have applied is safe: an update sets values, and this
// worker still holds every later row of these tickets.
func (w *worker) sendEach(ctx, soft context.Context, rows []Row, prior int) error {
	for i := range rows {
		if err := w.deliver(ctx, soft, rows[i:i+1], prior, false); err != nil {
			return err
		}
	}
	return nil
}

// backoff is full jitter: rand(0, min(max, base·2^(attempt-1))).
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.BackoffMax
	if shift := attempt - 1; shift < 30 {
		d = min(d, e.cfg.BackoffBase<<shift)
	}
	return rand.N(d + 1)
}

// healthy notes a payload the API answered properly: the breaker resets.
func (e *Engine) healthy() {
	e.failStreak.Store(0)
}

// unhealthy counts a payload that failed after its retries; enough of them
// in a row mean the API is down and the run stops.
func (e *Engine) unhealthy(msg string) error {
	n := e.failStreak.Add(1)
	if n >= int64(e.cfg.BreakerThreshold) {
		return fmt.Errorf("%w: %d payloads in a row failed after their retries; last: %s", ErrAPIDown, n, msg)
	}
	return nil
}

// emitRows emits the result of each row whose outcome out states, and
// returns the other rows, in order.
func (w *worker) emitRows(rows []Row, out outcome, tries int) (unknown []Row, err error) {
	now := time.Now()
	res := make([]Result, 0, len(rows))
	for i, r := range rows {
		en := out.entries[i]
		if !en.known {
			unknown = append(unknown, r)
			continue
		}
		st := Failed
		if en.ok {
			st = Success
		}
		res = append(res, Result{Line: r.Line, TicketID: r.TicketID, Fingerprint: r.Fingerprint,
			Status: st, Message: en.message, HTTPStatus: out.httpStatus,
			Attempts: tries, FinishedAt: now})
	}
	if len(res) > 0 {
		err = w.emit(res)
	}
	return unknown, err
}

func (w *worker) emitAll(rows []Row, st Status, msg string, httpStatus, tries int) error {
	now := time.Now()
	res := make([]Result, len(rows))
	for i, r := range rows {
		res[i] = Result{Line: r.Line, TicketID: r.TicketID, Fingerprint: r.Fingerprint,
			Status: st, Message: msg, HTTPStatus: httpStatus, Attempts: tries, FinishedAt: now}
	}
	return w.emit(res)
}
