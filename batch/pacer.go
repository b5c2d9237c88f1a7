package batch

import (
	"context"
	"log/slog"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// pacer decides when a worker may send: a shared pause (a server's
// Retry-After holds every worker, not just the one that was told), one
// token bucket for admission, and, with a burst of 1, the spacing of
// departures. Its rateControl sets the rate from the API's answers.
type pacer struct {
	clock  clock
	ctl    rateControl
	lim    *rate.Limiter // nil: unlimited
	spaced bool
	log    *slog.Logger

	mu    sync.Mutex
	until time.Time // paused until
	seq   int64     // departures so far
	// Spacing: last is when the previous request was written, pad is
	// added to the next gap (see freshPad), and writing, when not nil,
	// is closed once the request that left last has been written.
	last    time.Time
	pad     time.Duration
	writing chan struct{}
}

// leaving ends one spaced departure: the first call of end times it and
// lets the next request go.
type leaving struct {
	once  sync.Once
	fresh atomic.Bool // the request went on a connection dialled for it
	p     *pacer
	done  chan struct{}
}

func (l *leaving) end() { l.once.Do(func() { l.p.written(l.done, l.fresh.Load()) }) }

// trace returns ctx with hooks that note whether the request got a new
// connection and end its departure once it is written.
func (d departure) trace(ctx context.Context) context.Context {
	l := d.leave
	if l == nil {
		return ctx
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn:      func(i httptrace.GotConnInfo) { l.fresh.Store(!i.Reused) },
		WroteRequest: func(httptrace.WroteRequestInfo) { l.end() },
	})
}

// done ends the departure of a request whose exchange is over, whether or
// not it was written (a dial that failed, a context that ended).
func (d departure) done() {
	if d.leave != nil {
		d.leave.end()
	}
}

// longPause: a Retry-After this long is logged when it begins.
const longPause = 10 * time.Second

// newPacer paces at r requests/s with a bucket of burst (r 0: unlimited),
// lowering the rate on 429s in a row (see aimd).
func newPacer(r float64, burst int, log *slog.Logger) *pacer {
	if r <= 0 {
		return pacerOn(realClock{}, fixedRate(0), 1, false, log)
	}
	return pacerOn(realClock{}, newAIMD(r), burst, burst == 1, log)
}

// newAutoPacer paces at the rate a rateController finds, its requests
// spaced as for a burst of 1: the API's limit may be that strict.
func newAutoPacer(log *slog.Logger) *pacer {
	c := realClock{}
	return pacerOn(c, newRateController(c.Now()), 1, true, log)
}

// pacerOn paces on c at the rate ctl sets, with a bucket of burst.
func pacerOn(c clock, ctl rateControl, burst int, spaced bool, log *slog.Logger) *pacer {
	p := &pacer{clock: c, ctl: ctl, spaced: spaced, log: log}
	if r := ctl.current(); r > 0 {
		p.lim = rate.NewLimiter(rate.Limit(r), burst)
	}
	return p
}

// wait blocks until the pause is over and a token is available: the
// right to prepare a request. depart says when it may leave.
func (p *pacer) wait(ctx context.Context) error {
	for {
		if err := sleepOn(ctx, p.clock, p.pauseLeft()); err != nil {
			return err
		}
		if p.lim == nil {
			return nil
		}
		now := p.clock.Now()
		r := p.lim.ReserveN(now, 1)
		if err := sleepOn(ctx, p.clock, r.DelayFrom(now)); err != nil {
			r.CancelAt(p.clock.Now())
			return err
		}
		// A 429 may have paused everyone while this worker waited for
		// its token: it honours the pause too, then takes a fresh one.
		if p.pauseLeft() <= 0 {
			return nil
		}
	}
}

func (p *pacer) pauseLeft() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.until.Sub(p.clock.Now())
}

