package batch_test

// Engine-level tests of what a reply makes the engine send again: a reply
// whose every item failed is split only when it says nothing about each
// item, never when each item's answer is its own; an array that answers
// some items twice or not at all has only those sent again.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// splitRecords is n rows of distinct tickets, 7000000000xx, each with the
// sub-status sub.
func splitRecords(n int, sub string) []reader.Record {
	recs := make([]reader.Record, n)
	for i := range recs {
		recs[i] = reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7000000000%02d", i), SubStatus: sub, Comment: fmt.Sprintf("row %d", i+2)}
	}
	return recs
}

func TestAllFailedArraySplitsOnlyWhenItSaysNothingPerItem(t *testing.T) {
	tests := []struct {
		name   string
		atomic bool
		sub    string
		bad    []int // rows of tickets the API does not know
		// sent twice: whether a row went on the wire more than once.
		sentTwice bool
	}{
		// Each item names its own ticket: each answer stands.
		{name: "all unknown", sub: "CL", bad: allRows(50)},
		// One identical message for every item says nothing per item.
		{name: "all the same message", sub: "", sentTwice: true},
		// An atomic API fails every item for one bad row, the others
		// saying only that they were not applied: split, and the good
		// rows are applied.
		{name: "atomic, one bad row", atomic: true, sub: "CL", bad: []int{20}, sentTwice: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := splitRecords(50, tt.sub)
			bad := map[int]bool{}
			for _, i := range tt.bad {
				recs[i].TicketID = fmt.Sprintf("9000000000%02d", i)
				bad[recs[i].Line] = true
			}
			s := kapturetest.NewServer(t, kapturetest.Options{Atomic: tt.atomic})
			cfg := config(s)
			cfg.BatchSize, cfg.Workers = 50, 1
			eng, c := runToEnd(t, cfg, recs)
			res := c.byLine()
			for _, r := range recs {
				got := res[r.Line]
				want, msg := batch.Success, kapturetest.MsgSuccess
				switch {
				case bad[r.Line]:
					want, msg = batch.Failed, kapturetest.MsgUnknownTicket+r.TicketID
				case tt.sub == "":
					want, msg = batch.Failed, kapturetest.MsgMissingSubStatus
				}
				if got.Status != want || got.Message != strings.TrimSpace(msg) {
					t.Errorf("line %d: %+v, want %v with %q", r.Line, got, want, msg)
				}
			}
			items, splits := s.Stats().Items, eng.Stats().Splits
			if (items > len(recs)) != tt.sentTwice || (splits > 0) != tt.sentTwice {
				t.Errorf("%d items on the wire for %d rows, %d splits; want rows sent twice: %v", items, len(recs), splits, tt.sentTwice)
			}
			checkFinalState(t, s, recs, res)
		})
	}
}

func allRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// TestArrayNotAnsweringEachItemOnce: an array reply that answers a ticket
// of a payload twice or not at all keeps the answers of the tickets it
// answers once; only the others go on the wire again, each on its own,
// and the run says so once.
func TestArrayNotAnsweringEachItemOnce(t *testing.T) {
	tests := []struct {
		name string
		// answer is the items, by index, that the fake's reply to a
		// payload of n > 1 items answers, in order; again those sent
		// again on their own. A payload of one is answered once.
		answer func(n int) []int
		again  []int
	}{
		{name: "B twice", answer: func(n int) []int { return append(upTo(n), 1) }, again: []int{1}},
		{name: "B left out", answer: func(n int) []int { return slices.Delete(upTo(n), 1, 2) }, again: []int{1}},
		{name: "A twice, B left out", answer: func(n int) []int { return slices.Concat([]int{0, 0}, upTo(n)[2:]) }, again: []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := splitRecords(9, "CL")
			ts, wire := arrayFake(t, tt.answer)
			var logs bytes.Buffer
			cfg := batch.Config{BaseURL: ts.URL, Token: "t", BatchSize: 3, Workers: 1, MaxRetries: 1,
				Timeout: 5 * time.Second, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			c := runQueued(t, cfg, recs)
			// Each payload of several items is followed by its items
			// again, one a request, and by nothing else.
			var want [][]string
			attempts := map[string]int{}
			for _, ids := range wire() {
				if len(ids) == 1 && attempts[ids[0]] > 0 {
					attempts[ids[0]]++
					continue
				}
				want = append(want, ids)
				for _, id := range ids {
					attempts[id] = 1
				}
				for _, i := range tt.again {
					if len(ids) > 1 {
						want = append(want, []string{ids[i]})
					}
				}
			}
			got := wire()
			if !slices.ContainsFunc(got, func(ids []string) bool { return len(ids) > 1 }) {
				t.Fatalf("requests %v: no payload of several items, the test proved nothing", got)
			}
			if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
				t.Errorf("requests %v, want %v", got, want)
			}
			res := c.byLine()
			for _, r := range recs {
				if got := res[r.Line]; got.Status != batch.Success || got.Attempts != attempts[r.TicketID] {
					t.Errorf("line %d: %+v, want success after %d requests", r.Line, got, attempts[r.TicketID])
				}
			}
			if n := strings.Count(logs.String(), "an array reply did not answer each item once: "); n != 1 {
				t.Errorf("the log says it %d times, want once:\n%s", n, logs.String())
			}
			said := fmt.Sprintf("msg=\"an array reply did not answer each item once: %d items sent again (a comment may be posted twice)\"", len(tt.again))
			if strings.Contains(said, ": 1 items") {
				said = strings.Replace(said, "1 items", "1 item", 1)
			}
			if !strings.Contains(logs.String(), said) {
				t.Errorf("the log does not say %s:\n%s", said, logs.String())
			}
		})
	}
}

// upTo returns 0 to n-1.
func upTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// runQueued runs an engine over recs, all queued before it starts (so
// that payloads are as full as BatchSize lets them be), to the end.
func runQueued(t *testing.T, cfg batch.Config, recs []reader.Record) *collector {
	t.Helper()
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	if err := eng.Run(context.Background(), queued(recs), c.emit); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return c
}

// queued is recs as rows, all in the channel, which is closed.
func queued(recs []reader.Record) <-chan batch.Row {
	rows := make(chan batch.Row, len(recs))
	for _, r := range recs {
		rows <- named(r)
	}
	close(rows)
	return rows
}

// arrayFake is an API that answers a payload of n > 1 items with an array
// of success items naming the tickets of the items at the indexes
// answer(n) gives, and a payload of one with its success item. wire
// returns the tickets of each request so far.
func arrayFake(t *testing.T, answer func(n int) []int) (ts *httptest.Server, wire func() [][]string) {
	var mu sync.Mutex
	var sent [][]string
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var items []map[string]string
		if err := json.NewDecoder(r.Body).Decode(&items); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it["ticket_id"]
		}
		mu.Lock()
		sent = append(sent, ids)
		mu.Unlock()
		order := []int{0}
		if len(ids) > 1 {
			order = answer(len(ids))
		}
		answers := make([]string, len(order))
		for i, at := range order {
			answers[i] = fmt.Sprintf(`{"ticket":{"ticketId":%q},"message":"updated","status":"success"}`, ids[at])
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "["+strings.Join(answers, ",")+"]")
	}))
	t.Cleanup(ts.Close)
	return ts, func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}
}
