package batch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// fixture is a list of records like a file would give: tickets repeated
// (rows for one ticket far apart and adjacent), unknown tickets, and a
// row the API refuses (bad callback_time).
func fixture(n int) []reader.Record {
	var recs []reader.Record
	subs := []string{"P", "PS", "CL"}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("7135165%05d", i%(n/3+1)) // every ticket about three times
		rec := reader.Record{Line: i + 2, TicketID: id, SubStatus: subs[i%3], Comment: fmt.Sprintf("row %d", i+2)}
		switch {
		case i%17 == 5:
			rec.TicketID = fmt.Sprintf("9%011d", i) // unknown to the fake
		case i%29 == 7:
			rec.CallbackTime = "2024-13-45 99:99:99" // the fake refuses it
		}
		recs = append(recs, rec)
	}
	return recs
}

type collector struct {
	mu  sync.Mutex
	res []batch.Result
}

func (c *collector) emit(r []batch.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res = append(c.res, r...)
	return nil
}

func (c *collector) byLine() map[int]batch.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[int]batch.Result, len(c.res))
	for _, r := range c.res {
		m[r.Line] = r
	}
	return m
}

func config(s *kapturetest.Server) batch.Config {
	return batch.Config{
		BaseURL: s.URL, Token: kapturetest.DefaultToken, UserAgent: "kapture-bulk/test",
		BatchSize: 10, Workers: 4, MaxRetries: 5, Timeout: 2 * time.Second,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	}
}

func run(t *testing.T, ctx context.Context, cfg batch.Config, recs []reader.Record) (*collector, error) {
	t.Helper()
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return runEngine(ctx, eng, recs)
}

func runEngine(ctx context.Context, eng *batch.Engine, recs []reader.Record) (*collector, error) {
	rows := make(chan batch.Row)
	c := &collector{}
	done := make(chan struct{})
	feedCtx, stopFeed := context.WithCancel(ctx)
	go func() {
		defer close(done)
		defer close(rows)
		for _, r := range recs {
			select {
			case rows <- named(r):
			case <-feedCtx.Done():
				return
			}
		}
	}()
	err := eng.Run(ctx, rows, c.emit)
	stopFeed()
	<-done
	return c, err
}

// checkFinalState asserts what a one-row-at-a-time run in file order would
// leave: each ticket's state is its last row the API accepts.
func checkFinalState(t *testing.T, s *kapturetest.Server, recs []reader.Record, res map[int]batch.Result) {
	t.Helper()
	last := map[string]reader.Record{}
	for _, r := range recs {
		if res[r.Line].Status == batch.Success {
			last[r.TicketID] = r
		}
	}
	for id, r := range last {
		st, ok := s.State(id)
		if !ok || st["sub_status"] != r.SubStatus || st["comment"] != r.Comment {
			t.Errorf("ticket %s: state %v, want the row of line %d (%s, %q)", id, st, r.Line, r.SubStatus, r.Comment)
		}
	}
	if v := s.Stats().OrderViolations; v != 0 {
		t.Errorf("%d order violations: %v", v, s.Stats().ViolationExamples)
	}
}

// checkHistoryOrder asserts that each ticket's updates landed in file
// order: its history is its rows recorded success. With repeats, a row may
// appear several times in a row (it was sent again), but in order.
func checkHistoryOrder(t *testing.T, s *kapturetest.Server, recs []reader.Record, res map[int]batch.Result, repeats bool) {
	t.Helper()
	want := map[string][]string{}
	for _, r := range recs {
		if res[r.Line].Status == batch.Success {
			want[r.TicketID] = append(want[r.TicketID], r.Comment)
		}
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.TicketID] {
			continue
		}
		seen[r.TicketID] = true
		var got []string
		for _, u := range s.History(r.TicketID) {
			got = append(got, u.Item["comment"])
		}
		if repeats {
			got = slices.Compact(got)
		}
		if !slices.Equal(got, want[r.TicketID]) {
			t.Errorf("ticket %s history %v, want %v", r.TicketID, got, want[r.TicketID])
		}
	}
}