// depart blocks until the request, prepared, may leave, and returns its
// departure; the caller sends it at once, with the context d.trace gives,
// and calls d.done when the exchange is over.
//
// With a burst of 1 a request leaves departGap after the previous one was
// written, and not before it was: the token bucket admits requests 1/rate
// apart, but what follows admission (filling the payload, a dial) takes
// longer for some than others, and a strict API refuses a request that
// arrives a fraction of a millisecond early, pausing every worker. (A
// body the server does not read holds the next request until it is
// written or times out.) With a larger burst the user allows closer
// requests: no spacing.
func (p *pacer) depart(ctx context.Context) (departure, error) {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		wait, written := p.until.Sub(now), p.writing
		if p.spaced {
			wait = max(wait, p.last.Add(departGap(p.ctl.current())+p.pad).Sub(now))
		}
		if written == nil && wait <= 0 {
			d := p.leave(now)
			p.mu.Unlock()
			return d, nil
		}
		p.mu.Unlock()
		if written == nil {
			if err := sleepOn(ctx, p.clock, wait); err != nil {
				return departure{}, err
			}
			continue
		}
		select {
		case <-written:
		case <-ctx.Done():
			return departure{}, ctx.Err()
		}
	}
}

// leave makes the next departure, at now. p.mu is held.
func (p *pacer) leave(now time.Time) departure {
	p.seq++
	d := departure{at: now, rate: p.ctl.current(), seq: p.seq}
	p.ctl.departed(d)
	p.follow(now)
	if p.spaced {
		p.writing = make(chan struct{})
		d.leave = &leaving{p: p, done: p.writing}
	}
	return d
}

// written ends the spaced departure whose channel is done: the next one
// is spaced from now, and more after a request on a new connection.
func (p *pacer) written(done chan struct{}, fresh bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last, p.pad = p.clock.Now(), 0
	if fresh {
		p.pad = freshPad(p.ctl.current())
	}
	close(done)
	p.writing = nil
}

// freshPad is the extra space after a request that went on a connection
// dialled for it: the server reaches such a request later (it accepts the
// connection first), so the next one, on a warm connection, could arrive
// early. Half the gap, at most 10 ms: a run dials once per worker.
func freshPad(r float64) time.Duration {
	if r <= 0 {
		return 0
	}
	return min(time.Duration(float64(time.Second)/r)/2, 10*time.Millisecond)
}

// departGap is how far apart requests leave at rate r: 1/r and a margin
// (1%, at most 2 ms) for the jitter between a request being written and
// the API's clock counting it.
func departGap(r float64) time.Duration {
	if r <= 0 {
		return 0
	}
	gap := time.Duration(float64(time.Second) / r)
	return gap + min(gap/100, 2*time.Millisecond)
}

// answered records the API's answer, other than a 429 (see throttled),
// to the request d: an HTTP status below 500 says the rate d left at was
// accepted. (No answer, or a 5xx, says nothing of the rate.)
func (p *pacer) answered(d departure, status int) {
	if status == 0 || status >= 500 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	p.ctl.accepted(now, d)
	p.follow(now)
}

// throttled records a 429 answering d: every worker pauses for
// retryAfter (the API's word), and the rate control hears of it.
func (p *pacer) throttled(d departure, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	if until := now.Add(retryAfter); until.After(p.until) {
		p.until = until
		if retryAfter >= longPause {
			// Say so: the progress line would only show a stall.
			p.log.Warn("the API asked to pause: every request waits", "retry_after", retryAfter, "until", until.Format(time.RFC3339))
		}
	}
	p.ctl.refused(now, p.until, d)
	p.follow(now)
}

// follow sets the token bucket to the control's rate. p.mu is held.
func (p *pacer) follow(now time.Time) {
	if p.lim == nil {
		return
	}
	r, cur := p.ctl.current(), float64(p.lim.Limit())
	if r == cur {
		return
	}
	p.lim.SetLimitAt(now, rate.Limit(r))
	if r < cur {
		p.log.Warn("rate limited by the API: lowering the request rate", "from", RoundRate(cur), "to", RoundRate(r))
	} else {
		p.log.Debug("raising the request rate", "from", RoundRate(cur), "to", RoundRate(r))
	}
}

// current returns the rate in force (0: unlimited).
func (p *pacer) current() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctl.current()
}

// settled returns the rate --rate auto settled at, 0 before it did (or
// without --rate auto).
func (p *pacer) settled() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctl.settled()
}

// RoundRate rounds a rate (per second, not negative) to two decimals, as
// the engine's log lines show rates, so that a caller's lines show theirs
// alike.
func RoundRate(r float64) float64 { return float64(int64(r*100+0.5)) / 100 }
