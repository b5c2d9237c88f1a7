package batch

import (
	"context"
	"time"
)

// clock is the time the pacer reads and waits on: the real one in a run,
// a simulated one in tests, so that pacing is tested without sleeping.
type clock interface {
	Now() time.Time
	// After delivers the time on its channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// sleepOn waits d on c, or until ctx ends (its error then).
func sleepOn(ctx context.Context, c clock, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.After(d):
		return nil
	}
}

// sleep waits d, or until ctx ends (its error then).
func sleep(ctx context.Context, d time.Duration) error { return sleepOn(ctx, realClock{}, d) }
