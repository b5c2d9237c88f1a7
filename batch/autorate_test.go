package batch

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// leave makes c's next departure at now, as the pacer does.
func leave(c *rateController, now time.Time) departure {
	d := departure{at: now, rate: c.current(), seq: c.seq + 1}
	c.departed(d)
	return d
}

// TestRateControllerConverges: against a 30 requests/s API whose bucket
// holds one token (it refuses a request a fraction of a millisecond
// early) or ten, with 50 ms of latency, a minute's run averages at least
// 85% of the limit, ramp included, with at most 10 refusals, and holds a
// rate between 85% and 100% of the limit by 20 s.
func TestRateControllerConverges(t *testing.T) {
	for _, burst := range []int{1, 10} {
		t.Run(fmt.Sprintf("burst %d", burst), func(t *testing.T) {
			const limit = 30.0
			api := newSimAPI(limit, burst, 50*time.Millisecond)
			r := simulate(newRateController(simStart), api, 8, time.Minute, 1)
			t.Log(r)
			if share := float64(r.served) / 60 / limit; share < 0.85 {
				t.Errorf("served %.1f%% of the limit over a minute, want at least 85%%", 100*share)
			}
			if r.refused > 10 {
				t.Errorf("%d requests refused, want at most 10", r.refused)
			}
			if got := r.rateAt(20 * time.Second); got < 0.85*limit || got > limit {
				t.Errorf("rate at 20 s %.2f, want between 85%% and 100%% of %v", got, limit)
			}
			if r.settled < 0.85*limit || r.settled > limit {
				t.Errorf("settled at %.2f, want between 85%% and 100%% of %v", r.settled, limit)
			}
		})
	}
}

// TestRateControllerHolds: once settled, the rate stays put, without a
// refusal, until the quiet spell before a probe is over.
func TestRateControllerHolds(t *testing.T) {
	for _, burst := range []int{1, 10} {
		api := newSimAPI(30, burst, 50*time.Millisecond)
		r := simulate(newRateController(simStart), api, 8, 3*time.Minute, 1)
		var settled time.Duration // the search's last change of rate
		for _, x := range r.rates {
			if x.at < 30*time.Second {
				settled = x.at
			}
		}
		held := r.rateAt(settled)
		if held < 0.85*30 || held > 30 {
			t.Fatalf("burst %d: holding %.2f from %v, want 85%% to 100%% of 30", burst, held, settled)
		}
		if n := r.changesBetween(settled, settled+autoQuiet-time.Second); n != 0 {
			t.Errorf("burst %d: %d rate changes within the quiet spell after settling at %.2f, want 0", burst, n, held)
		}
		for _, at := range r.refusals {
			if at > settled && at < settled+autoQuiet {
				t.Errorf("burst %d: refused at %v while holding %.2f", burst, at, held)
			}
		}
	}
}

// TestRateControllerBacksOff: a refusal lowers the rate below the rate
// refused, at once, and no refusal that answers a request sent before
// that cut lowers it again; a refusal of the rate held cuts it by 10% to
// 1%, the less the longer it was held.
func TestRateControllerBacksOff(t *testing.T) {
	now := simStart
	c := newRateController(now)
	// Startup: requests at 5/s, each answered, until the rate rises.
	var d departure
	for c.current() == autoStart {
		now = now.Add(200 * time.Millisecond)
		d = leave(c, now)
		c.accepted(now.Add(50*time.Millisecond), d)
	}
	raised := c.current()
	if raised <= autoStart {
		t.Fatalf("rate %v after a step without refusals, want above %v", raised, autoStart)
	}
	now = now.Add(time.Millisecond)
	first := leave(c, now)
	second := leave(c, now.Add(time.Millisecond))
	c.refused(now.Add(5*time.Millisecond), now.Add(time.Second), first)
	cut := c.current()
	if cut >= raised {
		t.Fatalf("rate %v after a refusal at %v, want lower", cut, raised)
	}
	c.refused(now.Add(6*time.Millisecond), now.Add(time.Second), second)
	if got := c.current(); got != cut {
		t.Errorf("a second refusal of a request sent before the cut moved the rate from %v to %v", cut, got)
	}
	if c.bad != raised {
		t.Errorf("lowest refused rate %v, want %v", c.bad, raised)
	}

	// Holding: a refusal cuts the rate held, the less the longer it was
	// held.
	for _, tt := range []struct {
		held time.Duration
		want float64
	}{{time.Second, autoCut * 20}, {6 * time.Second, 0.95 * 20}, {time.Minute, autoCutMin * 20}} {
		c.hold(now, 20)
		now = now.Add(time.Hour)
		c.restart(now.Add(-tt.held))
		d = leave(c, now)
		c.refused(now.Add(time.Millisecond), now.Add(time.Second), d)
		if got := c.current(); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("rate %v after the rate held (20) for %v was refused, want %v", got, tt.held, tt.want)
		}
	}
}

