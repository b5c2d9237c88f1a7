package batch_test

// Engine-level tests of the ways one object may answer a payload of
// several items: the result of every row must be what the API decided
// about that row, never a neighbour's outcome.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// mixedRecords is n rows, about three per ticket, with every rows of a
// tenth of the tickets unknown to the API (unknown reports which) and
// some rows the API refuses for an empty sub_status. Each row's comment
// is unique, so the fake's history tells which rows it applied.
func mixedRecords(n int) (recs []reader.Record, unknown map[string]bool) {
	unknown = map[string]bool{}
	subs := []string{"P", "PS", "CL"}
	tickets := n/3 + 1
	for i := range n {
		t := i % tickets
		rec := reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7135165%05d", t), SubStatus: subs[i%3], Comment: fmt.Sprintf("row %d", i+2)}
		if t%10 == 3 {
			unknown[rec.TicketID] = true
		}
		if i%13 == 4 {
			rec.SubStatus = "" // the fake refuses it
		}
		recs = append(recs, rec)
	}
	return recs, unknown
}

// sizes records how many items each request to the fake carried, through
// Options.Fail, and serves the faults fault returns (nil: none).
type sizes struct {
	mu    sync.Mutex
	n     []int
	fault func(n int) *kapturetest.Fault
}

func (s *sizes) fail(n int, items []kapturetest.Item) *kapturetest.Fault {
	s.mu.Lock()
	s.n = append(s.n, len(items))
	s.mu.Unlock()
	if s.fault == nil {
		return nil
	}
	return s.fault(n)
}

func (s *sizes) get() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.n)
}

// checkEveryRowAsDecided asserts that each row has exactly one result and
// that it is what the fake decided about that very row: success if and
// only if the fake applied the row, with the fake's own message for the
// rows it refused. It also checks that each ticket's state is its last
// row the fake accepts and that its updates landed in file order.
func checkEveryRowAsDecided(t *testing.T, s *kapturetest.Server, recs []reader.Record, unknown map[string]bool, c *collector) {
	t.Helper()
	res := c.byLine()
	if len(c.res) != len(recs) || len(res) != len(recs) {
		t.Fatalf("%d results for %d distinct lines, want one for each of %d rows", len(c.res), len(res), len(recs))
	}
	applied := map[string][]string{} // ticket → comments applied, in order
	for _, r := range recs {
		if _, ok := applied[r.TicketID]; ok {
			continue
		}
		applied[r.TicketID] = []string{}
		for _, u := range s.History(r.TicketID) {
			applied[r.TicketID] = append(applied[r.TicketID], u.Item["comment"])
		}
	}
	want := map[string][]string{} // ticket → comments of the rows the fake accepts, in file order
	last := map[string]reader.Record{}
	for _, r := range recs {
		got := res[r.Line]
		if got.TicketID != r.TicketID || got.Key != named(r).Key {
			t.Errorf("line %d misattributed: %+v", r.Line, got)
		}
		wantMsg := ""
		switch {
		case r.SubStatus == "":
			wantMsg = kapturetest.MsgMissingSubStatus
		case unknown[r.TicketID]:
			wantMsg = kapturetest.MsgUnknownTicket + r.TicketID
		default:
			want[r.TicketID] = append(want[r.TicketID], r.Comment)
			last[r.TicketID] = r
		}
		wasApplied := slices.Contains(applied[r.TicketID], r.Comment)
		if (got.Status == batch.Success) != wasApplied {
			t.Errorf("line %d: result %+v, but the fake applied it: %v", r.Line, got, wasApplied)
		}
		if wantMsg == "" && got.Status != batch.Success {
			t.Errorf("line %d: %+v, want success", r.Line, got)
		}
		if wantMsg != "" && (got.Status != batch.Failed || got.Message != wantMsg) {
			t.Errorf("line %d: %+v, want failed with %q", r.Line, got, wantMsg)
		}
	}
	for id, comments := range applied {
		// A row whose outcome a reply did not state is sent again, so the
		// history may repeat a row, but in order.
		if got := slices.Compact(comments); !slices.Equal(got, want[id]) {
			t.Errorf("ticket %s history %v, want %v", id, got, want[id])
		}
		st, ok := s.State(id)
		r, wantOK := last[id]
		if ok != wantOK || (ok && (st["comment"] != r.Comment || st["sub_status"] != r.SubStatus)) {
			t.Errorf("ticket %s: state %v (%v), want the row of line %d", id, st, ok, r.Line)
		}
	}
	if st := s.Stats(); st.OrderViolations != 0 {
		t.Errorf("%d order violations: %v", st.OrderViolations, st.ViolationExamples)
	}
}

