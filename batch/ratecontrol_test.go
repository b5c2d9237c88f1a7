package batch

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// aimdRun drives an aimd with events on explicit times, one request at a
// time: each leaves, is answered 10 ms later, and the next leaves then.
type aimdRun struct {
	t   *testing.T
	a   *aimd
	now time.Time
	seq int64
}

func newAIMDRun(t *testing.T, r float64) *aimdRun {
	return &aimdRun{t: t, a: newAIMD(r), now: simStart}
}

func (r *aimdRun) leave() departure {
	r.seq++
	d := departure{at: r.now, rate: r.a.current(), seq: r.seq}
	r.a.departed(d)
	r.now = r.now.Add(10 * time.Millisecond)
	return d
}

func (r *aimdRun) accept(n int) {
	for range n {
		r.a.accepted(r.now, r.leave())
	}
}

func (r *aimdRun) refuse() { r.a.refused(r.now, r.now.Add(time.Second), r.leave()) }

func (r *aimdRun) wait(d time.Duration) { r.now = r.now.Add(d) }

func (r *aimdRun) want(rate float64, when string) {
	r.t.Helper()
	if got := r.a.current(); math.Abs(got-rate) > 1e-9 {
		r.t.Errorf("%s: rate %v, want %v", when, got, rate)
	}
}

// TestAIMDHalvesOn429sInARow: 429s in a row (at most inARow answers
// accepted between them) halve the rate they refused, once however many
// answer requests that left before the cut, and once a second at most.
func TestAIMDHalvesOn429sInARow(t *testing.T) {
	r := newAIMDRun(t, 20)
	r.accept(10)
	early := []departure{r.leave(), r.leave(), r.leave()}
	r.a.refused(r.now, r.now, early[0])
	r.want(19, "after a lone 429 at 20 (95% of it)")
	r.a.refused(r.now, r.now, early[1])
	r.want(10, "after a 429 in a row")
	r.a.refused(r.now, r.now, early[2])
	r.want(10, "after a 429 answering a request that left before the cut")
	r.accept(inARow)
	r.refuse() // (its rate, 10, becomes the ceiling)
	r.want(9.5, "after a 429 in a row within the second of the cut")
	r.wait(time.Second)
	r.accept(inARow)
	r.refuse()
	r.want(4.75, "after a 429 in a row a second later")
}

// TestAIMDLone429sOnlyPause: 429s with more than inARow answers accepted
// between them do not cut the rate; each lowers the ceiling to its rate,
// but not below loneFloor of --rate, so that the rate stays within
// ceilingShare of that. A run of unproven429s of them with no rate proven
// cuts it, once.
func TestAIMDLone429sOnlyPause(t *testing.T) {
	r := newAIMDRun(t, 20)
	r.accept(provenAnswers)
	for i := range 3 * unproven429s {
		r.accept(inARow + 1)
		r.refuse()
		r.accept(provenAnswers)
		if i == 0 {
			r.want(19, "after a lone 429 at 20 (95% of it)")
		}
	}
	r.want(ceilingShare*loneFloor*20, "after many lone 429s among proven answers")

	r = newAIMDRun(t, 20)
	for range unproven429s - 1 {
		r.accept(inARow + 1)
		r.refuse()
	}
	before := r.a.current()
	r.accept(inARow + 1)
	r.refuse()
	r.want(before/2, fmt.Sprintf("after %d lone 429s with no rate proven", unproven429s))
	r.wait(time.Second)
	r.accept(inARow + 1) // (a step of recovery)
	before = r.a.current()
	r.refuse()
	r.want(before, "after one more: the count starts again")
}

// TestAIMDRecovers: after a cut the rate recovers one step (1/20 of
// --rate) a second, up to 95% of the lowest rate refused in a row; that
// ceiling is forgotten a minute after it was set.
func TestAIMDRecovers(t *testing.T) {
	r := newAIMDRun(t, 20)
	first, second := r.leave(), r.leave()
	r.a.refused(r.now, r.now, first)
	r.a.refused(r.now, r.now, second)
	r.want(10, "after two 429s in a row")
	r.accept(1)
	r.want(10, "within the second")
	for want := 11.0; want <= 19; want++ {
		r.wait(time.Second)
		r.accept(1)
		r.want(want, "a second later")
	}
	r.wait(time.Second)
	r.accept(1)
	r.want(19, "at 95% of the rate refused")
	r.wait(forgetCeiling)
	r.accept(1)
	r.want(20, "a minute after the ceiling was set")
}