// TestRateControllerReprobes: after a quiet spell it probes above the rate
// held, and when the API's limit goes up it finds the new one; when the
// limit has not moved, probes are refused and spaced ever further apart.
func TestRateControllerReprobes(t *testing.T) {
	t.Run("limit raised", func(t *testing.T) {
		api := newSimAPI(30, 1, 50*time.Millisecond)
		api.change, api.changeTo = simStart.Add(100*time.Second), 60
		r := simulate(newRateController(simStart), api, 16, 5*time.Minute, 1)
		if got := r.rateAt(99 * time.Second); got > 30 {
			t.Errorf("rate %v before the limit went up, want at most 30", got)
		}
		if got := r.rateAt(5*time.Minute - time.Second); got < 0.85*60 || got > 60 {
			t.Errorf("rate %.2f at the end, want between 85%% and 100%% of the new limit 60", got)
		}
		// The settled rate follows the accepted probes (not the rate
		// held before them).
		if r.settled < 0.8*60 || r.settled > 60 {
			t.Errorf("settled at %.2f at the end, want near the new limit 60", r.settled)
		}
	})
	t.Run("settled follows accepted probes", func(t *testing.T) {
		// Half way up to a raised limit, no probe refused yet: the
		// settled rate is the last probe accepted, not the old hold.
		api := newSimAPI(30, 1, 50*time.Millisecond)
		api.change, api.changeTo = simStart.Add(100*time.Second), 60
		const at = 215 * time.Second // probes climb from about 195 s to 235 s
		r := simulate(newRateController(simStart), api, 16, at, 1)
		end := r.rateAt(at - time.Millisecond)
		if end <= 31.5 || end >= 57 {
			t.Fatalf("rate %.2f at %v: not half way up to check", end, at)
		}
		if r.settled < end/(autoReprobe*autoReprobe) {
			t.Errorf("settled at %.2f while running at %.2f: not the last probe accepted", r.settled, end)
		}
	})
	t.Run("limit unchanged", func(t *testing.T) {
		api := newSimAPI(30, 1, 50*time.Millisecond)
		r := simulate(newRateController(simStart), api, 8, 20*time.Minute, 1)
		var probes []time.Duration
		for i, x := range r.rates {
			if i > 0 && x.rate > r.rates[i-1].rate && x.at > 20*time.Second {
				probes = append(probes, x.at)
			}
		}
		if len(probes) < 3 {
			t.Fatalf("probes at %v, want at least 3 in 20 minutes", probes)
		}
		for i := 2; i < len(probes); i++ {
			if probes[i]-probes[i-1] <= probes[i-1]-probes[i-2] {
				t.Errorf("probes at %v: not spaced ever further apart", probes)
				break
			}
		}
		if r.refused > 3+len(probes)*2 {
			t.Errorf("%d refused for %d probes", r.refused, len(probes))
		}
	})
}

// TestRateControllerIsDeterministic: the same events give the same rates.
func TestRateControllerIsDeterministic(t *testing.T) {
	a := simulate(newRateController(simStart), newSimAPI(30, 10, 50*time.Millisecond), 8, time.Minute, 7)
	b := simulate(newRateController(simStart), newSimAPI(30, 10, 50*time.Millisecond), 8, time.Minute, 7)
	if fmt.Sprint(a.rates) != fmt.Sprint(b.rates) || a.served != b.served {
		t.Errorf("two runs differ:\n%v\n%v", a.rates, b.rates)
	}
}

