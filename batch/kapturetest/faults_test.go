package kapturetest_test

import (
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestScriptedFaults serves each fault to the first request, then checks
// the second request is served normally.
// faultCase is a fault scripted for the first request, and what the
// client sees of it.
type faultCase struct {
	name        string
	fault       *kapturetest.Fault
	stallFor    time.Duration
	wantErr     bool // the client sees no answer
	wantStatus  int
	wantType    string // Content-Type prefix
	wantApplied bool
	check       func(t *testing.T, r reply)
}

// scriptedFaultCases are each kind of fault, with its options.
func scriptedFaultCases() []faultCase {
	return []faultCase{
		{name: "error page", fault: &kapturetest.Fault{Kind: kapturetest.FaultErrorPage},
			wantStatus: 500, wantType: "text/html"},
		{name: "error page 503", fault: &kapturetest.Fault{Kind: kapturetest.FaultErrorPage, Status: 503},
			wantStatus: 503, wantType: "text/html"},
		{name: "429 seconds", fault: &kapturetest.Fault{Kind: kapturetest.FaultTooMany, RetryAfter: 1500 * time.Millisecond},
			wantStatus: 429, wantType: "application/json",
			check: func(t *testing.T, r reply) {
				if got := r.header.Get("Retry-After"); got != "2" {
					t.Errorf("Retry-After = %q, want 2", got)
				}
			}},
		{name: "429 date", fault: &kapturetest.Fault{Kind: kapturetest.FaultTooMany, RetryAfter: 3 * time.Second, RetryAfterDate: true},
			wantStatus: 429, wantType: "application/json",
			check: func(t *testing.T, r reply) {
				at, err := http.ParseTime(r.header.Get("Retry-After"))
				if err != nil {
					t.Fatalf("Retry-After %q: %v", r.header.Get("Retry-After"), err)
				}
				if d := time.Until(at); d < 2*time.Second || d > 5*time.Second {
					t.Errorf("Retry-After is %v away, want about 3s", d)
				}
			}},
		{name: "drop before applying", fault: &kapturetest.Fault{Kind: kapturetest.FaultDropBefore}, wantErr: true},
		{name: "drop after applying", fault: &kapturetest.Fault{Kind: kapturetest.FaultDropAfter}, wantErr: true, wantApplied: true},
		{name: "not JSON", fault: &kapturetest.Fault{Kind: kapturetest.FaultNotJSON},
			wantStatus: 200, wantType: "text/html"},
		{name: "stall past the client's timeout", fault: &kapturetest.Fault{Kind: kapturetest.FaultStall}, wantErr: true},
		{name: "stall answered 504", fault: &kapturetest.Fault{Kind: kapturetest.FaultStall}, stallFor: 10 * time.Millisecond,
			wantStatus: 504, wantType: "text/html"},
		{name: "token revoked", fault: kapturetest.InvalidAuth(401), wantStatus: 401, wantType: "application/json",
			check: func(t *testing.T, r reply) {
				if got := summarize(t, r.body); got[0] != "failed:"+kapturetest.MsgInvalidAuth {
					t.Errorf("reply = %q", got)
				}
			}},
		{name: "reply, default body", fault: &kapturetest.Fault{Kind: kapturetest.FaultReply, Status: 502},
			wantStatus: 502, wantType: "application/json",
			check: func(t *testing.T, r reply) {
				if got := summarize(t, r.body); got[0] != "failed:Bad Gateway" {
					t.Errorf("reply = %q", got)
				}
			}},
	}
}

func TestScriptedFaults(t *testing.T) {
	tests := scriptedFaultCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, kapturetest.Options{Fail: kapturetest.Script(tt.fault), StallFor: tt.stallFor})
			client := &http.Client{Timeout: time.Second}
			start := time.Now()
			r, err := post(t, client, s.Endpoint(), "", []map[string]string{item(good1, "P")})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got HTTP %d, want no answer", r.status)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if r.status != tt.wantStatus {
					t.Errorf("HTTP status = %d, want %d", r.status, tt.wantStatus)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
					t.Errorf("Content-Type = %q, want %s", ct, tt.wantType)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
			if _, applied := s.State(good1); applied != tt.wantApplied {
				t.Errorf("applied = %v, want %v", applied, tt.wantApplied)
			}
			if got := s.Stats().Faults[tt.fault.Kind]; got != 1 {
				t.Errorf("Stats.Faults[%s] = %d, want 1", tt.fault.Kind, got)
			}

			// The script is over: the client's retry goes through, and
			// at once, without counting as an order violation.
			r, err = post(t, client, s.Endpoint(), "", []map[string]string{item(good1, "CL")})
			if err != nil || r.status != 200 {
				t.Fatalf("second request: %d %v", r.status, err)
			}
			if st, _ := s.State(good1); st["sub_status"] != "CL" {
				t.Errorf("state after retry = %v", st)
			}
			if st := s.Stats(); st.OrderViolations != 0 {
				t.Errorf("order violations: %q", st.ViolationExamples)
			}
		})
	}
}

