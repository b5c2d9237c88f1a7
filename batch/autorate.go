package batch

import (
	"math"
	"time"
)

// Tuning of the rate controller. The API's limit is unknown and may be
// strict (a token bucket of one token refuses a request that comes a
// fraction of a millisecond early), and every refusal costs a pause of
// the API's Retry-After for every worker: the controller finds the limit
// in few refusals, then holds just under it.
// AutoStartRate is the rate, in requests a second, Config.AutoRate starts
// from (a dry run's estimate uses it).
const AutoStartRate = 5.0

const (
	// autoStart is the first rate: the former default, safe for any
	// tenant we know of.
	autoStart = AutoStartRate
	// autoMax bounds the rate: far above any documented API limit.
	autoMax = 1000.0
	// autoMin is the lowest rate the controller goes down to.
	autoMin = 0.2

	// autoStep is how long the startup holds a rate before raising it
	// (and at least autoStepRequests departures, and two round trips).
	autoStep         = 500 * time.Millisecond
	autoStepRequests = 4
	// autoGrowth is the startup's factor per step.
	autoGrowth = 1.5
	// autoProbeHold is how long a rate is tried in the search, and in
	// probes after a quiet spell, before it counts as accepted: a bucket
	// of several tokens accepts a rate above its limit until it is empty.
	autoProbeHold = 3 * time.Second
	// autoQuick: a refusal among the first autoQuick requests at a new
	// rate says that rate is over the limit with no bucket to spend, so
	// the lower rates accepted before it were accepted on their merit.
	autoQuick = 3
	// autoBracket: once the lowest refused rate is within this ratio of
	// the highest accepted one, the search is over.
	autoBracket = 1.1
	// autoSettle: the rate held is the highest accepted one, or this
	// share of the lowest refused one if that is higher.
	autoSettle = 0.95
	// autoCut is the deepest cut when the rate held is refused, and
	// autoCutMin the shallowest (see holdCut).
	autoCut    = 0.9
	autoCutMin = 0.99
	// autoQuiet is how long the controller holds without a refusal before
	// it probes above the held rate, autoReprobe higher each probe (limits
	// change); each probe refused doubles it, up to autoQuietMax.
	autoQuiet    = 60 * time.Second
	autoQuietMax = 10 * time.Minute
	autoReprobe  = 1.05
)

type autoPhase int

const (
	// autoStartup raises the rate by autoGrowth each step until the API
	// first refuses.
	autoStartup autoPhase = iota
	// autoSearch bisects between the highest rate accepted and the
	// lowest refused.
	autoSearch
	// autoHold holds a rate, and probes above it after a quiet spell.
	autoHold
)

// rateController finds and holds the highest request rate the API
// accepts (a rateControl).
//
// It starts at autoStart and raises the rate by half each short step
// while the API accepts it. At the first refusal it bisects (geometrically) between
// the highest rate accepted and the lowest refused, each probe held for
// autoProbeHold, until they are within autoBracket; then it holds the
// higher of the accepted rate and autoSettle of the refused one. A
// refusal of the rate held cuts it by 10% to 1%, the less the longer the
// rate was accepted (holdCut). After autoQuiet without a
// refusal it probes autoReprobe above the held rate, and on up while the
// probes are accepted, each accepted probe becoming the rate held; a
// refused probe sends it back to the higher of the rate held and autoCut
// of the refused probe, and doubles the quiet spell before the next.
type rateController struct {
	rate  float64 // in force
	phase autoPhase
	good  float64 // highest rate accepted; 0: none
	firm  bool    // good was accepted through a probe, or a refusal just above it came at once
	bad   float64 // lowest rate refused; +Inf: none

	seq        int64     // departures so far
	since      time.Time // the current step began (after any pause)
	sent       int       // departures since then
	answers    int       // replies other than refusals since then
	changed    time.Time // the rate last changed
	changedSeq int64     // seq when it did
	held       float64   // autoHold: the rate held (the last one accepted, not a probe in progress)
	probing    bool      // autoHold: probing above held
	quiet      time.Duration
	rtt        time.Duration // smoothed time from a request leaving to its reply

	noise noise
	// paused is how long the step was paused by 429s not taken for the
	// limit's, pausedTo when the last such pause ends.
	paused   time.Duration
	pausedTo time.Time
}

func newRateController(now time.Time) *rateController {
	return &rateController{rate: autoStart, bad: math.Inf(1), since: now, changed: now, quiet: autoQuiet}
}

// current returns the rate in force.
func (c *rateController) current() float64 { return c.rate }

// settled returns the rate held once the search is over (not a probe
// above it), 0 before.
func (c *rateController) settled() float64 {
	if c.phase != autoHold {
		return 0
	}
	return c.held
}

// departed records a request leaving. It may end a step and change the
// rate for the next request.
func (c *rateController) departed(d departure) {
	c.seq = d.seq
	if !d.at.Before(c.since) { // else paused: not part of a step
		c.sent++
		c.advance(d.at)
	}
}

// accepted notes a reply that was not a refusal to the request d.
func (c *rateController) accepted(now time.Time, d departure) {
	if rtt := now.Sub(d.at); rtt > 0 {
		if c.rtt == 0 {
			c.rtt = rtt
		} else {
			c.rtt += (rtt - c.rtt) / 8
		}
	}
	c.answers++
	c.noise.accepted(now, d)
	c.advance(now)
}