// TestRateControllerLatencyBound: when the API's latency, not its limit,
// holds the run back (2 workers, 100 ms: 20 requests/s at most), the rate
// does not climb without bound.
func TestRateControllerLatencyBound(t *testing.T) {
	api := newSimAPI(1000, 1, 100*time.Millisecond)
	r := simulate(newRateController(simStart), api, 2, time.Minute, 1)
	if got := r.rateAt(time.Minute); got > 60 {
		t.Errorf("rate %v, want it to stop rising near the 20 requests/s the workers can send", got)
	}
}

// TestRateControllerAcrossLimits runs limits from 6 to 120 requests/s,
// buckets of 1, 2 and 10, and latencies of 50 and 300 ms: a broad check
// that no limit makes the controller thrash.
func TestRateControllerAcrossLimits(t *testing.T) {
	for _, lat := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond} {
		for _, burst := range []int{1, 2, 10} {
			for limit := 6.0; limit < 120; limit *= 1.1 {
				api := newSimAPI(limit, burst, lat)
				r := simulate(newRateController(simStart), api, 64, time.Minute, 3)
				share := float64(r.served) / 60 / limit
				if share < 0.7 || r.refused > 16 {
					t.Errorf("limit %.1f, bucket %d, latency %v: %v, %.1f%% of the limit", limit, burst, lat, r, 100*share)
				}
			}
		}
	}
}

// TestRateControllerUnderJitter: when some requests reach the API
// milliseconds late (a loaded machine), a strict API refuses some of
// those that follow them however the client spaces them; the controller
// gives up a little rate for it, without collapsing or thrashing.
func TestRateControllerUnderJitter(t *testing.T) {
	for _, burst := range []int{1, 10} {
		api := newSimAPI(30, burst, 50*time.Millisecond)
		api.heavy = 0.03
		r := simulate(newRateController(simStart), api, 8, 2*time.Minute, 1)
		if share := float64(r.served) / 120 / 30; share < 0.7 || r.refused > 15 {
			t.Errorf("burst %d: %v: %.1f%% of the limit, want at least 70%% with at most 15 refused", burst, r, 100*share)
		}
	}
}

// TestRateControllerRecoversFromSpurious429s: an API with no limit that
// refuses 1% or 3% of requests at random (other integrations sharing the
// tenant's limit; Retry-After 1 s) is not taken for a limit. Each 429
// pauses every worker for a second, so no rate serves more than about
// one request per refusal share a second (33/s at 3%); a rate fixed at
// the ceiling, autoMax, serves that. Each 5-minute run serves at least
// half of it (the 429s come before the controller knows them for noise:
// it falls under 70% of what the API served, then climbs again): 60–96%
// on seeds 1–5. Before, every 429 was the limit's: 7–13%, the rate
// ending at 1–8/s.
func TestRateControllerRecoversFromSpurious429s(t *testing.T) {
	for _, share := range []float64{0.01, 0.03} {
		for seed := uint64(1); seed <= 5; seed++ {
			api := func() *simAPI {
				a := newSimAPI(0, 1, 10*time.Millisecond)
				a.random = share
				return a
			}
			const d = 5 * time.Minute
			ceiling := simulate(fixedRate(autoMax), api(), 4, d, seed)
			got := simulate(newRateController(simStart), api(), 4, d, seed)
			if r := float64(got.served) / float64(ceiling.served); r < 0.5 {
				t.Errorf("%.0f%% refused, seed %d: %v, %.0f%% of the %d a rate fixed at %v serves",
					100*share, seed, got, 100*r, ceiling.served, autoMax)
			}
		}
	}
}

// TestRateControllerNoiseLeavesLimitsAlone: against limits from 6 to 120
// requests/s with buckets of up to 30 tokens and nothing refused at
// random, no 429 is taken for one that comes whatever the rate: a limit
// is found as before.
func TestRateControllerNoiseLeavesLimitsAlone(t *testing.T) {
	for _, burst := range []int{1, 2, 10, 30} {
		for limit := 6.0; limit < 120; limit *= 1.1 {
			c := newRateController(simStart)
			r := simulate(c, newSimAPI(limit, burst, 50*time.Millisecond), 16, time.Minute, 1)
			if c.noise.on || c.noise.last.IsZero() && r.refused > 0 {
				t.Errorf("limit %.1f, bucket %d: %v, its 429s taken for noise", limit, burst, r)
			}
		}
	}
}
