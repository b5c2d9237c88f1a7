package batch_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// stopCase is one run of stopRun: faults for the requests in order (the
// script), the request at whose arrival Stop is called (stopAt, 1-based),
// or the context cancelled instead (cancel: the second signal).
type stopCase struct {
	name     string
	faults   []*kapturetest.Fault
	stopAt   int
	cancel   bool
	stallFor time.Duration
	batch    int
	backoff  time.Duration // default a minute
	// What must come of the rows: a result each (answered), given back
	// as not sent (unsent), or neither (unknown); and at most how many
	// requests in all.
	want     string
	requests int
}

// stopped is what a stopped engine did with its rows.
type stopped struct {
	results   map[int]batch.Result
	unsent    []int // lines
	requests  int
	afterStop time.Duration // from the stop to Run's return
	err       error
}

// stopRun runs rows through an engine whose fake serves tc's script, and
// stops it as tc says. The timeout is short and the backoff long: a
// payload retried after the stop went at once, not after its backoff.
func stopRun(t *testing.T, tc stopCase, recs []reader.Record) stopped {
	t.Helper()
	var eng *batch.Engine
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var stopAt time.Time
	script := kapturetest.Script(tc.faults...)
	s := kapturetest.NewServer(t, kapturetest.Options{StallFor: tc.stallFor,
		Fail: func(n int, items []kapturetest.Item) *kapturetest.Fault {
			if n == tc.stopAt {
				mu.Lock()
				stopAt = time.Now()
				mu.Unlock()
				if tc.cancel {
					cancel()
				} else {
					eng.Stop()
				}
			}
			return script(n, items)
		}})
	cfg := config(s)
	cfg.Workers, cfg.BatchSize, cfg.Timeout = 1, tc.batch, time.Second
	cfg.BackoffBase, cfg.BackoffMax = cmp.Or(tc.backoff, time.Minute), cmp.Or(tc.backoff, time.Minute)
	var out stopped
	cfg.Unsent = func(_ int, rows []batch.Row) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			out.unsent = append(out.unsent, r.Line)
		}
		return nil
	}
	var err error
	if eng, err = batch.New(cfg); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	err = eng.Run(ctx, queued(recs), c.emit) // all queued: one payload
	mu.Lock()
	defer mu.Unlock()
	if stopAt.IsZero() {
		t.Fatalf("request %d never came: the test proved nothing", tc.stopAt)
	}
	out.afterStop = time.Since(stopAt)
	out.results, out.requests, out.err = c.byLine(), int(s.Stats().Requests), err
	return out
}

func stopRecords(n int) []reader.Record {
	recs := make([]reader.Record, n)
	for i := range recs {
		recs[i] = reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7135165%05d", i), SubStatus: "CL", Comment: fmt.Sprintf("row %d", i+2)}
	}
	return recs
}