// refused notes a refusal (429) of the request d; the API asked for a
// pause until resume.
func (c *rateController) refused(now, resume time.Time, d departure) {
	heard, began := c.noise.refused(now, d)
	switch {
	case began:
		c.recover(now, resume)
		return
	case !heard:
		c.pause(now, resume)
		return
	}
	defer c.restart(resume)
	if d.rate > 0 && d.rate < c.bad {
		c.bad = d.rate
	}
	if d.at.Before(c.changed) {
		// It left before the rate last changed: that change answered an
		// earlier refusal, or already went below this one's rate.
		return
	}
	quick := d.seq-c.changedSeq <= autoQuick
	switch {
	case c.phase == autoHold && c.probing:
		c.quiet = min(2*c.quiet, autoQuietMax)
		c.hold(now, max(c.held, autoCut*d.rate))
	case c.phase == autoHold:
		c.good, c.firm = max(autoMin, holdCut(d.at.Sub(c.since))*c.held), false
		c.hold(now, c.good)
	default:
		switch {
		case quick && c.good < c.bad:
			// No bucket was spent: the rates accepted before were
			// accepted on their merit.
			c.firm = c.good > 0
		case c.good >= c.bad || !c.firm:
			// A bucket of several tokens lets a rate through for a
			// while that it cannot sustain: what a short step or a
			// spent bucket accepted is not known to be accepted.
			c.good, c.firm = 0, false
		}
		c.phase = autoSearch
		if c.good > 0 && c.bad <= c.good*autoBracket {
			c.hold(now, max(c.good, autoSettle*c.bad))
		} else {
			c.set(now, c.probe())
		}
	}
}

// advance ends the current step when it has lasted long enough, and
// moves on.
func (c *rateController) advance(now time.Time) {
	need := max(autoStep, 2*c.rtt)
	switch {
	case c.phase == autoSearch || c.phase == autoHold && c.probing:
		need = max(autoProbeHold, 2*c.rtt)
	case c.phase == autoHold:
		need = c.quiet
	}
	active := now.Sub(c.since) - c.paused
	if active < need || c.sent < autoStepRequests {
		return
	}
	defer c.restart(now)
	switch {
	case float64(c.sent) < 0.8*c.rate*active.Seconds():
		// The requests did not use the rate: the API's latency, not
		// the rate, holds the run back, and a higher rate proves nothing.
		return
	case c.answers < c.sent/2:
		// Most requests got no answer, or a 5xx: that proves nothing
		// about the rate either.
		return
	}
	r := c.rate
	if r >= c.good {
		c.good, c.firm = r, c.phase != autoStartup
	}
	if c.firm {
		c.noise.probed(c.good)
	}

	switch c.phase {
	case autoStartup:
		c.set(now, min(autoMax, autoGrowth*r))
	case autoSearch:
		if c.bad <= c.good*autoBracket {
			c.hold(now, max(c.good, autoSettle*c.bad))
		} else {
			c.set(now, c.probe())
		}
	case autoHold:
		if c.probing {
			// The probe was accepted: it is the rate held now (what
			// settled reports, and where a refused probe returns).
			c.held = r
			c.quiet = autoQuiet
			c.bad = math.Inf(1) // the limit went up: what was refused may not be now
		} else {
			c.probing = true
		}
		c.set(now, min(autoMax, r*autoReprobe))
	}
}

// holdCut is the factor by which a rate held for held before the API
// refused it is cut: the longer it was accepted, the closer it is to the
// limit. A bucket of B tokens refuses a rate r above its limit L after
// B/(r-L), so the share to cut is B/(held·r); a bucket of a third of a
// second's worth gives 0.3 s/held, which this cuts, between 1% and 10%. A
// lone refusal of a strict API reached by a late request costs little.
func holdCut(held time.Duration) float64 {
	share := 0.3 / max(held.Seconds(), 0.001)
	return min(autoCutMin, max(autoCut, 1-share))
}

// probe is the next rate the search tries: the geometric mean of the
// highest accepted and the lowest refused, or half the refused one when
// none is known to be accepted.
func (c *rateController) probe() float64 {
	if c.good == 0 {
		return max(autoMin, c.bad/2)
	}
	return math.Sqrt(c.good * c.bad)
}

func (c *rateController) hold(now time.Time, r float64) {
	c.phase = autoHold
	c.held = r
	c.probing = false
	c.set(now, r)
}

func (c *rateController) set(now time.Time, r float64) {
	if r != c.rate {
		c.rate = r
		c.changed = now
		c.changedSeq = c.seq
	}
}

// restart begins a new step at at (after a pause, or now).
func (c *rateController) restart(at time.Time) {
	if at.After(c.since) {
		c.since = at
	}
	c.sent, c.answers, c.paused = 0, 0, 0
}

// pause notes a pause until resume that did not restart the step: a
// step is timed without it.
func (c *rateController) pause(now, resume time.Time) {
	from := now
	for _, t := range []time.Time{c.pausedTo, c.since} {
		if t.After(from) {
			from = t
		}
	}
	if resume.After(from) {
		c.paused += resume.Sub(from)
		c.pausedTo = resume
	}
}

// recover starts again from the highest rate the API proved, as at
// startup, once 429s are seen to come whatever the rate: the search and
// the cuts that brought the rate under it answered no limit.
func (c *rateController) recover(now, resume time.Time) {
	c.phase, c.good, c.firm, c.bad = autoStartup, 0, false, math.Inf(1)
	c.quiet = autoQuiet
	c.set(now, max(c.rate, c.noise.peak()))
	c.restart(resume)
}
