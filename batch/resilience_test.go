package batch_test

// Engine-level resilience tests, more precise than the end-to-end ones:
// the shared Retry-After pause, AIMD under a rate-limited server, stalls
// past the timeout, and connection reuse (bodies drained and closed).

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// knownRecords is n valid rows for tickets the fake knows, each ticket
// about three times.
func knownRecords(n int) []reader.Record {
	recs := make([]reader.Record, n)
	for i := range recs {
		recs[i] = reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7135165%05d", i%(n/3+1)), SubStatus: "CL", Comment: fmt.Sprintf("row %d", i)}
	}
	return recs
}

// arrivals records when each request reached the fake's Fail hook, and
// serves the fault fault(n) returns.
type arrivals struct {
	mu    sync.Mutex
	at    []time.Time
	fault func(n int) *kapturetest.Fault
	// faulted is when the first fault was served.
	faulted time.Time
}

func (a *arrivals) fail(n int, _ []kapturetest.Item) *kapturetest.Fault {
	now := time.Now()
	f := a.fault(n)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, now)
	if f != nil && a.faulted.IsZero() {
		a.faulted = now
	}
	return f
}

// between counts arrivals in (from, to].
func (a *arrivals) between(from, to time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, t := range a.at {
		if t.After(from) && !t.After(to) {
			n++
		}
	}
	return n
}

// TestRetryAfterPausesAllWorkers: one 429 with Retry-After holds every
// worker, not just the one told: after the requests already in flight, no
// request arrives until the delay has passed. With a client rate limit the
// workers are mostly waiting for a token when the 429 comes; they must
// honour the pause too. (On simulated time: a reply is read the moment it
// leaves.)
func TestRetryAfterPausesAllWorkers(t *testing.T) {
	tests := []struct {
		name string
		rate float64
		date bool
	}{
		{"seconds/unlimited", 0, false},
		{"date/unlimited", 0, true},
		{"seconds/rate 8", 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const workers, at, latency = 4, 12, 5 * time.Millisecond // the 12th request gets the 429
				a := &arrivals{fault: func(n int) *kapturetest.Fault {
					if n == at {
						return &kapturetest.Fault{Kind: kapturetest.FaultTooMany, RetryAfter: time.Second, RetryAfterDate: tt.date}
					}
					return nil
				}}
				_, cfg := pipeConfig(t, kapturetest.Options{Latency: latency, Fail: a.fail})
				cfg.Workers, cfg.BatchSize, cfg.Rate, cfg.Burst = workers, 1, tt.rate, 1
				// Enough rows to keep every worker busy well past the pause.
				recs := knownRecords(300)
				if tt.rate > 0 {
					recs = knownRecords(24)
				}
				c, err := run(t, context.Background(), cfg, recs)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(c.byLine()); got != len(recs) {
					t.Fatalf("%d results, want %d", got, len(recs))
				}
				t0 := a.faulted // when the 429 was answered
				if t0.IsZero() {
					t.Fatal("the 429 was never served")
				}
				// Requests the other workers sent before the 429 was read
				// arrive within the fake's latency of it.
				if n := a.between(t0, t0.Add(latency)); n > workers-1 {
					t.Errorf("%d requests arrived within %v of the 429, want at most %d sent before it was read", n, latency, workers-1)
				}
				if n := a.between(t0.Add(latency), t0.Add(time.Second)); n != 0 {
					t.Errorf("%d requests arrived during the 1s Retry-After pause, want 0", n)
				}
				if n := a.between(t0.Add(time.Second), t0.Add(time.Hour)); n == 0 {
					t.Error("no request after the pause: the test proved nothing")
				}
			})
		})
	}
}

