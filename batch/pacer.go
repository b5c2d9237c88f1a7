package batch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer decides when a worker may send: a shared pause (a server's
// Retry-After holds every worker, not just the one that was told) and one
// token bucket whose rate adapts to 429s (AIMD: halve at most once a
// second down to a floor, recover additively while requests succeed).
type pacer struct {
	lim       *rate.Limiter // nil: unlimited
	max, step float64
	floor     float64
	log       *slog.Logger

	mu        sync.Mutex
	until     time.Time // paused until
	lastCut   time.Time
	lastRaise time.Time
	last429   time.Time
	ceiling   float64 // lowest rate a 429 came at; 0: none recently

	// spaceMu serialises the spacing of admissions; last is when the
	// previous one was let go. Only with a burst of 1 (see space).
	spaceMu sync.Mutex
	last    time.Time
	spaced  bool
}

const (
	// repeatWindow: a 429 within this long of the previous one is a repeat.
	repeatWindow = 10 * time.Second
	// ceilingShare of the lowest refused rate is as far as recovery goes,
	// a margin for the jitter between our clock and the API's.
	ceilingShare = 0.95
	// forgetCeiling: after this long without a 429 the ceiling goes.
	forgetCeiling = 60 * time.Second
)

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

// wait blocks until the pause is over and a token is available.
func (p *pacer) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		d := time.Until(p.until)
		p.mu.Unlock()
		if d <= 0 {
			break
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	if p.lim == nil {
		return ctx.Err()
	}
	if err := p.lim.Wait(ctx); err != nil {
		return err
	}
	// A 429 may have paused everyone while this worker waited for its
	// token: it honours the pause too, then takes a fresh token.
	p.mu.Lock()
	paused := time.Now().Before(p.until)
	p.mu.Unlock()
	if paused {
		return p.wait(ctx)
	}
	return p.space(ctx)
}

// space keeps admissions at least 1/rate apart in real time. The bucket
// schedules them 1/rate apart, but a worker woken a little late lets the
// next one, woken on time, follow it closer than that; a server that
// counts arrivals strictly (a token bucket with a burst of 1) refuses it,
// and every refusal pauses all workers for its Retry-After and halves the
// rate. Spacing from the actual previous admission costs the timer's
// overshoot, about 1% of the rate at 20 requests/s (see BENCHMARKS.md).
// With a burst above 1 the user allows closer requests: no spacing.
func (p *pacer) space(ctx context.Context) error {
	if !p.spaced {
		return nil
	}
	p.spaceMu.Lock()
	defer p.spaceMu.Unlock()
	gap := time.Duration(float64(time.Second) / float64(p.lim.Limit()))
	if err := sleep(ctx, time.Until(p.last.Add(gap))); err != nil {
		return err
	}
	p.last = time.Now()
	return nil
}

// throttled records a 429: pause everyone for retryAfter, and lower the
// rate (once per second at most, or N simultaneous 429s would halve it N
// times).
func (p *pacer) throttled(retryAfter time.Duration) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := now.Add(retryAfter); until.After(p.until) {
		p.until = until
	}
	// Only repeated 429s lower the rate: a lone one (a request that
	// arrived a hair early) costs its pause, not half the rate for the
	// many seconds the additive recovery takes.
	repeated := !p.last429.IsZero() && now.Sub(p.last429) < repeatWindow
	p.last429 = now
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

// succeeded lets the rate recover additively, at most one step a second,
// up to just under the lowest rate the API refused (forgotten after a
// quiet spell, in case the API's limit went up).
func (p *pacer) succeeded() {
	if p.lim == nil {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
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

func (p *pacer) current() float64 {
	if p.lim == nil {
		return 0
	}
	return float64(p.lim.Limit())
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