func TestFailHookSeesItems(t *testing.T) {
	// "Every request carrying ticket good2 gets a 503": the hook can
	// decide on the payload, not only on the request's number.
	s := kapturetest.NewServer(t, kapturetest.Options{
		Fail: func(n int, items []kapturetest.Item) *kapturetest.Fault {
			for _, it := range items {
				if it["ticket_id"] == good2 {
					return &kapturetest.Fault{Kind: kapturetest.FaultErrorPage, Status: 503}
				}
			}
			return nil
		},
	})
	if r := mustPost(t, s, "", []map[string]string{item(good1, "P")}); r.status != 200 {
		t.Errorf("request without good2: HTTP %d", r.status)
	}
	for range 2 {
		if r := mustPost(t, s, "", []map[string]string{item(good1, "CL"), item(good2, "P")}); r.status != 503 {
			t.Errorf("request with good2: HTTP %d", r.status)
		}
	}
	if st, _ := s.State(good1); st["sub_status"] != "P" {
		t.Errorf("a faulted request applied: %v", st)
	}
}

func TestStallReleasedByClose(t *testing.T) {
	// No client timeout and no StallFor: only Close can end the stall,
	// and closing the server must not wait for it.
	s := kapturetest.NewServer(t, kapturetest.Options{
		Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
			return &kapturetest.Fault{Kind: kapturetest.FaultStall}
		},
	})
	errc := make(chan error, 1)
	go func() { // ends when the server closes the connection
		_, err := post(t, http.DefaultClient, s.Endpoint(), "", []map[string]string{item(good1, "P")})
		errc <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Faults[kapturetest.FaultStall] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request never stalled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { // ends when Close returns
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a stalled request")
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("stalled request got an answer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("client still waiting after Close")
	}
}

// statuses sends n sequential requests and returns what each got: the
// HTTP status, or 0 for no answer.
func statuses(t *testing.T, s *kapturetest.Server, n int) []int {
	t.Helper()
	// Generous: a request slowed by -race on a busy machine must not
	// turn into a status 0 and make two runs of one seed differ.
	client := &http.Client{Timeout: 10 * time.Second}
	out := make([]int, n)
	for i := range out {
		r, err := post(t, client, s.Endpoint(), "", []map[string]string{item(strconv.Itoa(700000000000+i), "P")})
		if err == nil {
			out[i] = r.status
		}
	}
	return out
}

func TestFaultProbabilities(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 600 requests")
	}
	const n = 600
	faults := kapturetest.Faults{ErrorPage: 0.1, TooMany: 0.1, DropBefore: 0.05, DropAfter: 0.05, NotJSON: 0.1, Stall: 0.05}
	opts := kapturetest.Options{Faults: faults, Seed: 7, StallFor: time.Millisecond}
	s := kapturetest.NewServer(t, opts)
	first := statuses(t, s, n)
	st := s.Stats()

	for kind, p := range map[kapturetest.FaultKind]float64{
		kapturetest.FaultErrorPage: 0.1, kapturetest.FaultTooMany: 0.1, kapturetest.FaultDropBefore: 0.05,
		kapturetest.FaultDropAfter: 0.05, kapturetest.FaultNotJSON: 0.1, kapturetest.FaultStall: 0.05,
	} {
		// Binomial: allow 4 standard deviations.
		want, sd := n*p, math.Sqrt(n*p*(1-p))
		if got := float64(st.Faults[kind]); math.Abs(got-want) > 4*sd {
			t.Errorf("%s: %v of %d requests, want about %v", kind, got, n, want)
		}
	}
	faulted := 0
	for _, c := range st.Faults {
		faulted += c
	}
	// Drop-after requests applied their update too.
	if got, want := st.Applied, n-faulted+st.Faults[kapturetest.FaultDropAfter]; got != want {
		t.Errorf("applied %d, want %d", got, want)
	}

	again := statuses(t, kapturetest.NewServer(t, opts), n)
	if !reflect.DeepEqual(first, again) {
		t.Error("same seed, different faults")
	}
	opts.Seed = 8
	if other := statuses(t, kapturetest.NewServer(t, opts), n); reflect.DeepEqual(first, other) {
		t.Error("different seeds, same faults")
	}
}