// TestAIMD: 429s lower the rate, halving at most once a second however
// many arrive together, and the rate stays below what was configured.
func TestAIMD(t *testing.T) {
	t.Run("simultaneous 429s halve once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// Four requests held together by the fake's latency, all 429.
			tooMany := &kapturetest.Fault{Kind: kapturetest.FaultTooMany, RetryAfter: time.Second}
			h, cfg := pipeConfig(t, kapturetest.Options{Latency: 100 * time.Millisecond,
				Fail: kapturetest.Script(tooMany, tooMany, tooMany, tooMany)})
			cfg.Workers, cfg.BatchSize, cfg.Rate, cfg.Burst = 4, 10, 40, 4
			eng, err := batch.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			minRate := watchRate(t, eng, func() {
				// 41 tickets: every worker has rows for the first four requests.
				c, err := runEngine(context.Background(), eng, knownRecords(120))
				if err != nil || len(c.res) != 120 {
					t.Errorf("Run: %v, %d results, want 120", err, len(c.res))
				}
			})
			if st := h.Stats(); st.Faults[kapturetest.FaultTooMany] != 4 {
				t.Fatalf("%d 429s served, want 4", st.Faults[kapturetest.FaultTooMany])
			}
			if want := cfg.Rate / 2; minRate != want {
				t.Errorf("lowest rate %v after 4 simultaneous 429s, want %v (halved once)", minRate, want)
			}
		})
	})
	t.Run("server rate limit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h, cfg := pipeConfig(t, kapturetest.Options{RateLimit: 10})
			cfg.Workers, cfg.BatchSize, cfg.Rate, cfg.MaxRetries = 4, 1, 40, 10
			eng, err := batch.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Stop once the rate has been halved twice (over a second
			// apart): the rest is the end-to-end test's business.
			var stopped atomic.Bool
			minRate := watchRate(t, eng, func() {
				rows := make(chan batch.Row)
				go func() {
					defer close(rows)
					for _, r := range knownRecords(200) {
						rows <- named(r)
					}
				}()
				c := &collector{}
				err := eng.Run(context.Background(), rows, func(res []batch.Result) error {
					if eng.Stats().Rate <= cfg.Rate/4 && !stopped.Swap(true) {
						eng.Stop()
					}
					return c.emit(res)
				})
				for range rows { // let the feeder end
				}
				if err != nil {
					t.Errorf("Run: %v", err)
				}
				for _, r := range c.res {
					if r.Status != batch.Success {
						t.Errorf("line %d: %+v, want success", r.Line, r)
					}
				}
			})
			st := h.Stats()
			t.Logf("configured %v/s, server 10/s: lowest rate %v, final %v, %d requests, %d refused",
				cfg.Rate, minRate, eng.Stats().Rate, st.Requests, st.RateLimited)
			if st.RateLimited == 0 {
				t.Fatal("the fake refused nothing: the test proved nothing")
			}
			if !stopped.Load() || minRate > cfg.Rate/4 {
				t.Errorf("lowest rate %v, want it halved at least twice from %v", minRate, cfg.Rate)
			}
			if r := eng.Stats().Rate; r >= cfg.Rate {
				t.Errorf("final rate %v, want below the configured %v", r, cfg.Rate)
			}
		})
	})
}

// watchRate runs f while sampling eng.Stats().Rate, and returns the lowest
// rate seen (the rate when f returns included).
func watchRate(t *testing.T, eng *batch.Engine, f func()) float64 {
	t.Helper()
	done := make(chan struct{})
	lowest := make(chan float64)
	go func() {
		low := eng.Stats().Rate
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				lowest <- min(low, eng.Stats().Rate)
				return
			case <-tick.C:
				low = min(low, eng.Stats().Rate)
			}
		}
	}()
	f()
	close(done)
	return <-lowest
}