// TestStopSettlesWhatWorkersHold: after Stop, a request on the wire gets
// its answer; a payload only refused (429, or the API's failure reply for
// the whole payload) is not sent again and goes to Unsent; one that may
// have been applied gets one more attempt within the timeout, at once;
// what still has no answer gets neither a result nor Unsent (its outcome
// is unknown). A cancelled context stops at once.
func TestStopSettlesWhatWorkersHold(t *testing.T) {
	page := &kapturetest.Fault{Kind: kapturetest.FaultErrorPage}
	busy := &kapturetest.Fault{Kind: kapturetest.FaultTooMany, RetryAfter: 5 * time.Second}
	brief := &kapturetest.Fault{Kind: kapturetest.FaultReply, Status: http.StatusTooManyRequests} // no Retry-After
	stall := &kapturetest.Fault{Kind: kapturetest.FaultStall}
	drop := &kapturetest.Fault{Kind: kapturetest.FaultDropAfter}
	// Every item failed alike: split to find the cause, but nothing was
	// applied.
	refused := &kapturetest.Fault{Kind: kapturetest.FaultReply, Status: http.StatusOK,
		Body: `[{"status":"failed","message":"bad row"},{"status":"failed","message":"bad row"}]`}
	// Two items answered by one: nothing can be attributed, and either
	// may have been applied.
	garbled := &kapturetest.Fault{Kind: kapturetest.FaultReply, Status: http.StatusOK, Body: `[{"status":"success","message":"ok"}]`}
	tests := []stopCase{
		{name: "answered in flight", stopAt: 1, want: "answered", requests: 1},
		{name: "429 only", faults: []*kapturetest.Fault{busy}, stopAt: 1, want: "unsent", requests: 1},
		{name: "429 twice", faults: []*kapturetest.Fault{brief, busy}, stopAt: 2, backoff: time.Millisecond, want: "unsent", requests: 2},
		{name: "5xx page then answered", faults: []*kapturetest.Fault{page}, stopAt: 1, want: "answered", requests: 2},
		{name: "dropped then answered", faults: []*kapturetest.Fault{drop}, stopAt: 1, want: "answered", requests: 2},
		{name: "5xx page then 429", faults: []*kapturetest.Fault{page, busy}, stopAt: 1, want: "unknown", requests: 2},
		{name: "5xx page twice", faults: []*kapturetest.Fault{page, page}, stopAt: 1, want: "unknown", requests: 2},
		{name: "stall shorter than the timeout", faults: []*kapturetest.Fault{stall}, stallFor: 100 * time.Millisecond, stopAt: 1, want: "answered", requests: 2},
		{name: "5xx page then a stall past the timeout", faults: []*kapturetest.Fault{page, stall}, stopAt: 1, want: "unknown", requests: 2},
		{name: "refused as a whole", batch: 2, faults: []*kapturetest.Fault{refused}, stopAt: 1, want: "unsent", requests: 1},
		{name: "5xx page, then refused as a whole: split", batch: 2, faults: []*kapturetest.Fault{page, refused}, stopAt: 1, want: "answered", requests: 4},
		{name: "garbled, split, answered", batch: 2, faults: []*kapturetest.Fault{garbled}, stopAt: 1, want: "answered", requests: 3},
		{name: "cancelled in flight", faults: []*kapturetest.Fault{stall}, stopAt: 1, cancel: true, want: "unknown", requests: 1},
		{name: "cancelled after a 429", faults: []*kapturetest.Fault{brief, stall}, stopAt: 2, backoff: time.Millisecond, cancel: true, want: "unknown", requests: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.batch = max(tc.batch, 1)
			recs := stopRecords(tc.batch)
			got := stopRun(t, tc, recs)
			lines := make([]int, len(recs))
			for i, r := range recs {
				lines[i] = r.Line
			}
			var answered []int
			for l := range got.results {
				answered = append(answered, l)
			}
			slices.Sort(answered)
			slices.Sort(got.unsent)
			switch tc.want {
			case "answered":
				if !slices.Equal(answered, lines) || len(got.unsent) > 0 {
					t.Errorf("results for %v, unsent %v: want a result for each of %v", answered, got.unsent, lines)
				}
			case "unsent":
				if len(answered) > 0 || !slices.Equal(got.unsent, lines) {
					t.Errorf("results for %v, unsent %v: want %v unsent", answered, got.unsent, lines)
				}
			case "unknown":
				if len(answered) > 0 || len(got.unsent) > 0 {
					t.Errorf("results for %v, unsent %v: want neither (outcome unknown)", answered, got.unsent)
				}
			}
			if got.requests != tc.requests {
				t.Errorf("%d requests, want %d", got.requests, tc.requests)
			}
			// Everything after the stop fits in the timeout (1s): no
			// backoff (1m) and no Retry-After (5s) is waited out.
			if limit := 1800 * time.Millisecond; got.afterStop > limit {
				t.Errorf("Run returned %v after the stop, want within %v", got.afterStop, limit)
			}
			if (got.err != nil) != tc.cancel {
				t.Errorf("Run = %v", got.err)
			}
		})
	}
}
