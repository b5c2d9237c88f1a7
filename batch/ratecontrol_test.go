package batch

import (
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
	if got := r.a.current(); got != rate {
		r.t.Errorf("%s: rate %v, want %v", when, got, rate)
	}
}

// TestAIMDLowersRateOnlyOnRepeated429s: a lone 429 only pauses; a repeat
// halves the rate, once a second at most; two 429s with lone429Gap
// answers between them are two lone ones.
func TestAIMDLowersRateOnlyOnRepeated429s(t *testing.T) {
	r := newAIMDRun(t, 20)
	r.refuse()
	r.want(20, "after one 429 (a lone 429 only pauses)")
	r.refuse()
	r.want(10, "after a repeated 429")
	r.refuse()
	r.want(10, "after a second repeat within the second")

	q := newAIMDRun(t, 20)
	q.refuse()
	q.accept(lone429Gap) // (they bring it down to 95% of the rate refused)
	q.refuse()
	q.want(19, "after two 429s lone429Gap answers apart")
	q.refuse()
	q.want(9.5, "after a 429 right after another")

	// Recovery is additive, one step a second.
	r.wait(2 * time.Second)
	r.accept(1)
	r.want(11, "after an answer (+1/20 of 20)")
	r.accept(1)
	r.want(11, "after a second answer within the second")
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

// TestAIMDSettlesUnderTheRefusedRate: recovery stops at 95% of the
// lowest rate refused, until a quiet spell.
func TestAIMDSettlesUnderTheRefusedRate(t *testing.T) {
	r := newAIMDRun(t, 20)
	r.refuse() // a lone 429 at the full rate: no cut, but a ceiling
	r.want(20, "after a lone 429")
	r.accept(1)
	r.want(19, "after the next answer (95% of the refused 20)")
	for range 5 {
		r.wait(time.Second)
		r.accept(1)
	}
	r.want(19, "after recovery")
	r.wait(2 * forgetCeiling)
	r.accept(1)
	r.want(20, "after a quiet spell")
}