// TestStallPastTimeoutIsRetried: a request that gets no answer is given
// up after Timeout and sent again.
func TestStallPastTimeoutIsRetried(t *testing.T) {
	a := &arrivals{fault: func(n int) *kapturetest.Fault {
		if n == 1 {
			return &kapturetest.Fault{Kind: kapturetest.FaultStall}
		}
		return nil
	}}
	s := kapturetest.NewServer(t, kapturetest.Options{Fail: a.fail}) // StallFor 0: until the client gives up
	cfg := config(s)
	cfg.Workers, cfg.Timeout = 1, 250*time.Millisecond
	recs := knownRecords(1)
	c, err := run(t, context.Background(), cfg, recs)
	if err != nil {
		t.Fatal(err)
	}
	got := c.byLine()[2]
	if got.Status != batch.Success || got.Attempts != 2 {
		t.Errorf("result %+v, want success on the second attempt", got)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.at) != 2 {
		t.Fatalf("%d requests, want 2", len(a.at))
	}
	// The client waited for its timeout before it gave up: a client that
	// gave up at once would retry within milliseconds. Half the timeout,
	// not all of it: the server stamps a request when its handler runs,
	// which on a loaded machine can be well after the client sent it.
	if gap := a.at[1].Sub(a.at[0]); gap < cfg.Timeout/2 {
		t.Errorf("retry %v after the stalled request, want about the %v timeout", gap, cfg.Timeout)
	}
	if st := s.Stats(); st.ByStatus[0] != 1 {
		t.Errorf("%d requests left unanswered, want the stalled one", st.ByStatus[0])
	}
}

// TestConnectionsReused: replies of every kind the client reads (per-row
// arrays, HTML 500 pages, 200 with a non-JSON body) are drained and closed,
// so a few connections carry many requests.
func TestConnectionsReused(t *testing.T) {
	for _, form := range []kapturetest.Reply{kapturetest.ReplyArray, kapturetest.ReplyObject} {
		t.Run(form.String(), func(t *testing.T) {
			h := kapturetest.NewHandler(kapturetest.Options{Reply: form, Seed: 3,
				Faults: kapturetest.Faults{ErrorPage: .1, NotJSON: .1}})
			var conns atomic.Int64
			ts := httptest.NewUnstartedServer(h)
			ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					conns.Add(1)
				}
			}
			ts.Start()
			t.Cleanup(func() { h.Close(); ts.Close() })
			cfg := batch.Config{BaseURL: ts.URL, Token: kapturetest.DefaultToken, BatchSize: 3, Workers: 4,
				MaxRetries: 10, Timeout: 5 * time.Second, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
			recs := fixture(600)
			c, err := run(t, context.Background(), cfg, recs)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.byLine()) != len(recs) {
				t.Fatalf("%d results, want %d", len(c.byLine()), len(recs))
			}
			st := h.Stats()
			if st.Faults[kapturetest.FaultErrorPage] == 0 || st.Faults[kapturetest.FaultNotJSON] == 0 {
				t.Fatalf("faults served %v, want both kinds", st.Faults)
			}
			if n := conns.Load(); n > int64(2*cfg.Workers) {
				t.Errorf("%d connections for %d requests, want at most %d: replies not drained or closed", n, st.Requests, 2*cfg.Workers)
			}
			t.Logf("%d requests over %d connections", st.Requests, conns.Load())
		})
	}
}

