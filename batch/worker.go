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

// stops are the ends a worker watches. run ends with the run itself (the
// caller's ctx, a fatal error); soft at Stop (or with run): no new
// payloads, and no payload the API cannot have applied goes out again;
// grace a Timeout after Stop (or with run): what a stop waits for (a
// request on the wire, the last attempt of a payload that may have been
// applied) is over by then.
type stops struct{ run, soft, grace context.Context }

// held is rows a worker delivers together, and what earlier requests
// that carried them told.
type held struct {
	rows []Row
	// prior counts the requests that carried these rows before (in the
	// payload they were split from, or one whose reply did not state
	// their outcome).
	prior int
	// maybeApplied: one of those requests may have been applied (it got
	// no answer, a 5xx page, an unreadable one, or one that did not state
	// these rows' outcome). Only a later answer about the rows settles
	// them; a 429 does not.
	maybeApplied bool
}

// loop runs until in is closed, soft ends (no new payloads) or a fatal
// error.
func (w *worker) loop(s stops) error {
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
			case <-s.soft.Done():
				return stopErr(s.run)
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
		if err := w.e.pacer.wait(s.soft); err != nil {
			return stopErr(s.run)
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
		w.e.delivering.Add(1)
		err := w.deliver(s, held{rows: chunk.Rows()}, true)
		w.e.delivering.Add(-1)
		if err != nil {
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

// deliver sends p's rows as one payload until it has a final answer for
// each of them, retrying, splitting and sending rows again on their own as
// needed; admitted says the pacer was already waited for. After a stop
// (soft), a payload the API cannot have applied is not sent again, and one
// that may have been gets one more attempt within the grace time, so that
// it ends with an answer if it can. It returns only fatal errors.
func (w *worker) deliver(s stops, p held, admitted bool) error {
	if p.prior == 0 && w.e.cfg.Backup != nil && s.soft.Err() == nil {
		send, err := w.backup(s, p)
		if len(send) == 0 {
			return err
		}
		p.rows = send
	}
	// A new buffer per payload, never reused: the HTTP transport may
	// still be reading a request's body after Do returned (a server that
	// answers before reading it), so a reused buffer would be overwritten
	// under it.
	body := Payload(p.rows)
	journaled := p.prior > 0 // BeforeSend has seen the rows
	last := false            // a request left after the stop
	for attempt := 1; ; attempt++ {
		if s.soft.Err() != nil && (!p.maybeApplied || last || s.run.Err() != nil) {
			return w.abandon(s.run, p, journaled)
		}
		// A payload that may have been applied waits for the pacer
		// through a stop, up to the grace time; any other stops waiting.
		pace := s.soft
		if p.maybeApplied {
			pace = s.grace
		}
		if !admitted {
			if err := w.e.pacer.wait(pace); err != nil {
				return w.abandon(s.run, p, journaled)
			}
		}
		admitted = false
		if err := w.beforeSend(s.run, p.rows); err != nil {
			return err
		}
		journaled = true
		out, sent, err := w.e.paced(pace, s.grace, attempt > 1, func(ctx context.Context) (outcome, error) {
			last = s.soft.Err() != nil
			return w.e.client.do(ctx, body, p.rows)
		})
		if !sent {
			return w.abandon(s.run, p, journaled) // stopped while waiting: this request is not sent
		}
		if err != nil {
			if s.run.Err() != nil {
				return err
			}
			p.maybeApplied = true // no answer within the grace time
			return w.abandon(s.run, p, journaled)
		}
		w.e.noteReply(out.form, len(p.rows))
		tries := p.prior + attempt
		if out.kind != kindRetry {
			return w.settle(s, p, out, tries)
		}
		// A 429 refused the request unread; anything else retried may
		// have been applied.
		p.maybeApplied = p.maybeApplied || out.httpStatus != http.StatusTooManyRequests
		if attempt > w.e.cfg.MaxRetries {
			msg := gaveUpAfter(attempt, out.message)
			if err := w.emitAll(p.rows, Failed, msg, out.httpStatus, tries); err != nil {
				return err
			}
			return w.e.unhealthy(msg)
		}
		w.e.log.Debug("retrying payload", "rows", len(p.rows), "attempt", attempt, "reason", out.message)
		// A stop ends the backoff: the top of the loop decides whether
		// the payload goes again.
		_ = sleep(s.soft, w.e.backoff(attempt))
	}
}

// paced makes one request once the pacer lets it leave, counts it, and
// tells the pacer how it was answered. When pace ends first the request
// is not made: sent is false. send makes the request with the context it
// is given (req's, traced for the pacer); its error (req ended) is
// returned.
func (e *Engine) paced(pace, req context.Context, retry bool, send func(context.Context) (outcome, error)) (out outcome, sent bool, err error) {
	dep, err := e.pacer.depart(pace)
	if err != nil {
		return outcome{}, false, err
	}
	e.requests.Add(1)
	if retry {
		e.retries.Add(1)
	}
	out, err = send(dep.trace(req))
	dep.done()
	if err != nil {
		return outcome{}, true, err
	}
	if out.httpStatus == http.StatusTooManyRequests {
		e.limited.Add(1)
		e.pacer.throttled(dep, out.retryAfter)
	} else {
		e.pacer.answered(dep, out.httpStatus)
	}
	return out, true, nil
}

// abandon leaves p without a result at a stop, and returns stopErr. Rows
// that requests carried but cannot have had applied go to Config.Unsent:
// they count as never sent. The others keep their unknown outcome.
func (w *worker) abandon(run context.Context, p held, journaled bool) error {
	if journaled && !p.maybeApplied && w.e.cfg.Unsent != nil {
		if err := w.e.cfg.Unsent(w.id, p.rows); err != nil {
			return fmt.Errorf("give back %d rows not sent: %w", len(p.rows), err)
		}
	}
	return stopErr(run)
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
// kindRetry), made tries requests after p's rows were first sent: it emits
// the outcomes the reply states, splits a payload the API rejected as a
// whole, and sends again on their own the rows whose outcome the reply
// did not state. It returns only fatal errors.
func (w *worker) settle(s stops, p held, out outcome, tries int) error {
	rows := p.rows
	switch out.kind {
	case kindRows:
		w.e.healthy()
		unknown, err := w.emitRows(rows, out, tries)
		if err != nil {
			return err
		}
		if out.form == formArray && len(unknown) > 0 {
			w.e.noteUnanswered(len(unknown))
		}
		return w.sendEach(s, unknown, tries)
	case kindSuccess:
		w.e.healthy()
		if out.shown != nil {
			w.e.observe(out.shown, rows[out.shownAt].TicketID)
		}
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
		applied := p.maybeApplied || !out.refused
		if err := w.deliver(s, held{rows: rows[:mid], prior: tries, maybeApplied: applied}, false); err != nil {
			return err
		}
		return w.deliver(s, held{rows: rows[mid:], prior: tries, maybeApplied: applied}, false)
	case kindFailed:
		if err := w.emitAll(rows, Failed, out.message, out.httpStatus, tries); err != nil {
			return err
		}
		return w.e.unhealthy(out.message)
	case kindAuth:
		return w.fatal(rows, fmt.Errorf("%w: %s", ErrAuth, out.message), out.httpStatus, tries)
	case kindConfig:
		return w.fatal(rows, out.configError(), out.httpStatus, tries)
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
// requests carried them without stating their outcome (so they may have
// been applied). Sending a row the API may already have applied is safe:
// an update sets values, and this worker still holds every later row of
// these tickets.
func (w *worker) sendEach(s stops, rows []Row, prior int) error {
	for i := range rows {
		if err := w.deliver(s, held{rows: rows[i : i+1], prior: prior, maybeApplied: true}, false); err != nil {
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
		w.e.observe(en.ticket, r.TicketID)
		st := Failed
		if en.ok {
			st = Success
		}
		res = append(res, Result{Line: r.Line, TicketID: r.TicketID, Key: r.Key,
			Status: st, Message: en.message, NotApplied: en.notApplied, HTTPStatus: out.httpStatus,
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
		res[i] = Result{Line: r.Line, TicketID: r.TicketID, Key: r.Key,
			Status: st, Message: msg, HTTPStatus: httpStatus, Attempts: tries, FinishedAt: now}
	}
	return w.emit(res)
}

// gaveUpAfter is the message of a request given up after attempt tries,
// the last answered with msg.
func gaveUpAfter(attempt int, msg string) string {
	if attempt == 1 {
		return "gave up after 1 attempt: " + msg
	}
	return fmt.Sprintf("gave up after %d attempts: %s", attempt, msg)
}
