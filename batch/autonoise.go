package batch

import "time"

const (
	// autoNoiseShare: a lone 429 at this share or less of the highest
	// rate the API accepted (see noise.peak) is not its limit speaking:
	// the controller went well under a rate the API served, and 429s
	// kept coming. Other integrations sharing the tenant's limit refuse
	// some requests whatever our rate. A limit with a bucket of B tokens
	// lets a probe through autoProbeHold at up to B/autoProbeHold above
	// it, so this passes for noise only with a bucket of more than 1.3
	// seconds' worth (TestRateControllerNoiseLeavesLimitsAlone).
	autoNoiseShare = 0.7
	// autoNoiseRows: once 429s are known to come whatever the rate, only
	// this many in a row (each close to the one before, see proof.close)
	// speak for the limit: scattered ones come in twos by chance (one in
	// nine at 3%), in threes rarely, and a strict limit refuses the
	// request after the one the pause lets through, every time.
	autoNoiseRows = 3
	// servedWindow is how long the API's served rate is counted over:
	// long enough that a bucket's tokens add little to it.
	servedWindow = 10 * time.Second
)

// noise tells, for --rate auto, 429s that answer the rate from those that
// come whatever it is. Until the latter are seen every 429 is the
// limit's, as a limit is found in fewest refusals so; after, only 429s in
// a row are, until forgetCeiling passes without any 429.
type noise struct {
	proof  proof // answers since the last 429 (only its closeness is used)
	served served
	top    float64 // the highest rate accepted through a probe
	on     bool    // 429s come whatever the rate
	rows   int     // 429s in a row, the last one included
	last   time.Time
}

// probed notes a rate accepted through a probe (held autoProbeHold).
func (n *noise) probed(r float64) { n.top = max(n.top, r) }

// peak is the highest rate the API accepted through a probe or served
// over servedWindow, pauses included. It is kept for the run: the
// controller falls under half of it within seconds of 429s that come
// whatever the rate, long before it could prove the rate again.
func (n *noise) peak() float64 { return max(n.top, n.served.top) }

func (n *noise) accepted(now time.Time, d departure) {
	n.proof.accepted(now, d)
	n.served.add(now)
	if n.on && now.Sub(n.last) > forgetCeiling {
		n.on = false
	}
}

// refused notes a 429 at now answering d. It reports whether the rate
// control should take it for the limit's (heard), and whether it just
// showed that 429s come whatever the rate (began).
func (n *noise) refused(now time.Time, d departure) (heard, began bool) {
	close := n.proof.close(now)
	n.proof.refused(now)
	n.last = now
	if n.rows++; !close {
		n.rows = 1
	}
	if !n.on && !close && d.rate <= autoNoiseShare*n.peak() {
		n.on = true
		return false, true
	}
	return !n.on || n.rows >= autoNoiseRows, false
}

// served counts the answers accepted in each second of the last
// servedWindow, and keeps the highest rate over the window it saw.
type served struct {
	secs [servedWindow / time.Second]int // by the second's Unix time, modulo
	at   time.Time                       // the newest second counted
	top  float64
}

func (s *served) add(now time.Time) {
	sec := now.Truncate(time.Second)
	if s.at.IsZero() || sec.Sub(s.at) >= servedWindow {
		clear(s.secs[:])
		s.at = sec
	}
	for s.at.Before(sec) {
		s.at = s.at.Add(time.Second)
		s.secs[s.index(s.at)] = 0
	}
	s.secs[s.index(sec)]++
	sum := 0
	for _, n := range s.secs {
		sum += n
	}
	s.top = max(s.top, float64(sum)/servedWindow.Seconds())
}

func (s *served) index(t time.Time) int { return int(t.Unix() % int64(len(s.secs))) }
