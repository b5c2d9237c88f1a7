package batch

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"
)

// simAPI is a rate-limited API on a simulated clock: a token bucket as
// GCRA, as the fake has it, answering a refusal at once with Retry-After
// in whole seconds, and anything else after its latency.
type simAPI struct {
	interval, tolerance time.Duration
	burst               int
	latency             time.Duration
	next                time.Time
	served, refused     int
	// heavy is the share of requests delayed by up to 5 ms more on
	// their way, as on a loaded machine.
	heavy float64
	// random is the share of requests within the limit (or of all, with
	// no limit) refused anyway, with a Retry-After of 1 s: other
	// integrations spending the tenant's limit.
	random float64
	// At change the limit becomes changeTo requests/s.
	change   time.Time
	changeTo float64
}

// newSimAPI is an API limited to limit requests/s (0: unlimited).
func newSimAPI(limit float64, burst int, latency time.Duration) *simAPI {
	a := &simAPI{burst: burst, latency: latency}
	a.setLimit(limit)
	return a
}

func (a *simAPI) setLimit(limit float64) {
	if limit <= 0 {
		a.interval, a.tolerance = 0, 0
		return
	}
	a.interval = time.Duration(float64(time.Second) / limit)
	a.tolerance = time.Duration(a.burst-1) * a.interval
}

// arrive serves a request arriving at t: when its reply leaves, and the
// Retry-After of a refusal (0 when served).
func (a *simAPI) arrive(t time.Time, rng *rand.Rand) (reply time.Time, retryAfter time.Duration) {
	if !a.change.IsZero() && !t.Before(a.change) {
		a.setLimit(a.changeTo)
		a.change = time.Time{}
	}
	if a.interval > 0 {
		if a.next.Before(t) {
			a.next = t
		}
		if wait := a.next.Sub(t) - a.tolerance; wait > 0 {
			a.refused++
			secs := (wait + time.Second - 1) / time.Second
			return t.Add(200 * time.Microsecond), max(secs, 1) * time.Second
		}
		a.next = a.next.Add(a.interval)
	}
	if a.random > 0 && rng.Float64() < a.random {
		a.refused++
		return t.Add(200 * time.Microsecond), time.Second
	}
	a.served++
	return t.Add(a.latency), 0
}

// simReply is a reply on its way back to the client.
type simReply struct {
	at         time.Time
	dep        departure
	retryAfter time.Duration
}

type simReplies []simReply

func (h simReplies) Len() int           { return len(h) }
func (h simReplies) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h simReplies) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *simReplies) Push(x any)        { *h = append(*h, x.(simReply)) }
func (h *simReplies) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// simRun is what a simulated run did.
type simRun struct {
	served, refused int
	settled         float64
	rates           []simRate // the control's rate after each change
	refusals        []time.Duration
}

type simRate struct {
	at   time.Duration
	rate float64
}

func (r simRun) String() string {
	return fmt.Sprintf("served %d, refused %d, settled %.2f", r.served, r.refused, r.settled)
}

var simStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simulate runs a rate control for d against api with workers requests
// at most in flight, each leaving departGap after the previous one (as
// the pacer spaces them with a burst of 1) plus a jitter on the way to
// the API (more with simAPI.heavy), drawn from seed. Nothing sleeps: the
// clock is simulated.
func simulate(c rateControl, api *simAPI, workers int, d time.Duration, seed uint64) simRun {
	rng := rand.New(rand.NewPCG(seed, 1))
	start := simStart
	end := start.Add(d)
	var (
		replies simReplies
		last    time.Time
		paused  time.Time
		run     simRun
		prev    float64
		seq     int64
		now     = start
	)
	note := func(now time.Time) {
		if r := c.current(); r != prev {
			run.rates = append(run.rates, simRate{now.Sub(start), r})
			prev = r
		}
	}
	note(start)
	for {
		next := last.Add(departGap(c.current()))
		if next.Before(paused) {
			next = paused
		}
		if next.Before(now) {
			next = now // a rate raised by a reply: no departure in the past
		}
		if len(replies) >= workers && next.Before(replies[0].at) {
			next = replies[0].at
		}
		if len(replies) > 0 && !replies[0].at.After(next) {
			r := heap.Pop(&replies).(simReply)
			now = r.at
			if r.retryAfter > 0 {
				resume := r.at.Add(r.retryAfter)
				if resume.After(paused) {
					paused = resume
				}
				c.refused(r.at, paused, r.dep)
				run.refusals = append(run.refusals, r.at.Sub(start))
			} else {
				c.accepted(r.at, r.dep)
			}
			note(r.at)
			continue
		}
		if next.After(end) {
			break
		}
		now = next
		seq++
		dep := departure{at: now, rate: c.current(), seq: seq}
		c.departed(dep)
		note(now)
		jitter := time.Duration(rng.Int64N(int64(300 * time.Microsecond)))
		if api.heavy > 0 && rng.Float64() < api.heavy {
			jitter += time.Duration(rng.Int64N(int64(5 * time.Millisecond)))
		}
		at, ra := api.arrive(next.Add(100*time.Microsecond+jitter), rng)
		heap.Push(&replies, simReply{at: at, dep: dep, retryAfter: ra})
		last = next
	}
	run.served, run.refused, run.settled = api.served, api.refused, c.settled()
	return run
}

// rateAt returns the rate in force at t in a run's history.
func (r simRun) rateAt(t time.Duration) float64 {
	rate := 0.0
	for _, x := range r.rates {
		if x.at > t {
			break
		}
		rate = x.rate
	}
	return rate
}

// changesBetween counts the rate's changes strictly between from and to.
func (r simRun) changesBetween(from, to time.Duration) int {
	n := 0
	for _, x := range r.rates {
		if x.at > from && x.at < to {
			n++
		}
	}
	return n
}