// TestLastItemObjectReplies runs the default configuration against an API
// that answers one object about the last item of a payload and applies or
// refuses the others silently.
func TestLastItemObjectReplies(t *testing.T) {
	tooMany := &kapturetest.Fault{Kind: kapturetest.FaultTooMany, RetryAfter: time.Second}
	tests := []struct {
		name   string
		faults kapturetest.Faults
		fault  func(n int) *kapturetest.Fault
	}{
		{name: "clean"},
		{
			name: "faults",
			// Error pages, dropped connections (before and after the
			// update is applied), login pages, and two 429s.
			faults: kapturetest.Faults{ErrorPage: .05, DropBefore: .04, DropAfter: .04, NotJSON: .03},
			fault: func(n int) *kapturetest.Fault {
				if n == 15 || n == 120 {
					return tooMany
				}
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, unknown := mixedRecords(300)
			sz := &sizes{fault: tt.fault}
			s := kapturetest.NewServer(t, kapturetest.Options{
				Reply: kapturetest.ReplyLast, Known: func(id string) bool { return !unknown[id] },
				Latency: 2 * time.Millisecond, Faults: tt.faults, Seed: 7, Fail: sz.fail,
			})
			cfg := config(s)
			cfg.MaxRetries, cfg.BreakerThreshold = 20, 1000
			eng, c := runToEnd(t, cfg, recs)
			checkEveryRowAsDecided(t, s, recs, unknown, c)
			st := eng.Stats()
			if st.ReplyForm != "object" || st.BatchSize != 1 {
				t.Errorf("reply form %q, batch size %d; want object, 1", st.ReplyForm, st.BatchSize)
			}
			multi := 0
			for _, n := range sz.get() {
				if n > 1 {
					multi++
				}
			}
			if multi == 0 {
				t.Fatal("no payload of several items was sent: the test proved nothing")
			}
			// Only payloads a worker began before the switch carry
			// several items: one per worker (and their retries).
			if tt.fault == nil && multi > cfg.Workers {
				t.Errorf("%d requests carried several items, want at most one per worker (%d)", multi, cfg.Workers)
			}
			if tt.fault != nil {
				fs := s.Stats().Faults
				if fs[kapturetest.FaultTooMany] != 2 || fs[kapturetest.FaultDropAfter] == 0 || fs[kapturetest.FaultErrorPage] == 0 {
					t.Errorf("faults served %v, want every kind", fs)
				}
			}
		})
	}
}

