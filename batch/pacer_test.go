package batch

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestPacerSpacesAdmissions checks a lower bound only: with a burst of 1,
// no admission follows the previous one closer than 1/rate, however late
// that one was let go (the token bucket alone lets the next one catch up).
func TestPacerSpacesAdmissions(t *testing.T) {
	const r = 500.0
	gap := time.Duration(float64(time.Second) / r)
	p := newPacer(r, 1, slog.New(slog.DiscardHandler))
	var prev time.Time
	for i := range 20 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if d := p.last.Sub(prev); d < gap {
				t.Errorf("admission %d came %v after the previous one, want at least %v", i, d, gap)
			}
		}
		prev = p.last
		if i%3 == 0 {
			time.Sleep(gap / 2) // a worker that comes back late
		}
	}
}

func TestPacerBurstNotSpaced(t *testing.T) {
	p := newPacer(1, 3, slog.New(slog.DiscardHandler))
	start := time.Now()
	for range 3 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if !p.last.IsZero() {
		t.Errorf("a burst of 3 was spaced: last admission recorded at %v", p.last.Sub(start))
	}
}