func TestEngineAppliesEveryRowInOrder(t *testing.T) {
	tests := []struct {
		form kapturetest.Reply
		mode batch.ObjectReplies
	}{
		{kapturetest.ReplyArray, batch.ObjectAuto},
		{kapturetest.ReplyObject, batch.ObjectWhole},
		{kapturetest.ReplyObject, batch.ObjectAuto},
		{kapturetest.ReplyLast, batch.ObjectAuto},
	}
	for _, tt := range tests {
		form := tt.form
		for _, atomic := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/%s/atomic=%v", form, tt.mode, atomic), func(t *testing.T) {
				s := kapturetest.NewServer(t, kapturetest.Options{Reply: form, Atomic: atomic, Prefix: "/api/v1"})
				recs := fixture(600)
				cfg := config(s)
				cfg.ObjectReplies = tt.mode
				c, err := run(t, context.Background(), cfg, recs)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				res := c.byLine()
				if len(c.res) != len(recs) || len(res) != len(recs) {
					t.Fatalf("%d results for %d distinct lines, want one for each of %d rows", len(c.res), len(res), len(recs))
				}
				for _, r := range recs {
					got := res[r.Line]
					switch {
					case strings.HasPrefix(r.TicketID, "9"):
						if got.Status != batch.Failed || got.Message != kapturetest.MsgUnknownTicket+r.TicketID {
							t.Errorf("line %d unknown ticket: %+v", r.Line, got)
						}
					case r.CallbackTime != "":
						if got.Status != batch.Failed || got.Message != kapturetest.MsgBadCallbackTime {
							t.Errorf("line %d bad callback: %+v", r.Line, got)
						}
					default:
						if got.Status != batch.Success {
							t.Errorf("line %d: %+v, want success", r.Line, got)
						}
					}
					if got.Key != named(r).Key || got.TicketID != r.TicketID {
						t.Errorf("line %d misattributed: %+v", r.Line, got)
					}
				}
				checkFinalState(t, s, recs, res)
				// A non-atomic API applies good rows of a rejected payload,
				// and splitting sends them again; an object that states the
				// outcome of one item has the others sent again.
				repeats := form != kapturetest.ReplyArray && !(atomic && tt.mode == batch.ObjectWhole)
				checkHistoryOrder(t, s, recs, res, repeats)
				st := s.Stats()
				if st.UserAgent != "kapture-bulk/test" || st.BadContentType != 0 {
					t.Errorf("headers: User-Agent %q, %d bad content types", st.UserAgent, st.BadContentType)
				}
			})
		}
	}
}

