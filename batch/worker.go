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
	in   <-chan Row
	emit func([]Result) error
}

// loop runs until in is closed, soft ends (no new payloads) or a fatal
// error. Requests use ctx, so one in flight when soft ends still finishes.
func (w *worker) loop(ctx, soft context.Context) error {
	size := w.e.cfg.BatchSize
	rows := make([]Row, 0, size)
	seen := make(map[string]struct{}, size)
	var carry Row
	hasCarry := false
	for {
		rows = rows[:0]
		clear(seen)
		if hasCarry {
			rows = append(rows, carry)
			hasCarry = false
		} else {
			select {
			case <-soft.Done():
				return stopErr(ctx)
			case r, ok := <-w.in:
				if !ok {
					return nil
				}
				rows = append(rows, r)
			}
		}
		seen[rows[0].TicketID] = struct{}{}
		// Wait for the right to send before filling the payload: rows that
		// arrive meanwhile ride in this request instead of a later one,
		// which matters when the rate limit is the bottleneck.
		if err := w.e.pacer.wait(soft); err != nil {
			return stopErr(ctx)
		}
	fill:
		for len(rows) < size {
			select {
			case r, ok := <-w.in:
				if !ok {
					break fill
				}
				if _, dup := seen[r.TicketID]; dup {
					// Never one ticket twice in a payload: the API's order
					// within one is unknown. Flush early instead.
					carry, hasCarry = r, true
					break fill
				}
				seen[r.TicketID] = struct{}{}
				rows = append(rows, r)
			default:
				break fill
			}
		}
		if err := w.deliver(ctx, soft, rows, 0, true); err != nil {
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
// of them, retrying and splitting as needed. prior counts requests that
// already carried these rows (before a split); admitted says the pacer was
// already waited for. It returns only fatal errors.
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
		w.e.requests.Add(1)
		if attempt > 1 {
			w.e.retries.Add(1)
		}
		out, err := w.e.client.do(ctx, body, rows)
		if err != nil {
			return err
		}
		tries := prior + attempt
		switch out.kind {
		case kindRows:
			w.e.healthy()
			return w.emitRows(rows, out, tries)
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
			err := fmt.Errorf("%w: %s", ErrAuth, out.message)
			if eerr := w.emitAll(rows, Failed, err.Error(), out.httpStatus, tries); eerr != nil {
				return eerr
			}
			return err
		case kindRetry:
			if out.httpStatus == http.StatusTooManyRequests {
				w.e.pacer.throttled(out.retryAfter)
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
}

// backoff is full jitter: rand(0, min(max, base·2^(attempt-1))).
func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.BackoffMax
	if shift := attempt - 1; shift < 30 {
		d = min(d, e.cfg.BackoffBase<<shift)
	}
	return rand.N(d + 1)
}

// healthy notes a payload the API answered properly: the breaker resets
// and the pacer may recover its rate.
func (e *Engine) healthy() {
	e.failStreak.Store(0)
	e.pacer.succeeded()
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

func (w *worker) emitRows(rows []Row, out outcome, tries int) error {
	now := time.Now()
	res := make([]Result, len(rows))
	for i, r := range rows {
		st := Failed
		if out.entries[i].ok {
			st = Success
		}
		res[i] = Result{Line: r.Line, TicketID: r.TicketID, Fingerprint: r.Fingerprint,
			Status: st, Message: out.entries[i].message, HTTPStatus: out.httpStatus,
			Attempts: tries, FinishedAt: now}
	}
	return w.emit(res)
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