// TestAIMDKeepsAProvenRate: once provenAnswers were accepted in a row at a
// rate, 429s in a row at or under it do not halve the rate: the API took
// it; something else refused them.
func TestAIMDKeepsAProvenRate(t *testing.T) {
	r := newAIMDRun(t, 20)
	r.accept(provenAnswers)
	first, second := r.leave(), r.leave()
	r.a.refused(r.now, r.now, first)
	r.a.refused(r.now, r.now, second)
	r.want(19, "after two 429s in a row at a proven rate (95% of it)")
	r.wait(forgetCeiling + time.Second)
	first, second = r.leave(), r.leave()
	r.a.refused(r.now, r.now, first)
	r.a.refused(r.now, r.now, second)
	r.want(9.5, "after two 429s in a row once the proof is a minute old")
}

func TestAIMDFloor(t *testing.T) {
	r := newAIMDRun(t, 8)
	for range 20 {
		r.refuse()
		r.wait(time.Second)
	}
	if got, want := r.a.current(), r.a.floor; got != want || want <= 0 {
		t.Errorf("rate after many cuts %v, want the floor %v > 0", got, want)
	}
}

// TestAIMDRecoversFromSpurious429s: an API with no limit that refuses
// a few percent of requests at random (other integrations sharing the
// tenant's limit) costs its pauses, and little of the rate: a 5-minute
// run at --rate 60 serves at least 80% of what a rate that never moves
// serves, and is back at 75% of --rate or more in its last minute (the
// old rule, which halved on two 429s fewer than 50 answers apart and
// remembered the lowest rate refused, served 13–37% and ended at 1–7
// requests/s).
func TestAIMDRecoversFromSpurious429s(t *testing.T) {
	for _, share := range []float64{0.01, 0.03} {
		for seed := uint64(1); seed <= 3; seed++ {
			api := func() *simAPI {
				a := newSimAPI(0, 1, 10*time.Millisecond)
				a.random = share
				return a
			}
			const d = 5 * time.Minute
			fixed := simulate(fixedRate(60), api(), 4, d, seed)
			got := simulate(newAIMD(60), api(), 4, d, seed)
			top := got.rateAt(d - time.Minute)
			for _, x := range got.rates {
				if x.at > d-time.Minute {
					top = max(top, x.rate)
				}
			}
			if r := float64(got.served) / float64(fixed.served); r < 0.8 || top < 0.75*60 {
				t.Errorf("%.0f%% refused, seed %d: served %d, %.0f%% of a fixed rate's %d; at most %.2f/s in the last minute",
					100*share, seed, got.served, 100*r, fixed.served, top)
			}
		}
	}
}

// TestAIMDSettlesUnderAStrictLimit: against an API that refuses every
// request over 30/s, whatever --rate above it, the rate ends under the
// limit, and the last minute of a 3-minute run serves at least 85% of it.
func TestAIMDSettlesUnderAStrictLimit(t *testing.T) {
	const limit = 30.0
	for _, r := range []float64{31.5, 36, 60, 120} {
		for _, lat := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond} {
			run := func(d time.Duration) (simRun, float64) {
				a := newAIMD(r)
				return simulate(a, newSimAPI(limit, 1, lat), 4, d, 1), a.current()
			}
			all, end := run(3 * time.Minute)
			before, _ := run(2 * time.Minute)
			last := float64(all.served-before.served) / 60
			if end > limit || last < 0.85*limit {
				t.Errorf("--rate %v, latency %v: rate at the end %.2f, %.1f/s served in the last minute (%v)", r, lat, end, last, all)
			}
		}
	}
}

// TestAIMDUnderABucket: a limit with a bucket of a few tokens refuses a
// rate above it regularly, answers apart, with answers accepted between;
// the run still gets half the limit or more, not what its pauses alone
// would leave. (Less than against a strict limit: such refusals look
// like those of other integrations, and a rate the bucket lets through
// 50 times in a row looks proven. See BENCHMARKS.md.)
func TestAIMDUnderABucket(t *testing.T) {
	const limit = 30.0
	for _, burst := range []int{2, 10} {
		for _, r := range []float64{31.5, 36, 60, 120} {
			a := newAIMD(r)
			run := simulate(a, newSimAPI(limit, burst, 10*time.Millisecond), 4, 3*time.Minute, 1)
			if share := float64(run.served) / 180 / limit; share < 0.5 {
				t.Errorf("bucket %d, --rate %v: %.0f%% of the limit (%v)", burst, r, 100*share, run)
			}
		}
	}
}