// TestObjectWholeKeepsPayloadsFull: with ObjectWhole an object covers its
// payload, so payloads stay as large as configured.
func TestObjectWholeKeepsPayloadsFull(t *testing.T) {
	sz := &sizes{}
	// Latency lets the queue fill while the first request is in flight.
	s := kapturetest.NewServer(t, kapturetest.Options{Reply: kapturetest.ReplyObject, Latency: 5 * time.Millisecond, Fail: sz.fail})
	cfg := config(s)
	cfg.Workers, cfg.ObjectReplies = 1, batch.ObjectWhole
	var recs []reader.Record
	for i := range 95 {
		recs = append(recs, reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7000000000%02d", i), SubStatus: "CL"})
	}
	eng, c := runToEnd(t, cfg, recs)
	for _, r := range c.res {
		if r.Status != batch.Success {
			t.Errorf("line %d: %+v, want success", r.Line, r)
		}
	}
	if len(c.res) != len(recs) {
		t.Errorf("%d results, want %d", len(c.res), len(recs))
	}
	got := sz.get()
	if len(got) < 3 {
		t.Fatalf("request sizes %v: want several payloads", got)
	}
	for i, n := range got[1 : len(got)-1] { // the first and last may be short
		if n != cfg.BatchSize {
			t.Errorf("request %d carried %d items, want %d (sizes %v)", i+2, n, cfg.BatchSize, got)
		}
	}
	if st := eng.Stats(); st.ReplyForm != "object" || st.BatchSize != cfg.BatchSize {
		t.Errorf("reply form %q, batch size %d; want object, %d", st.ReplyForm, st.BatchSize, cfg.BatchSize)
	}
}

// TestObjectSingle: every request carries one item from the start, in
// whichever form the API answers.
func TestObjectSingle(t *testing.T) {
	for _, form := range []kapturetest.Reply{kapturetest.ReplyArray, kapturetest.ReplyLast} {
		t.Run(form.String(), func(t *testing.T) {
			recs, unknown := mixedRecords(120)
			s := kapturetest.NewServer(t, kapturetest.Options{Reply: form, Known: func(id string) bool { return !unknown[id] }})
			cfg := config(s)
			cfg.ObjectReplies = batch.ObjectSingle
			eng, err := batch.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if st := eng.Stats(); st.BatchSize != 1 || st.ReplyForm != "" {
				t.Errorf("before the run: batch size %d, reply form %q; want 1, none", st.BatchSize, st.ReplyForm)
			}
			c, err := runEngine(context.Background(), eng, recs)
			if err != nil {
				t.Fatal(err)
			}
			checkEveryRowAsDecided(t, s, recs, unknown, c)
			st := s.Stats()
			if st.Items != st.Requests || st.Requests != len(recs) {
				t.Errorf("%d items in %d requests for %d rows, want one item per request, one request per row", st.Items, st.Requests, len(recs))
			}
			wantForm := map[kapturetest.Reply]string{kapturetest.ReplyArray: "array", kapturetest.ReplyLast: "object"}[form]
			if es := eng.Stats(); es.ReplyForm != wantForm || es.BatchSize != 1 {
				t.Errorf("reply form %q, batch size %d; want %s, 1", es.ReplyForm, es.BatchSize, wantForm)
			}
		})
	}
}

// TestObjectNamingAnotherTicket: an object answering a single item but
// naming another ticket is recorded as a failure that says so, not sent
// again and again.
func TestObjectNamingAnotherTicket(t *testing.T) {
	for _, mode := range []batch.ObjectReplies{batch.ObjectAuto, batch.ObjectWhole, batch.ObjectSingle} {
		t.Run(mode.String(), func(t *testing.T) {
			var requests atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"ticket":{"ticketId":"713516551148"},"message":"updated","status":"success"}`)
			}))
			t.Cleanup(ts.Close)
			cfg := batch.Config{BaseURL: ts.URL, Token: "t", Workers: 1, ObjectReplies: mode}
			c, err := run(t, context.Background(), cfg, []reader.Record{{Line: 2, TicketID: "700000000001", SubStatus: "CL"}})
			if err != nil {
				t.Fatal(err)
			}
			got := c.byLine()[2]
			if got.Status != batch.Failed || !strings.Contains(got.Message, "names ticket 713516551148") || got.Attempts != 1 {
				t.Errorf("result %+v, want failed naming the other ticket after one request", got)
			}
			if n := requests.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// sentRows describes a request's rows by their lines.
func sentRows(rows []batch.Row) string {
	var b []string
	for _, r := range rows {
		b = append(b, fmt.Sprintf("%d", r.Line))
	}
	return strings.Join(b, " ")
}

// TestBeforeSend: the hook sees exactly the rows of every request, first
// attempts, retries, split halves and rows sent again on their own
// included, one call at a time per worker.
func TestBeforeSend(t *testing.T) {
	tests := []struct {
		name string
		opts kapturetest.Options
		mode batch.ObjectReplies
	}{
		{"last item, auto", kapturetest.Options{Reply: kapturetest.ReplyLast}, batch.ObjectAuto},
		{"whole object, split", kapturetest.Options{Reply: kapturetest.ReplyObject, Atomic: true, FailStatus: 400}, batch.ObjectWhole},
		{"array", kapturetest.Options{Atomic: true}, batch.ObjectAuto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, unknown := mixedRecords(200)
			lineOf := map[string]int{} // comment → line
			for _, r := range recs {
				lineOf[r.Comment] = r.Line
			}
			var mu sync.Mutex
			var received []string
			opts := tt.opts
			opts.Known = func(id string) bool { return !unknown[id] }
			opts.Faults = kapturetest.Faults{ErrorPage: .05, DropBefore: .05, DropAfter: .05}
			opts.Seed = 11
			opts.Latency = time.Millisecond
			opts.Fail = func(_ int, items []kapturetest.Item) *kapturetest.Fault {
				var lines []string
				for _, it := range items {
					lines = append(lines, fmt.Sprint(lineOf[it["comment"]]))
				}
				mu.Lock()
				received = append(received, strings.Join(lines, " "))
				mu.Unlock()
				return nil
			}
			s := kapturetest.NewServer(t, opts)
			cfg := config(s)
			cfg.ObjectReplies = tt.mode
			cfg.MaxRetries, cfg.BreakerThreshold = 20, 1000
			var called []string
			busy := make([]atomic.Bool, cfg.Workers)
			cfg.BeforeSend = func(_ context.Context, w int, rows []batch.Row) error {
				if w < 0 || w >= cfg.Workers {
					t.Errorf("worker %d, want 0 to %d", w, cfg.Workers-1)
					return nil
				}
				if busy[w].Swap(true) {
					t.Errorf("two calls at once for worker %d", w)
				}
				defer busy[w].Store(false)
				mu.Lock()
				defer mu.Unlock()
				called = append(called, sentRows(rows))
				return nil
			}
			eng, c := runToEnd(t, cfg, recs)
			checkEveryRowAsDecided(t, s, recs, unknown, c)
			mu.Lock()
			defer mu.Unlock()
			slices.Sort(called)
			slices.Sort(received)
			if !slices.Equal(called, received) {
				t.Errorf("BeforeSend saw %d requests, the fake received %d; they differ", len(called), len(received))
			}
			if int64(len(called)) != eng.Stats().Requests {
				t.Errorf("%d calls for %d requests", len(called), eng.Stats().Requests)
			}
			if st := eng.Stats(); st.Retries == 0 || (tt.mode == batch.ObjectWhole && st.Splits == 0) {
				t.Errorf("stats %+v: want retries (and splits for whole objects), or the test proved little", st)
			}
		})
	}
}

// TestBeforeSendErrorStops: an error from the hook ends the run with that
// error, and no request goes out without a call that returned nil.
func TestBeforeSendErrorStops(t *testing.T) {
	errFull := errors.New("disk full")
	s := kapturetest.NewServer(t, kapturetest.Options{Reply: kapturetest.ReplyLast, Latency: time.Millisecond})
	cfg := config(s)
	var calls, allowed atomic.Int64
	cfg.BeforeSend = func(context.Context, int, []batch.Row) error {
		if calls.Add(1) >= 6 {
			return errFull // and on every later call
		}
		allowed.Add(1)
		return nil
	}
	recs := knownRecords(600)
	c, err := run(t, context.Background(), cfg, recs)
	if !errors.Is(err, errFull) {
		t.Fatalf("err = %v, want %v", err, errFull)
	}
	// A request allowed just as another worker failed may be cancelled
	// before it goes out, so at most, not exactly.
	if got, max := s.Stats().Requests, int(allowed.Load()); got > max {
		t.Errorf("the fake received %d requests, want at most the %d the hook allowed", got, max)
	}
	// Every other worker may have called once more, and failed too.
	if n, max := calls.Load(), int64(6+cfg.Workers-1); n > max {
		t.Errorf("%d calls, want at most %d: workers went on after the error", n, max)
	}
	if len(c.res) >= len(recs) {
		t.Errorf("%d results for %d rows: the run went on", len(c.res), len(recs))
	}
}

func TestNewRefusesUnknownObjectReplies(t *testing.T) {
	if _, err := batch.New(batch.Config{BaseURL: "https://a.kapturecrm.com", Token: "t", ObjectReplies: 9}); err == nil {
		t.Error("ObjectReplies(9) was accepted")
	}
}

// TestStopSettlesRowsOfUnstatedOutcome: a stop after the switch to single
// items sends no row that had not gone out before it, but sends again, on
// their own, the rows whose outcome an object reply did not state (they
// may have been applied), so that every row the API received ends with
// the result the fake decided.
func TestStopSettlesRowsOfUnstatedOutcome(t *testing.T) {
	recs, unknown := mixedRecords(3000)
	var mu sync.Mutex
	received := map[string]bool{} // comments the fake received
	s := kapturetest.NewServer(t, kapturetest.Options{Reply: kapturetest.ReplyLast, Latency: 20 * time.Millisecond,
		Known: func(id string) bool { return !unknown[id] },
		Fail: func(_ int, items []kapturetest.Item) *kapturetest.Fault {
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				received[it["comment"]] = true
			}
			return nil
		}})
	cfg := config(s)
	var stopped atomic.Bool
	sent := map[int]bool{} // lines BeforeSend saw before the stop
	var late []int         // lines it saw after the stop, first sent then
	cfg.BeforeSend = func(_ context.Context, _ int, rows []batch.Row) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			if stopped.Load() && !sent[r.Line] {
				late = append(late, r.Line)
			}
			sent[r.Line] = true
		}
		return nil
	}
	var unsent []int
	cfg.Unsent = func(_ int, rows []batch.Row) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			unsent = append(unsent, r.Line)
		}
		return nil
	}
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	var once sync.Once
	err = eng.Run(context.Background(), queued(recs), func(r []batch.Result) error {
		if eng.Stats().BatchSize == 1 {
			once.Do(func() { // once the switch has left rows to send again
				stopped.Store(true)
				eng.Stop()
			})
		}
		return c.emit(r)
	})
	if err != nil {
		t.Fatalf("Run after Stop: %v", err)
	}
	if !stopped.Load() {
		t.Fatal("the engine never switched to single items: the test proved nothing")
	}
	if len(late) > 0 {
		t.Errorf("lines %v first went out after Stop", late)
	}
	// Every result is what the fake decided about that row, and every row
	// the fake received has one.
	byLine := c.byLine()
	if len(byLine) != len(c.res) || len(c.res) == 0 || len(c.res) >= len(recs) {
		t.Fatalf("%d results (%d lines) for %d rows: want some, one per row, not all", len(c.res), len(byLine), len(recs))
	}
	unsentLine := map[int]bool{}
	for _, l := range unsent {
		unsentLine[l] = true
	}
	for _, r := range recs {
		got, ok := byLine[r.Line]
		if !ok {
			if received[r.Comment] {
				t.Errorf("line %d: the API received it, but it has no result", r.Line)
			}
			continue
		}
		if unsentLine[r.Line] {
			t.Errorf("line %d: given back as not sent, but it has a result", r.Line)
		}
		applied := false
		for _, u := range s.History(r.TicketID) {
			applied = applied || u.Item["comment"] == r.Comment
		}
		if (got.Status == batch.Success) != applied {
			t.Errorf("line %d: %+v, but applied = %v", r.Line, got, applied)
		}
	}
}

// TestFailuresWith500AreAnswers runs against an API that answers its
// refusals (unknown tickets, a missing sub_status) with HTTP 500 and its
// JSON failure reply, as the vendor lists 500 among its failure codes.
// They are the API's answer about those rows: recorded with its message,
// not retried, and many in a row do not stop the run as "API down".
func TestFailuresWith500AreAnswers(t *testing.T) {
	for _, reply := range []kapturetest.Reply{kapturetest.ReplyArray, kapturetest.ReplyObject, kapturetest.ReplyLast} {
		t.Run(fmt.Sprint(reply), func(t *testing.T) {
			recs, _ := mixedRecords(120)
			unknown := map[string]bool{}
			for i := range recs[:40] { // 40 rows in a row the API refuses
				unknown[recs[i].TicketID] = true
			}
			s := kapturetest.NewServer(t, kapturetest.Options{
				Reply: reply, FailStatus: http.StatusInternalServerError,
				Known: func(id string) bool { return !unknown[id] },
			})
			cfg := config(s)
			cfg.MaxRetries = 3 // BreakerThreshold stays the default
			eng, c := runToEnd(t, cfg, recs)
			checkEveryRowAsDecided(t, s, recs, unknown, c)
			for _, r := range c.res {
				// (A mixed array reply comes with 200.)
				if r.Status == batch.Failed && r.HTTPStatus != http.StatusInternalServerError && reply != kapturetest.ReplyArray {
					t.Errorf("line %d: %+v, want failed with the API's 500", r.Line, r)
				}
			}
			// (A row an object reply said nothing about is sent again on
			// its own: that is no retry.)
			if st := eng.Stats(); st.Retries != 0 {
				t.Errorf("%d retries, want none", st.Retries)
			}
		})
	}
}

// runToEnd runs an engine made of cfg over recs to the end, and fails the
// test if it cannot be made or its run fails.
func runToEnd(t *testing.T, cfg batch.Config, recs []reader.Record) (*batch.Engine, *collector) {
	t.Helper()
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := runEngine(context.Background(), eng, recs)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return eng, c
}