func TestEngineSplitsWholePayloadFailures(t *testing.T) {
	for _, atomic := range []bool{true, false} {
		t.Run(fmt.Sprintf("atomic=%v", atomic), func(t *testing.T) {
			s := kapturetest.NewServer(t, kapturetest.Options{Reply: kapturetest.ReplyObject, Atomic: atomic, FailStatus: 400})
			var recs []reader.Record
			for i := 0; i < 40; i++ {
				recs = append(recs, reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7000000000%02d", i), SubStatus: "CL"})
			}
			recs[13].TicketID = "999999999913" // the guilty rows
			recs[31].TicketID = "999999999931"
			cfg := config(s)
			cfg.BatchSize = 40
			cfg.Workers = 1
			cfg.ObjectReplies = batch.ObjectWhole // one object covers the payload
			c, err := run(t, context.Background(), cfg, recs)
			if err != nil {
				t.Fatal(err)
			}
			res := c.byLine()
			for i, r := range recs {
				want := batch.Success
				if i == 13 || i == 31 {
					want = batch.Failed
				}
				if res[r.Line].Status != want {
					t.Errorf("line %d: %+v, want status %d", r.Line, res[r.Line], want)
				}
			}
			if res[15].HTTPStatus != 400 || res[15].Attempts < 2 {
				t.Errorf("guilty row: %+v, want HTTP 400 after several requests", res[15])
			}
			checkFinalState(t, s, recs, res)
		})
	}
}

// TestEngineRetriesTransientFaults: a payload is retried through every
// kind of transient fault until it succeeds. On simulated time: the 429
// pauses a second, the stall lasts the timeout.
func TestEngineRetriesTransientFaults(t *testing.T) {
	synctest.Test(t, testRetriesTransientFaults)
}

func testRetriesTransientFaults(t *testing.T) {
	faults := []*kapturetest.Fault{
		{Kind: kapturetest.FaultErrorPage, Status: 500},
		{Kind: kapturetest.FaultTooMany, RetryAfter: 50 * time.Millisecond},
		{Kind: kapturetest.FaultDropBefore},
		{Kind: kapturetest.FaultDropAfter},
		{Kind: kapturetest.FaultNotJSON},
		{Kind: kapturetest.FaultStall},
		{Kind: kapturetest.FaultErrorPage, Status: 503},
	}
	s, cfg := pipeConfig(t, kapturetest.Options{Fail: kapturetest.Script(faults...)})
	cfg.Workers = 1
	cfg.Timeout = 300 * time.Millisecond
	cfg.MaxRetries = len(faults)
	recs := []reader.Record{{Line: 2, TicketID: "713516551148", SubStatus: "PS"}}
	c, err := run(t, context.Background(), cfg, recs)
	if err != nil {
		t.Fatal(err)
	}
	got := c.byLine()[2]
	if got.Status != batch.Success || got.Attempts != len(faults)+1 {
		t.Fatalf("result %+v, want success on attempt %d", got, len(faults)+1)
	}
	if h := s.History("713516551148"); len(h) != 2 { // drop-after applied once, the retry again
		t.Errorf("history %v", h)
	}
}

// TestEngineGivesUpAfterOneAttempt: with no retries the message says
// "1 attempt".
func TestEngineGivesUpAfterOneAttempt(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
		return &kapturetest.Fault{Kind: kapturetest.FaultErrorPage, Status: 502}
	}})
	cfg := config(s)
	cfg.Workers, cfg.BatchSize, cfg.MaxRetries, cfg.BreakerThreshold = 1, 1, 0, 1
	c, _ := run(t, context.Background(), cfg, fixture(1))
	if len(c.res) != 1 || !strings.HasPrefix(c.res[0].Message, "gave up after 1 attempt: ") {
		t.Errorf("results %+v, want one that gave up after 1 attempt", c.res)
	}
}

func TestEngineGivesUpAndBreaks(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
		return &kapturetest.Fault{Kind: kapturetest.FaultErrorPage, Status: 502}
	}})
	cfg := config(s)
	cfg.Workers = 1
	cfg.BatchSize = 1
	cfg.MaxRetries = 2
	cfg.BreakerThreshold = 3
	c, err := run(t, context.Background(), cfg, fixture(30))
	if !errors.Is(err, batch.ErrAPIDown) {
		t.Fatalf("err = %v, want ErrAPIDown", err)
	}
	if len(c.res) != 3 {
		t.Fatalf("%d results, want the 3 payloads that tripped the breaker", len(c.res))
	}
	for _, r := range c.res {
		if r.Status != batch.Failed || !strings.Contains(r.Message, "gave up after 3 attempts") || r.HTTPStatus != 502 {
			t.Errorf("result %+v", r)
		}
	}
	if n := s.Stats().Requests; n != 9 {
		t.Errorf("%d requests, want 3 payloads × 3 attempts", n)
	}
}

func TestEngineStopsOnAuthFailure(t *testing.T) {
	tests := []struct {
		name string
		opts kapturetest.Options
		tok  string
	}{
		{"401", kapturetest.Options{}, "wrong"},
		{"200 Invalid Auth Key", kapturetest.Options{AuthStatus: 200}, "Basic wrong"},
		{"revoked mid-run", kapturetest.Options{Fail: func(n int, _ []kapturetest.Item) *kapturetest.Fault {
			if n > 3 {
				return kapturetest.InvalidAuth(200)
			}
			return nil
		}}, kapturetest.DefaultToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, tt.opts)
			cfg := config(s)
			cfg.Token = tt.tok
			cfg.BatchSize = 5
			_, err := run(t, context.Background(), cfg, fixture(3000))
			if !errors.Is(err, batch.ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), kapturetest.DefaultToken) {
				t.Errorf("error shows the token: %v", err)
			}
			// After the first rejection at most the requests already in
			// flight (one per other worker) may arrive.
			rejected := s.Stats().Requests
			if tt.name == "revoked mid-run" {
				rejected -= 3
			}
			if rejected > cfg.Workers {
				t.Errorf("%d requests after the token was rejected, want at most %d", rejected, cfg.Workers)
			}
		})
	}
}

