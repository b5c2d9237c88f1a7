package batch

import (
	"context"
	"log/slog"
	"net/http/httptrace"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// pacer decides when a worker may send: a shared pause (a server's
// Retry-After holds every worker, not just the one that was told), one
// token bucket for admission, and the spacing of departures. Its rate is
// fixed, adapting to 429s (AIMD: halve at most once a second down to a
// floor, recover additively while requests succeed), or found by a
// rateController (--rate auto).
type pacer struct {
	lim       *rate.Limiter // nil: unlimited
	auto      *rateController
	max, step float64
	floor     float64
	log       *slog.Logger

	mu        sync.Mutex
	until     time.Time // paused until
	lastCut   time.Time
	lastRaise time.Time
	last429   time.Time
	ceiling   float64 // lowest rate a 429 came at; 0: none recently
	// okSince429 counts payloads answered properly since the last 429.
	okSince429 int

	// departMu serialises departures; last is when the previous request
	// was written. Only with a burst of 1 (see depart).
	departMu sync.Mutex
	last     time.Time
	pad      time.Duration // added to the next gap (see freshPad)
	spaced   bool
}

// departure is one request as it left: when, at what rate it was paced,
// and its place in the sequence of departures. A reply is judged against
// the rate its request left at, not the rate in force when it comes back.
type departure struct {
	at   time.Time
	rate float64 // requests/s in force; 0: unlimited
	seq  int64   // 1, 2, …: the controller's count of departures
	// leave, when not nil, records when the request was written and lets
	// the next one go (see depart).
	leave *leaving
}

// leaving is the end of one spaced departure: the first call of left
// times it and lets the next request go.
type leaving struct {
	once  sync.Once
	fresh atomic.Bool // the request went on a connection dialled for it
	left  func(fresh bool)
}

func (l *leaving) end() { l.once.Do(func() { l.left(l.fresh.Load()) }) }

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

const (
	// repeatWindow: a 429 within this long of the previous one is a
	// repeat, unless lone429Gap payloads were answered properly between.
	repeatWindow = 10 * time.Second
	lone429Gap   = 50
	// longPause: a Retry-After this long is logged when it begins.
	longPause = 10 * time.Second
	// ceilingShare of the lowest refused rate is as far as recovery goes,
	// a margin for the jitter between our clock and the API's.
	ceilingShare = 0.95
	// forgetCeiling: after this long without a 429 the ceiling goes.
	forgetCeiling = 60 * time.Second
)

// newPacer paces at r requests/s with a bucket of burst (r 0: unlimited).
func newPacer(r float64, burst int, log *slog.Logger) *pacer {
	p := &pacer{log: log}
	if r > 0 {
		p.lim = rate.NewLimiter(rate.Limit(r), burst)
		p.max = r
		p.step = r / 20
		p.floor = min(r, max(r/64, 0.05))
		p.spaced = burst == 1
	}
	return p
}

// newAutoPacer paces at the rate a rateController finds, its requests
// spaced as for a burst of 1: the API's limit may be that strict.
func newAutoPacer(log *slog.Logger) *pacer {
	c := newRateController(time.Now())
	return &pacer{log: log, auto: c, lim: rate.NewLimiter(rate.Limit(c.current()), 1), spaced: true}
}

// wait blocks until the pause is over and a token is available: the
// right to prepare a request. depart says when it may leave.
func (p *pacer) wait(ctx context.Context) error {
	if err := p.waitPause(ctx); err != nil {
		return err
	}
	if p.lim == nil {
		return ctx.Err()
	}
	if err := p.lim.Wait(ctx); err != nil {
		return err
	}
	// A 429 may have paused everyone while this worker waited for its
	// token: it honours the pause too, then takes a fresh token.
	if p.paused() {
		return p.wait(ctx)
	}
	return nil
}

func (p *pacer) paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.until)
}

