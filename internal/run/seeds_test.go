package run

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Seeds says which histories a model test plays. With Seed 0 (the
// default) it plays the fixed seeds 1 to N, so that a failure comes back
// on the next run, and one seed more from the clock, so that every run
// also tries a history no run tried before; a failing history names its
// seed and the flags that play it again. With Seed set it plays Seed to
// Seed+N-1. N 0 means Short under -short (make test), else Long (make
// test-long).
//
// Exported for the stop model, in package run_test.
type Seeds struct {
	Test        string // the test, for the replay hint
	Flag        string // the flag prefix: -Flag.seed, -Flag.histories
	N           int
	Seed        uint64
	Short, Long int
}

// list returns the seeds to play; the last is the clock's when drawn.
func (c Seeds) list() []uint64 {
	n := c.N
	if n == 0 {
		n = c.Long
		if testing.Short() {
			n = c.Short
		}
	}
	first, random := c.Seed, c.Seed == 0
	if random {
		first = 1
	}
	var out []uint64
	for i := range n {
		out = append(out, first+uint64(i))
	}
	if random {
		out = append(out, 1e6+uint64(time.Now().UnixNano()%1e9)) // above any fixed seed
	}
	return out
}

// PlaySeeds plays each seed of c in a parallel subtest named by the seed.
func PlaySeeds(t *testing.T, c Seeds, play func(t *testing.T, seed uint64)) {
	seeds := c.list()
	if c.Seed == 0 {
		t.Logf("seeds 1 to %d, and %d from the clock", len(seeds)-1, seeds[len(seeds)-1])
	}
	for _, s := range seeds {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			t.Parallel()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("play it again: go test -race -run '%s/^%d$' ./internal/run -%s.seed=%d -%s.histories=1",
						c.Test, s, c.Flag, s, c.Flag)
				}
			})
			play(t, s)
		})
	}
}

// logOnFailure prints a history's log when t fails (or with -v).
func logOnFailure(t *testing.T, seed uint64, log *[]string) {
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("seed %d: %s", seed, strings.Join(*log, "; "))
		}
	})
}
