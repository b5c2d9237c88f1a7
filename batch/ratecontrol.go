package batch

import "time"

// rateControl decides the request rate from what the API answers: fixed
// (fixedRate), lowered by 429s in a row (aimd), or found (rateController,
// --rate auto). Every call passes the time in: it keeps no clock,
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
	// inARow: a 429 is in a row with the previous one when at most this
	// many answers were accepted between them, within repeatWindow. A
	// strict limit refuses every request over it, so after the
	// Retry-After pause it lets one through (a bucket of two, two or
	// three) and refuses the next.
	inARow       = 3
	repeatWindow = 10 * time.Second
	// provenAnswers accepted in a row prove the lowest rate they left at
	// for forgetCeiling: a 429 at or under it is not the API's limit
	// speaking (another integration spent the tenant's limit, or a
	// request came a hair early). The last of unproven429s 429s, each
	// within repeatWindow of the one before, with no rate proven among
	// them is in a row too (and the count starts again): a limit with a
	// bucket of a few tokens refuses regularly, some answers apart.
	provenAnswers = 50
	unproven429s  = 6
	// ceilingShare of the lowest refused rate is as far as recovery goes,
	// a margin for the jitter between our clock and the API's.
	ceilingShare = 0.95
	// loneFloor of --rate is as low as lone 429s take the ceiling: some
	// come from the arrival jitter a strict limit sees, which a lower
	// rate avoids, some from other integrations, which it does not.
	loneFloor = 0.9
	// forgetCeiling: a ceiling lasts this long after it was last set, a
	// proven rate after it was last proven: the API's limit may move.
	forgetCeiling = 60 * time.Second
)

// proof tracks the answers since the last 429: what they prove, and
// whether the next 429 comes in a row.
type proof struct {
	last429  time.Time
	streak   int     // answers accepted since the last 429
	low      float64 // the lowest rate they left at
	unproven int     // 429s since a rate was last proven
	rate     float64 // proven; see proven
	at       time.Time
}

func (p *proof) accepted(now time.Time, d departure) {
	if p.streak == 0 || d.rate < p.low {
		p.low = d.rate
	}
	p.streak++
	if p.streak >= provenAnswers {
		p.unproven = 0
		if p.low >= p.proven(now) {
			p.rate, p.at = p.low, now
		}
	}
}

// close reports whether a 429 at now would follow the previous one
// closely: at most inARow answers accepted between them, within
// repeatWindow.
func (p *proof) close(now time.Time) bool {
	return !p.last429.IsZero() && now.Sub(p.last429) < repeatWindow && p.streak <= inARow
}

// refused notes a 429 at now and reports whether it came in a row.
func (p *proof) refused(now time.Time) (inRow bool) {
	inRow = p.close(now)
	if p.last429.IsZero() || now.Sub(p.last429) >= repeatWindow {
		p.unproven = 0
	}
	if p.unproven++; p.unproven >= unproven429s {
		inRow, p.unproven = true, 0
	}
	p.last429, p.streak = now, 0
	return inRow
}

// proven returns the rate proven at now, 0 if none.
func (p *proof) proven(now time.Time) float64 {
	if now.Sub(p.at) > forgetCeiling {
		return 0
	}
	return p.rate
}

// aimd paces at --rate and adapts to 429s. 429s in a row above the
// proven rate halve the rate (at most once a second, down to a floor)
// and lower the ceiling to the rate they refused; the rate recovers
// additively, one step a second, up to just under the ceiling. Any other
// 429 costs its pause, and sets the ceiling to its rate where there was
// none, or lowers it, but not below loneFloor of --rate.
type aimd struct {
	max, step, floor float64
	rate             float64

	ceiling float64 // 0: none
	ceilAt  time.Time
	proof   proof

	lastCut, lastRaise time.Time
}

func newAIMD(r float64) *aimd {
	return &aimd{max: r, rate: r, step: r / 20, floor: min(r, max(r/64, 0.05))}
}

func (a *aimd) current() float64   { return a.rate }
func (a *aimd) departed(departure) {}
func (a *aimd) settled() float64   { return 0 }

func (a *aimd) refused(now, _ time.Time, d departure) {
	x := d.rate
	inRow := a.proof.refused(now) && x > a.proof.proven(now)
	a.forget(now)
	switch {
	case a.ceiling == 0 || inRow && x < a.ceiling:
		a.ceiling, a.ceilAt = x, now
	case x < a.ceiling && a.ceiling > loneFloor*a.max:
		a.ceiling, a.ceilAt = max(x, loneFloor*a.max), now
	}
	// A request that left before the last cut answers for the rate
	// before it: that cut was its answer. (And at most one cut a second:
	// simultaneous 429s answer one rate.)
	if inRow && !d.at.Before(a.lastCut) && now.Sub(a.lastCut) >= time.Second {
		a.rate = min(a.rate, max(a.floor, x/2))
		a.lastCut, a.lastRaise = now, now
	}
	a.rate = min(a.rate, a.target())
}

func (a *aimd) accepted(now time.Time, d departure) {
	a.proof.accepted(now, d)
	a.forget(now)
	if t := a.target(); a.rate < t && now.Sub(a.lastRaise) >= time.Second {
		a.rate = min(t, a.rate+a.step)
		a.lastRaise = now
	}
}

// target is as far as recovery goes.
func (a *aimd) target() float64 {
	if a.ceiling == 0 {
		return a.max
	}
	return min(a.max, max(a.floor, ceilingShare*a.ceiling))
}

func (a *aimd) forget(now time.Time) {
	if now.Sub(a.ceilAt) > forgetCeiling {
		a.ceiling = 0
	}
}
