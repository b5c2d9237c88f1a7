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
}

func newPacer(r float64, burst int, log *slog.Logger) *pacer {
	p := &pacer{log: log}
	if r > 0 {
		p.lim = rate.NewLimiter(rate.Limit(r), burst)
		p.max = r
		p.step = r / 20
		p.floor = min(r, max(r/64, 0.05))
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
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
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
	if p.lim == nil || now.Sub(p.lastCut) < time.Second {
		return
	}
	cur := float64(p.lim.Limit())
	next := max(p.floor, cur/2)
	if next < cur {
		p.lim.SetLimitAt(now, rate.Limit(next))
		p.log.Warn("rate limited by the API: lowering the request rate", "from", round2(cur), "to", round2(next), "retry_after", retryAfter)
	}
	p.lastCut = now
	p.lastRaise = now
}

// succeeded lets the rate recover additively, at most one step a second.
func (p *pacer) succeeded() {
	if p.lim == nil {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := float64(p.lim.Limit())
	if cur >= p.max || now.Sub(p.lastRaise) < time.Second {
		return
	}
	p.lim.SetLimitAt(now, rate.Limit(min(p.max, cur+p.step)))
	p.lastRaise = now
}

func (p *pacer) current() float64 {
	if p.lim == nil {
		return 0
	}
	return float64(p.lim.Limit())
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