func TestSpread(t *testing.T) {
	f := kapturetest.Spread(0.3)
	sum := f.ErrorPage + f.TooMany + f.DropBefore + f.DropAfter + f.NotJSON + f.Stall
	if math.Abs(sum-0.3) > 1e-12 || f.Stall != f.ErrorPage {
		t.Errorf("Spread(0.3) = %+v", f)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		opts kapturetest.Options
		ok   bool
	}{
		{kapturetest.Options{}, true},
		{kapturetest.Options{Faults: kapturetest.Spread(1)}, true},
		{kapturetest.Options{Faults: kapturetest.Spread(1.2)}, false},
		{kapturetest.Options{Faults: kapturetest.Faults{Stall: -0.1}}, false},
		{kapturetest.Options{Faults: kapturetest.Faults{Stall: math.NaN()}}, false},
		{kapturetest.Options{RateLimit: -1}, false},
		{kapturetest.Options{Latency: -time.Second}, false},
		{kapturetest.Options{AuthStatus: 99}, false},
		{kapturetest.Options{Reply: 7}, false},
	} {
		if err := tt.opts.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.opts, err, tt.ok)
		}
	}
}

func TestConcurrentLoad(t *testing.T) {
	// Many clients, each owning its tickets as the real client's workers
	// do, under random faults and retries: the final state is each
	// ticket's last update, with no order violation. Mostly a -race test
	// of the recording.
	s := kapturetest.NewServer(t, kapturetest.Options{Faults: kapturetest.Spread(0.3), Seed: 1, StallFor: 5 * time.Millisecond})
	client := &http.Client{Timeout: time.Second}
	const workers, perWorker = 8, 30
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			id := fmt.Sprintf("7%011d", w)
			for i := range perWorker {
				for {
					r, err := post(t, client, s.Endpoint(), "", []map[string]string{item(id, "S"+strconv.Itoa(i))})
					if err == nil && r.status == 200 && strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.OrderViolations != 0 {
		t.Errorf("order violations: %q", st.ViolationExamples)
	}
	for w := range workers {
		id := fmt.Sprintf("7%011d", w)
		if got, _ := s.State(id); got["sub_status"] != "S"+strconv.Itoa(perWorker-1) {
			t.Errorf("ticket %s ends %v", id, got)
		}
	}
	if !strings.Contains(s.Summary(), "faults injected:") {
		t.Errorf("summary lacks faults:\n%s", s.Summary())
	}
}
