package batch_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// oneRowPerTicket gives n known tickets a row each, setting the
// catalogue's sub-statuses in turn, every third with a queue.
func oneRowPerTicket(n int) []reader.Record {
	cat := kapturetest.DefaultCatalogue()
	recs := make([]reader.Record, n)
	for i := range recs {
		recs[i] = reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7135165%05d", i), SubStatus: cat.SubStatuses[i%len(cat.SubStatuses)].Key}
		if i%3 == 0 {
			recs[i].Queue = cat.Queues[i%len(cat.Queues)].Key
		}
	}
	return recs
}

// TestReplyCheck: against a tenant whose workflow keeps every ticket's
// sub-status, a row whose reply shows its ticket in another sub-status
// than the row sent is failed, not applied, saying what the ticket holds
// (key and name), whatever the reply form; it is not retried and does
// not count towards the breaker. A row whose ticket held its sub-status
// already is success. With AcceptMoved every row is success.
func TestReplyCheck(t *testing.T) {
	recs := oneRowPerTicket(24)
	for _, tt := range []struct {
		name     string
		reply    kapturetest.Reply
		objects  batch.ObjectReplies
		accepted bool
		attempts int // at most: an item an object does not name is sent again on its own
	}{
		{"array", kapturetest.ReplyArray, batch.ObjectAuto, false, 1},
		{"object", kapturetest.ReplyObject, batch.ObjectSingle, false, 1},
		{"object for several", kapturetest.ReplyLast, batch.ObjectAuto, false, 2},
		{"accept moved", kapturetest.ReplyArray, batch.ObjectAuto, true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, kapturetest.Options{Reply: tt.reply, KeepSubStatus: 1})
			before := map[string]kapturetest.Ticket{}
			for _, r := range recs {
				before[r.TicketID], _ = s.Ticket(r.TicketID)
			}
			cfg := config(s)
			cfg.ObjectReplies, cfg.AcceptMoved, cfg.BreakerThreshold, cfg.MaxRetries = tt.objects, tt.accepted, 1, 0
			c, err := run(t, context.Background(), cfg, recs)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			res := c.byLine()
			moved := 0
			for _, r := range recs {
				got, held := res[r.Line], before[r.TicketID].SubStatus
				want := batch.Result{Status: batch.Success, Message: strings.TrimSpace(kapturetest.MsgSuccess)}
				if held.Key != r.SubStatus && !tt.accepted {
					moved++
					want = batch.Result{Status: batch.Failed, NotApplied: true,
						Message: fmt.Sprintf("not applied: the ticket holds %s (%s), not %s", held.Key, held.Name, r.SubStatus)}
				}
				if got.Status != want.Status || got.NotApplied != want.NotApplied || got.Message != want.Message || got.Attempts > tt.attempts {
					t.Errorf("line %d (%s, held %s): %v %v %q after %d attempts; want %v %v %q after at most %d", r.Line, r.SubStatus, held.Key,
						got.Status, got.NotApplied, got.Message, got.Attempts, want.Status, want.NotApplied, want.Message, tt.attempts)
				}
			}
			if !tt.accepted && (moved == 0 || moved == len(recs)) {
				t.Fatalf("%d of %d rows moved: the test wants both kinds", moved, len(recs))
			}
		})
	}
}

// TestObserve: Observe gets the ticket of every success item, its
// status, sub-status and queue as key and name: the tenant's pairs.
func TestObserve(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{})
	recs := oneRowPerTicket(30)
	var mu sync.Mutex
	seen := map[string]batch.Ticket{}
	cfg := config(s)
	cfg.Observe = func(tk batch.Ticket) {
		mu.Lock()
		defer mu.Unlock()
		seen[tk.ID] = tk
	}
	if _, err := run(t, context.Background(), cfg, recs); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(recs) {
		t.Errorf("observed %d tickets, want %d", len(seen), len(recs))
	}
	for _, r := range recs {
		kt, _ := s.Ticket(r.TicketID)
		want := batch.Ticket{ID: r.TicketID, Found: true,
			Status:    batch.Code{Key: kt.SubStatus.Status.Key, Name: kt.SubStatus.Status.Name, Given: true},
			SubStatus: batch.Code{Key: r.SubStatus, Name: kt.SubStatus.Name, Given: true},
			Queue:     batch.Code{Key: kt.Queue.Key, Name: kt.Queue.Name, Given: true}}
		if got := seen[r.TicketID]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ticket %s observed as %+v, want %+v", r.TicketID, got, want)
		}
	}
}