// TestRecoveryKeepsSpacing: while the rate is lowered and recovers
// (AIMD) under a server limited to 10 requests/s, requests stay about
// at least 1/rate apart, so a client running below the server's limit is
// not refused, and the run goes at a good part of the server's rate.
func TestRecoveryKeepsSpacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const serverRate = 10
		var eng atomic.Pointer[batch.Engine]
		type arrival struct {
			at   time.Time
			rate float64
		}
		var mu sync.Mutex
		var got []arrival
		h := kapturetest.NewHandler(kapturetest.Options{RateLimit: serverRate})
		cfg := pipeServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, arrival{time.Now(), eng.Load().Stats().Rate})
			mu.Unlock()
			h.ServeHTTP(w, r)
		}), h.Close)
		cfg.Workers, cfg.BatchSize, cfg.Rate, cfg.Burst, cfg.MaxRetries = 4, 1, 4*serverRate, 1, 10
		e, err := batch.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		eng.Store(e)
		recs := knownRecords(60)
		start := time.Now()
		c, err := runEngine(context.Background(), e, recs)
		if err != nil || len(c.byLine()) != len(recs) {
			t.Fatalf("Run: %v, %d results, want %d", err, len(c.byLine()), len(recs))
		}
		elapsed := time.Since(start)
		st := h.Stats()
		t.Logf("%d rows in %v (%.1f/s, server %d/s): %d refused, final rate %.2f", len(recs), elapsed,
			float64(len(recs))/elapsed.Seconds(), serverRate, st.RateLimited, e.Stats().Rate)
		mu.Lock()
		defer mu.Unlock()
		short := 0
		for i := 1; i < len(got); i++ {
			gap, want := got[i].at.Sub(got[i-1].at), time.Duration(float64(time.Second)/got[i].rate)
			if gap < want && got[i].at.Sub(start) > time.Second { // the first second starts at 4× the server's rate
				short++
				t.Logf("requests %v apart at %v, rate %.2f/s", gap, got[i].at.Sub(start), got[i].rate)
			}
		}
		if short > 0 {
			t.Errorf("%d requests less than an interval after the one before", short)
		}
		// A third, not more: 60 requests are mostly the first halvings
		// and recoveries; what this catches is a rate stuck low, or no
		// recovery at all.
		if rps := float64(len(recs)) / elapsed.Seconds(); rps < serverRate/3 {
			t.Errorf("%.1f requests/s, want at least a third of the server's %d/s", rps, serverRate)
		}
	})
}

// TestSpurious429sCostTheirPauses is issue 20's run: 3,000 rows, 3 a
// payload, --rate 60 or --rate auto, against an API with no limit that
// answers 3% of requests 429 (Retry-After 1 s) at random, as other
// integrations sharing the tenant's limit cause. Each 429 pauses every
// worker; the rate must not collapse, so the run takes at most twice what
// its requests and pauses take at --rate 60 (about 47 s; before,
// 184–224 s, ending at 2–8 requests/s), --rate auto three times (46–118 s
// on seeds 1–3; before, 307–533 s, ending at 0.9–2.8/s).
func TestSpurious429sCostTheirPauses(t *testing.T) {
	for _, auto := range []bool{false, true} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("auto %v seed %d", auto, seed), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { testSpurious429s(t, auto, seed) })
			})
		}
	}
}

func testSpurious429s(t *testing.T, auto bool, seed uint64) {
	h, cfg := pipeConfig(t, kapturetest.Options{Faults: kapturetest.Faults{TooMany: 0.03}, Seed: seed})
	cfg.Workers, cfg.BatchSize, cfg.Rate, cfg.AutoRate, cfg.MaxRetries = 4, 3, 60, auto, 100
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := runEngine(context.Background(), eng, knownRecords(3000))
	if err != nil || len(c.byLine()) != 3000 {
		t.Fatalf("Run: %v, %d results, want 3000", err, len(c.byLine()))
	}
	took := time.Since(start)
	st := h.Stats()
	refused := st.Faults[kapturetest.FaultTooMany]
	ideal := time.Duration(float64(st.Requests)/60*float64(time.Second)) + time.Duration(refused)*time.Second
	t.Logf("%v for %d requests, %d refused (at --rate 60 with their pauses: %v); rate at the end %.2f",
		took, st.Requests, refused, ideal, eng.Stats().Rate)
	if refused == 0 {
		t.Fatal("no 429 served: the test proved nothing")
	}
	// --rate auto takes its 429s for the limit's until it has fallen
	// under 70% of what the API served: up to a minute more.
	most := 2 * ideal
	if auto {
		most = 3 * ideal
	}
	if took > most {
		t.Errorf("took %v, want at most %v", took, most)
	}
}
