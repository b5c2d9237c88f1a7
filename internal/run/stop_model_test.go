package run_test

import (
	"errors"
	"flag"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/report"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

var (
	stopHistories = flag.Int("stop.histories", 0, "runs TestStopModel plays (0: 30, or 10 with -short)")
	stopSeed      = flag.Uint64("stop.seed", 0, "first seed of TestStopModel and TestStopWithShortStallsLeavesNoJournal (0: 1 to -stop.histories, and one from the clock); run i plays seed+i")
)

// TestStopModel stops runs once (the first signal) at random moments
// against a fake answering with random 429s, 5xx pages, dropped
// connections and stalls (some longer than the timeout), and checks what
// a stop promises: the rows the run counts of unknown outcome are those a
// report of its results file calls "outcome unknown", and those the
// in-flight journal still lists; a row the API only ever refused with 429
// is never among them; report with the input agrees on every count; with
// nothing unknown, no journal is left. A failing run prints its seed and
// how to play it again (timing may differ); see run.Seeds for which runs
// are played.
func TestStopModel(t *testing.T) {
	c := run.Seeds{Test: "TestStopModel", Flag: "stop", N: *stopHistories, Seed: *stopSeed, Short: 10, Long: 30}
	run.PlaySeeds(t, c, func(t *testing.T, s uint64) { stopModelRun(t, s, false) })
}

// TestStopWithShortStallsLeavesNoJournal: against a fake whose requests
// are refused with 429 or stall for less than the timeout (and are then
// answered), one stop leaves nothing of unknown outcome, and so no
// journal.
func TestStopWithShortStallsLeavesNoJournal(t *testing.T) {
	c := run.Seeds{Test: "TestStopWithShortStallsLeavesNoJournal", Flag: "stop", N: *stopHistories, Seed: *stopSeed, Short: 10, Long: 10}
	run.PlaySeeds(t, c, func(t *testing.T, s uint64) { stopModelRun(t, s, true) })
}

// stopFake is the fake API of a stop model run: it draws each request's
// fault from a seeded generator, holds stalled requests for a while, and
// records what each row (by its comment) met.
type stopFake struct {
	h       *kapturetest.Handler
	url     string
	short   bool    // stalls end before the timeout, and are then answered
	p       float64 // share of requests with a fault
	stall   time.Duration
	mu      sync.Mutex
	rng     *rand.Rand
	only429 map[string]bool // false once a request carrying it got anything but a 429
	refuse  atomic.Bool     // from now on, refuse the token
}

func newStopFake(t *testing.T, rng *rand.Rand, short bool, timeout time.Duration) *stopFake {
	f := &stopFake{short: short, p: 0.05 + rng.Float64()*0.25, rng: rand.New(rand.NewPCG(rng.Uint64(), 4)), only429: map[string]bool{}}
	f.stall = timeout / 3
	if !short && rng.IntN(2) == 0 {
		f.stall = 2 * timeout
	}
	f.h = kapturetest.NewHandler(kapturetest.Options{Fail: f.fault, StallFor: f.stall})
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.h.Close(); srv.Close() })
	f.url = srv.URL
	return f
}

