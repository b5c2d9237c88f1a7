package batch

import "time"

// rateControl decides the request rate from what the API answers: fixed
// (fixedRate), lowered by repeated 429s (aimd), or found
// (rateController, --rate auto). Every call passes the time in: it keeps no clock,
// goroutine or lock (the pacer holds one around each call), so that a
// simulation drives it as a run does.
type rateControl interface {
	// current returns the rate in force, requests/s; 0: unlimited.
	current() float64
	// departed notes a request leaving; it may change the rate for the
	// next one.
	departed(d departure)
	// accepted notes an answer to d other than a refusal: an HTTP status
	// below 500 (no answer, or a 5xx, says nothing of the rate).
	accepted(now time.Time, d departure)
	// refused notes a 429 answering d; every request is paused until
	// resume.
	refused(now, resume time.Time, d departure)
	// settled returns the rate --rate auto settled at, 0 before it did
	// (and for the other controls).
	settled() float64
}

// departure is one request as it left: when, at what rate it was paced,
// and its place in the sequence of departures. A reply is judged against
// the rate its request left at, not the rate in force when it comes back.
type departure struct {
	at   time.Time
	rate float64 // requests/s in force; 0: unlimited
	seq  int64   // 1, 2, …
	// leave, when not nil, ends the departure once the request is
	// written (see pacer.depart).
	leave *leaving
}

// fixedRate is a rate no answer changes (0: unlimited).
type fixedRate float64

func (f fixedRate) current() float64                      { return float64(f) }
func (fixedRate) departed(departure)                      {}
func (fixedRate) accepted(time.Time, departure)           {}
func (fixedRate) refused(time.Time, time.Time, departure) {}
func (fixedRate) settled() float64                        { return 0 }

const (
	// repeatWindow: a 429 within this long of the previous one is a
	// repeat, unless lone429Gap answers were accepted between.
	repeatWindow = 10 * time.Second
	lone429Gap   = 50
	// ceilingShare of the lowest refused rate is as far as recovery goes,
	// a margin for the jitter between our clock and the API's.
	ceilingShare = 0.95
	// forgetCeiling: after this long without a 429 the ceiling goes.
	forgetCeiling = 60 * time.Second
)

// aimd paces at --rate and adapts to 429s: repeated 429s halve the rate
// (at most once a second, down to a floor) and it recovers additively,
// one step a second, up to just under the lowest rate refused. A lone 429
// (a request that arrived a hair early) costs its pause, not half the
// rate: two are not a repeat when many answers were accepted between
// them.
type aimd struct {
	max, step, floor float64
	rate             float64

	ceiling                     float64 // lowest rate refused; 0: none recently
	last429, lastCut, lastRaise time.Time
	okSince429                  int
}

func newAIMD(r float64) *aimd {
	return &aimd{max: r, rate: r, step: r / 20, floor: min(r, max(r/64, 0.05))}
}

func (a *aimd) current() float64   { return a.rate }
func (a *aimd) departed(departure) {}
func (a *aimd) settled() float64   { return 0 }

func (a *aimd) refused(now, _ time.Time, _ departure) {
	repeated := !a.last429.IsZero() && now.Sub(a.last429) < repeatWindow && a.okSince429 < lone429Gap
	a.last429, a.okSince429 = now, 0
	// Remember the lowest rate refused: recovery stops short of it.
	// (Not within a second of a cut: those 429s answer requests sent at
	// the rate before it.)
	if (a.ceiling == 0 || a.rate < a.ceiling) && now.Sub(a.lastCut) >= time.Second {
		a.ceiling = a.rate
	}
	if !repeated || now.Sub(a.lastCut) < time.Second {
		return
	}
	a.rate = max(a.floor, a.rate/2)
	a.lastCut, a.lastRaise = now, now
}

func (a *aimd) accepted(now time.Time, _ departure) {
	a.okSince429++
	if a.ceiling > 0 && now.Sub(a.last429) > forgetCeiling {
		a.ceiling = 0
	}
	target := a.max
	if a.ceiling > 0 {
		target = min(target, ceilingShare*a.ceiling)
	}
	if a.rate == target || now.Sub(a.lastRaise) < time.Second {
		return
	}
	// Below the target: one step up. Above it (a lone 429 at the full
	// rate): down to it at once.
	a.rate = min(target, a.rate+a.step)
	a.lastRaise = now
}