// waitPause sleeps until the shared pause is over.
func (p *pacer) waitPause(ctx context.Context) error {
	for {
		p.mu.Lock()
		d := time.Until(p.until)
		p.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// depart blocks until the request, prepared, may leave, and returns its
// departure; the caller sends it at once, with the context d.trace gives,
// and calls d.done when the exchange is over. With a burst of 1 requests
// leave at least departGap apart, timed from when the previous one was
// written: the token bucket schedules admissions 1/rate apart, but what
// follows admission (filling the payload, the journal, goroutine
// hand-offs to the connection's writer, a dial) is slower for some
// requests than others, and a server that counts arrivals strictly (a
// token bucket of one token) refuses a request that arrives early by a
// fraction of a millisecond, and every refusal pauses all workers for its
// Retry-After. No request may leave until the one before it was written
// (handed to the kernel: a body larger than the socket's buffer, over a
// slow uplink or to a server that does not read, holds the next request
// until it is, or until its --timeout). Timing from the headers instead
// refused more often against a strict limit at 50/s.
// With a burst above 1 the user allows closer requests: no spacing.
func (p *pacer) depart(ctx context.Context) (departure, error) {
	if !p.spaced {
		if err := p.waitPause(ctx); err != nil {
			return departure{}, err
		}
		return departure{at: time.Now(), rate: p.current()}, nil
	}
	p.departMu.Lock()
	for {
		err := p.waitPause(ctx)
		if err == nil {
			err = sleepUntil(ctx, p.last.Add(departGap(p.current())+p.pad))
		}
		if err != nil {
			p.departMu.Unlock()
			return departure{}, err
		}
		if !p.paused() { // else a 429 came meanwhile: wait it out, space again
			break
		}
	}
	now := time.Now()
	d := departure{at: now, rate: p.current()}
	if p.auto != nil {
		p.mu.Lock()
		d = p.auto.departed(now)
		p.follow(now)
		p.mu.Unlock()
	}
	// departMu stays held until the request is written: the next request
	// is spaced from then.
	d.leave = &leaving{left: func(fresh bool) {
		p.last, p.pad = time.Now(), 0
		if fresh {
			p.pad = freshPad(p.current())
		}
		p.departMu.Unlock()
	}}
	return d, nil
}

// freshPad is the extra space after a request that went on a connection
// dialled for it: the server takes longer to reach such a request (it
// accepts the connection and starts serving it first), so it counts it
// later than one on a warm connection, and the next request, on a warm
// connection, could arrive early by a millisecond or more (seen at the
// start of every run). Half the gap, at most 10 ms; a run dials a
// connection per worker, so it costs little.
func freshPad(r float64) time.Duration {
	if r <= 0 {
		return 0
	}
	return min(time.Duration(float64(time.Second)/r)/2, 10*time.Millisecond)
}

// departGap is how far apart requests leave at rate r: 1/r and a margin
// for what the client cannot see, the jitter between a request being
// written and the API's clock counting it (1%, at most 2 ms). On the
// 2-core VM of BENCHMARKS.md that jitter is under 0.4 ms for 99% of
// requests but reaches 1.3–1.8 ms about once in 500, even for a bare
// client: no margin that keeps 98% of the rate covers that at 50/s.
func departGap(r float64) time.Duration {
	if r <= 0 {
		return 0
	}
	gap := time.Duration(float64(time.Second) / r)
	return gap + min(gap/100, 2*time.Millisecond)
}

// spinWindow is how much of a wait for a departure is spent yielding in a
// loop rather than on a timer, which wakes up to a millisecond or more
// late on a busy machine: at 50 requests/s that lateness would cost 5% of
// the rate.
const spinWindow = 1500 * time.Microsecond

// sleepUntil returns at t (within microseconds, unless the machine is
// starved), or when ctx ends, with its error.
func sleepUntil(ctx context.Context, t time.Time) error {
	if d := time.Until(t); d > spinWindow { // (d may be the most negative Duration)
		if err := sleep(ctx, d-spinWindow); err != nil {
			return err
		}
	}
	for time.Now().Before(t) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return ctx.Err()
}

// answered records the API's answer, other than a 429 (see throttled),
// to the request d: an HTTP status below 500 tells the controller of
// --rate auto that the rate d left at was accepted. (No answer, or a 5xx,
// says nothing of the rate.)
func (p *pacer) answered(d departure, status int) {
	if p.auto == nil || status == 0 || status >= 500 {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.auto.accepted(now, d)
	p.follow(now)
}

// throttled records a 429: pause everyone for retryAfter, and lower the
// rate: with --rate auto as the controller says; else once per second at
// most (or N simultaneous 429s would halve it N times).
func (p *pacer) throttled(d departure, retryAfter time.Duration) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := now.Add(retryAfter); until.After(p.until) {
		p.until = until
		if retryAfter >= longPause {
			// Say so: the progress line would only show a stall.
			p.log.Warn("the API asked to pause: every request waits", "retry_after", retryAfter, "until", until.Format(time.RFC3339))
		}
	}
	if p.auto != nil {
		p.auto.refused(now, p.until, d)
		p.follow(now)
		return
	}
	// Only repeated 429s lower the rate: a lone one (a request that
	// arrived a hair early) costs its pause, not half the rate for the
	// many seconds the additive recovery takes. Two are not a repeat when
	// many answers were accepted between them: at a rate the API cannot
	// take, nearly every request past the first few is refused.
	repeated := !p.last429.IsZero() && now.Sub(p.last429) < repeatWindow && p.okSince429 < lone429Gap
	p.last429, p.okSince429 = now, 0
	if p.lim == nil {
		return
	}
	cur := float64(p.lim.Limit())
	// Remember the lowest rate the API refused: recovery stops short of
	// it, so the run settles just under the API's limit instead of
	// probing it (and paying a Retry-After pause) every few seconds.
	// (Not within a second of a cut: those 429s answer requests sent
	// at the rate before it.)
	if (p.ceiling == 0 || cur < p.ceiling) && now.Sub(p.lastCut) >= time.Second {
		p.ceiling = cur
	}
	if !repeated || now.Sub(p.lastCut) < time.Second {
		return
	}
	next := max(p.floor, cur/2)
	if next < cur {
		p.lim.SetLimitAt(now, rate.Limit(next))
		p.log.Warn("rate limited by the API: lowering the request rate", "from", RoundRate(cur), "to", RoundRate(next), "retry_after", retryAfter)
	}
	p.lastCut = now
	p.lastRaise = now
}

// follow sets the token bucket to the controller's rate. p.mu is held.
func (p *pacer) follow(now time.Time) {
	r := p.auto.current()
	if cur := float64(p.lim.Limit()); r != cur {
		p.lim.SetLimitAt(now, rate.Limit(r))
		if r < cur {
			p.log.Info("rate limited by the API: lowering the request rate", "from", RoundRate(cur), "to", RoundRate(r))
		} else {
			p.log.Debug("probing a higher request rate", "from", RoundRate(cur), "to", RoundRate(r))
		}
	}
}

// succeeded lets a fixed rate recover additively, at most one step a
// second, up to just under the lowest rate the API refused (forgotten
// after a quiet spell, in case the API's limit went up).
func (p *pacer) succeeded() {
	if p.lim == nil || p.auto != nil {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.okSince429++
	if p.ceiling > 0 && now.Sub(p.last429) > forgetCeiling {
		p.ceiling = 0
	}
	target := p.max
	if p.ceiling > 0 {
		target = min(target, ceilingShare*p.ceiling)
	}
	cur := float64(p.lim.Limit())
	if cur == target || now.Sub(p.lastRaise) < time.Second {
		return
	}
	// Below the target: one step up. Above it (a lone 429 at the full
	// rate): down to it at once.
	p.lim.SetLimitAt(now, rate.Limit(min(target, cur+p.step)))
	p.lastRaise = now
}

// current returns the rate in force (0: unlimited).
func (p *pacer) current() float64 {
	if p.lim == nil {
		return 0
	}
	return float64(p.lim.Limit())
}

// settled returns the rate --rate auto settled at, 0 before it did (or
// without --rate auto).
func (p *pacer) settled() float64 {
	if p.auto == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.auto.settled()
}

// sleep waits d, or until ctx ends (its error then).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RoundRate rounds a rate (per second, not negative) to two decimals, as
// the engine's log lines show rates, so that a caller's lines show theirs
// alike.
func RoundRate(r float64) float64 { return float64(int64(r*100+0.5)) / 100 }