// fault draws a request's fault, one in p of them, of any kind alike (the
// short fake: only 429s), and notes what its rows met.
func (f *stopFake) fault(_ int, items []kapturetest.Item) *kapturetest.Fault {
	if f.refuse.Load() {
		return kapturetest.InvalidAuth(http.StatusUnauthorized)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	kinds := []kapturetest.Fault{
		{Kind: kapturetest.FaultReply, Status: http.StatusTooManyRequests}, // no Retry-After: no pause
		{Kind: kapturetest.FaultErrorPage, Status: 502},
		{Kind: kapturetest.FaultDropBefore},
		{Kind: kapturetest.FaultDropAfter},
		{Kind: kapturetest.FaultStall},
	}
	if f.short {
		kinds = kinds[:1]
	}
	var fault *kapturetest.Fault
	if i := int(f.rng.Float64() / (f.p / float64(len(kinds)))); i < len(kinds) {
		fault = &kinds[i]
	}
	refused := fault != nil && (fault.Kind == kapturetest.FaultTooMany || fault.Status == http.StatusTooManyRequests)
	for _, it := range items {
		c := it["comment"]
		if old, seen := f.only429[c]; !seen || old {
			f.only429[c] = refused
		}
	}
	return fault
}

// serve is the fake; the short one stalls some requests for less than the
// timeout before handling them.
func (f *stopFake) serve(w http.ResponseWriter, r *http.Request) {
	if f.short {
		f.mu.Lock()
		stall := f.rng.IntN(8) == 0
		f.mu.Unlock()
		if stall {
			select {
			case <-time.After(f.stall):
			case <-r.Context().Done():
			}
		}
	}
	f.h.ServeHTTP(w, r)
}

// stopModelRun runs a random input once against a random fake, stops it
// once after a random number of results, and checks the counts.
func stopModelRun(t *testing.T, seed uint64, short bool) {
	rng := rand.New(rand.NewPCG(seed, 3))
	input, rows := writeStopInput(t, rng, false)
	results := filepath.Join(filepath.Dir(input), "in.results.csv")
	timeout := time.Duration(200+rng.IntN(400)) * time.Millisecond
	fake := newStopFake(t, rng, short, timeout)
	// No --rate: 429s pause, they do not slow the run for good.
	after := int64(rng.IntN(rows))
	c, err := stopAt(rng, input, results, writer.Create, fake, timeout, 3+rng.IntN(6), after, false)
	t.Logf("seed %d: %d rows, stop after %d results, fault share %.2f, stall %v, timeout %v: %v; read %d success %d failed %d unknown %d not sent %d",
		seed, rows, after, fake.p, fake.stall, timeout, err, c.Read, c.Success, c.Failed, c.Unknown, c.NotSent())
	if err != nil && !errors.Is(err, run.ErrInterrupted) {
		t.Fatalf("Run: %v", err)
	}
	checkStopCounts(t, c, input, results, fake, short)
}

// checkStopCounts checks a stopped run's counts against its files.
func checkStopCounts(t *testing.T, c run.Snapshot, input, results string, fake *stopFake, short bool) {
	left := unresolved(t, results)
	rep, err := report.Build(report.Options{Results: results})
	if err != nil {
		t.Fatal(err)
	}
	if c.Unknown != rep.Unknown || c.Unknown != int64(len(left)) {
		t.Errorf("%d rows counted unknown, report calls %d \"outcome unknown\", the journal lists %d", c.Unknown, rep.Unknown, len(left))
	}
	if short && c.Unknown > 0 {
		t.Errorf("%d rows of unknown outcome, though every stall ended before the timeout", c.Unknown)
	}
	if _, err := os.Stat(results + ".inflight"); (err == nil) != (c.Unknown > 0) {
		t.Errorf("journal stat: %v, with %d rows of unknown outcome", err, c.Unknown)
	}
	fake.mu.Lock()
	for _, r := range left {
		if fake.only429[comment(t, input, r.Line)] {
			t.Errorf("line %d: only ever refused with 429, yet of unknown outcome", r.Line)
		}
	}
	fake.mu.Unlock()
	in, err := report.Build(report.Options{Results: results, Input: input, Reader: reader.Options{Name: input}})
	if err != nil {
		t.Fatal(err)
	}
	// (With the input, a success that a resume sends again, to keep its
	// ticket's rows in order, is out of order.)
	if in.Success+in.OutOfOrder != c.Success || in.Failed != c.Failed+c.Unknown || in.Unknown != c.Unknown || in.Invalid != c.Invalid {
		t.Errorf("report %d success (and %d out of order), %d failed (%d unknown), %d invalid; the run counted %d, %d+%d, %d",
			in.Success, in.OutOfOrder, in.Failed, in.Unknown, in.Invalid, c.Success, c.Failed, c.Unknown, c.Invalid)
	}
	if rep.Success != c.Success || rep.Failed != c.Failed+c.Unknown {
		t.Errorf("report %d success, %d failed; the run counted %d, %d+%d", rep.Success, rep.Failed, c.Success, c.Failed, c.Unknown)
	}
	if c.Read == in.Rows && in.NotSent != c.NotSent() {
		t.Errorf("report: %d not sent, the run counted %d", in.NotSent, c.NotSent())
	}
}

// unresolved returns the rows the journal beside results lists with no
// result recorded after it: what a resume records as of unknown outcome.
func unresolved(t *testing.T, results string) []writer.InFlight {
	inflight, err := writer.ReadInFlight(results)
	if err != nil {
		t.Fatal(err)
	}
	last := map[uint64]int{} // by key, the position of its latest result
	pos := 0
	if err := writer.ReadFile(results, func(r writer.Row) error {
		if r.KeyOK {
			last[r.Key.ID()] = pos
		}
		pos++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var out []writer.InFlight
	for _, r := range inflight {
		if p, ok := last[r.Key.ID()]; !ok || p < r.Since {
			out = append(out, r)
		}
	}
	return out
}

// comment returns the comment of the row at line of input (line 2 is the
// first data row, c0).
func comment(t *testing.T, input string, line int) string {
	b, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(string(b), "\n")
	cells := strings.Split(rows[line-1], ",")
	return cells[len(cells)-1]
}