func TestEngineHonoursCancelAndStop(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{Latency: 20 * time.Millisecond})
	t.Run("pre-cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		_, err := run(t, ctx, config(s), fixture(1000))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("stop", func(t *testing.T) {
		eng, err := batch.New(config(s))
		if err != nil {
			t.Fatal(err)
		}
		before := s.Stats()
		rows := make(chan batch.Row, 5000)
		for _, r := range fixture(5000) {
			rows <- named(r)
		}
		close(rows)
		c := &collector{}
		err = eng.Run(context.Background(), rows, func(r []batch.Result) error {
			eng.Stop() // stop after the first payload: the others in flight finish
			return c.emit(r)
		})
		if err != nil {
			t.Fatalf("Run after Stop: %v", err)
		}
		after := s.Stats()
		if len(c.res) == 0 || len(c.res) >= 5000 {
			t.Fatalf("%d results: want some, not all", len(c.res))
		}
		if reqs := after.Requests - before.Requests; reqs > 4 || int64(reqs) != eng.Stats().Requests {
			t.Errorf("%d requests reached the API (engine counted %d), want at most one per worker", reqs, eng.Stats().Requests)
		}
		// Every row that reached the API has its result.
		if items := after.Items - before.Items; items != len(c.res) {
			t.Errorf("%d items reached the API, %d results", items, len(c.res))
		}
	})
}

func TestNewRefusesPlainHTTPToRemoteHosts(t *testing.T) {
	tests := []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://acme.kapturecrm.com", false, true},
		{"http://127.0.0.1:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://acme.kapturecrm.com", false, false},
		{"http://acme.kapturecrm.com", true, true},
		{"ftp://acme", false, false},
		{"acme.kapturecrm.com", false, false},
	}
	for _, tt := range tests {
		_, err := batch.New(batch.Config{BaseURL: tt.url, Token: "t", AllowInsecureHTTP: tt.insecure})
		if (err == nil) != tt.ok {
			t.Errorf("New(%q, insecure=%v) err = %v, want ok=%v", tt.url, tt.insecure, err, tt.ok)
		}
	}
	if _, err := batch.New(batch.Config{BaseURL: "https://a.kapturecrm.com", Token: "Basic "}); err == nil {
		t.Error("an empty token was accepted")
	}
}

// TestEarlyAnswerDoesNotRaceTheBody: a server (a WAF, a load balancer)
// may answer before reading the request body, so the transport can still
// be reading a payload after Do returned. Under -race this fails if a
// worker reuses the payload's buffer for its next request.
func TestEarlyAnswerDoesNotRaceTheBody(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable) // without reading the body
	}))
	t.Cleanup(ts.Close)
	var recs []reader.Record
	big := strings.Repeat("x", 64<<10) // larger than socket buffers
	for i := range 40 {
		recs = append(recs, reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7135165%05d", i), SubStatus: "P", Comment: big})
	}
	cfg := batch.Config{BaseURL: ts.URL, Token: "t", BatchSize: 4, Workers: 2, MaxRetries: 2,
		Timeout: 2 * time.Second, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, BreakerThreshold: 100}
	c, err := run(t, context.Background(), cfg, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.res {
		if r.Status != batch.Failed || r.Attempts != 3 {
			t.Fatalf("result %+v, want failed after 3 attempts", r)
		}
	}
	if len(c.res) != len(recs) {
		t.Fatalf("%d results, want %d", len(c.res), len(recs))
	}
}

// named is the row the engine sends for r, with a key that names it, as
// the run gives each row its key: a result must carry its own.
func named(r reader.Record) batch.Row {
	row := batch.NewRow(r)
	row.Key = rowkey.Key{Content: uint64(r.Line), Ticket: rowkey.TicketHash(r.TicketID)}
	return row
}
