package run

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// fakeAPI is the in-process fake API of the model-based tests, with what
// they need around it: faults drawn from a seeded generator while faulty
// is set; a crash mode (swallow) in which requests are applied but never
// answered; and settle, which waits until every request received has been
// handled, as the time between a kill and an operator's resume does.
//
// No client can order its updates against a server that applies a request
// after the client gave up on it: a request abandoned by a kill and still
// applied during the next run, or one that timed out and was applied after
// its retry and the ticket's next row. The models keep to what a client
// can answer for: settle lets the server finish before the next run, the
// client's timeout (modelTimeout) is far longer than a loaded machine's
// scheduling hiccups, and stalls end by themselves (stallFor, a 504) rather
// than by a client timeout.
type fakeAPI struct {
	*kapturetest.Handler
	URL string

	swallow, faulty atomic.Bool
	active          atomic.Int64 // requests being handled
	perKind         float64      // share of requests getting each kind of fault
	faultMu         sync.Mutex
	faultR          *rand.Rand
}

// The model's timings: see fakeAPI.
const (
	modelTimeout = 5 * time.Second
	stallFor     = 20 * time.Millisecond
)

func newFakeAPI(t *testing.T, seed uint64, reply kapturetest.Reply, perKind float64) *fakeAPI {
	return newFakeAPIWith(t, seed, kapturetest.Options{Reply: reply}, perKind)
}

// newFakeAPIWith is newFakeAPI for a tenant of opts (its catalogue, its
// reads, its workflow); the faults, updates and reads alike, are the
// fakeAPI's.
func newFakeAPIWith(t *testing.T, seed uint64, opts kapturetest.Options, perKind float64) *fakeAPI {
	a := &fakeAPI{perKind: perKind, faultR: rand.New(rand.NewPCG(seed, 2))}
	opts.Fail, opts.FailRead, opts.StallFor = a.fault, a.faultRead, stallFor
	a.Handler = kapturetest.NewHandler(opts)
	srv := httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(func() { a.Handler.Close(); srv.Close() })
	a.URL = srv.URL
	return a
}

// fault draws a fault for an update request while faulty is set.
func (a *fakeAPI) fault(int, []kapturetest.Item) *kapturetest.Fault { return a.draw() }

// faultRead draws a fault for a Get Ticket request while faulty is set.
func (a *fakeAPI) faultRead(int, []string) *kapturetest.Fault { return a.draw() }

// draw draws a fault while faulty is set.
func (a *fakeAPI) draw() *kapturetest.Fault {
	if !a.faulty.Load() {
		return nil
	}
	a.faultMu.Lock()
	x := a.faultR.Float64()
	a.faultMu.Unlock()
	kinds := []kapturetest.FaultKind{kapturetest.FaultErrorPage, kapturetest.FaultDropBefore,
		kapturetest.FaultDropAfter, kapturetest.FaultNotJSON, kapturetest.FaultStall}
	if i := int(x / a.perKind); i < len(kinds) {
		return &kapturetest.Fault{Kind: kinds[i]}
	}
	return nil
}

// serve is the fake, or in crash mode the fake applying a request whose
// answer never comes: the client dies while it waits.
func (a *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.active.Add(1)
	defer a.active.Add(-1)
	if !a.swallow.Load() {
		a.Handler.ServeHTTP(w, r)
		return
	}
	a.Handler.ServeHTTP(httptest.NewRecorder(), r)
	<-r.Context().Done()
}

// settle waits, after a run, until the fake has handled every request it
// received, and leaves crash mode.
func (a *fakeAPI) settle(t *testing.T) {
	a.swallow.Store(false)
	deadline := time.Now().Add(30 * time.Second)
	for a.active.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the fake still handles %d requests 30s after the run ended", a.active.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// interrupt stops a run the chosen way once it has written after results,
// unless quit closes first: 1 a soft stop (the first signal), 2 an abrupt
// one (the second), 3 a crash (requests from then on are applied but never
// answered, then the run dies with them in flight).
func (a *fakeAPI) interrupt(how int, after int64, pause time.Duration, stats *Stats, stop chan struct{}, cancel context.CancelFunc, quit <-chan struct{}) {
	if how == 0 {
		return
	}
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	for {
		select {
		case <-quit:
			return
		case <-tick.C:
		}
		if s := stats.Snapshot(); s.Success+s.Failed+s.Invalid+s.Unchanged >= after {
			break
		}
	}
	switch how {
	case 1:
		close(stop)
	case 2:
		cancel()
	case 3:
		a.swallow.Store(true)
		select {
		case <-quit:
		case <-time.After(pause):
		}
		cancel()
	}
}

// runInterrupted runs cfg once (its Stop is the interruption's), stopped
// as interrupt does after after results (how 0: not at all), and then
// settles the fake. It returns the run's counts and error.
func (a *fakeAPI) runInterrupted(t *testing.T, cfg Config, how int, after int64, pause time.Duration) (Snapshot, error) {
	stop := make(chan struct{})
	cfg.Stop = stop
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stats Stats
	quit, watched := make(chan struct{}), make(chan struct{})
	go func() { // the interruption; ends when the run has returned (quit)
		defer close(watched)
		a.interrupt(how, after, pause, &stats, stop, cancel, quit)
	}()
	err := Run(ctx, cfg, &stats)
	close(quit)
	<-watched
	a.settle(t)
	return stats.Snapshot(), err
}
