package batch_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// memBackup keeps the first pre-image of each ticket in memory and
// records what it was asked.
type memBackup struct {
	mu    sync.Mutex
	kept  map[string]batch.Ticket
	needs [][]string
	// forget: Need asks for every ticket, as if none had been kept.
	forget  bool
	keepErr error
}

func (b *memBackup) Need(ids []string) (read, absent []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.needs = append(b.needs, slices.Clone(ids))
	if b.forget {
		return ids, nil
	}
	for _, id := range ids {
		switch t, ok := b.kept[id]; {
		case !ok:
			read = append(read, id)
		case !t.Found && !slices.Contains(absent, id):
			absent = append(absent, id)
		}
	}
	return read, absent
}

func (b *memBackup) Keep(_ context.Context, tickets []batch.Ticket) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keepErr != nil {
		return b.keepErr
	}
	if b.kept == nil {
		b.kept = map[string]batch.Ticket{}
	}
	for _, t := range tickets {
		if _, ok := b.kept[t.ID]; !ok {
			b.kept[t.ID] = t
		}
	}
	return nil
}

// TestBackup: before a ticket's first row leaves, the ticket is read
// and kept: what it held before the run, read before any update of it
// was in flight.
func TestBackup(t *testing.T) {
	var mu sync.Mutex
	sent := map[string]bool{} // tickets an update request carried
	s := kapturetest.NewServer(t, kapturetest.Options{ReadKeys: true, Seed: 7,
		Faults: kapturetest.Faults{ErrorPage: 0.04, DropBefore: 0.03, DropAfter: 0.03, NotJSON: 0.03},
		Fail: func(_ int, items []kapturetest.Item) *kapturetest.Fault {
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				sent[it["ticket_id"]] = true
			}
			return nil
		}})
	recs := fixture(150)
	before := map[string]string{}
	for _, r := range recs {
		if kt, ok := s.Ticket(r.TicketID); ok {
			before[r.TicketID] = kt.SubStatus.Key
		}
	}
	b := &memBackup{}
	cfg := config(s)
	cfg.Backup, cfg.MaxRetries, cfg.BreakerThreshold = b, 10, 100
	c, err := run(t, context.Background(), cfg, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		res := c.byLine()[r.Line]
		kept, ok := b.kept[r.TicketID]
		held, known := before[r.TicketID]
		switch {
		case !known && (res.Status != batch.Failed || res.Message != batch.NotShown || res.Attempts != 0 || res.HTTPStatus != 0 || sent[r.TicketID]):
			// Sent, its change could not be undone: the backup has nothing.
			t.Errorf("line %d (a ticket the read does not show): %v %q after %d attempts, sent %v; want failed %q, never sent",
				r.Line, res.Status, res.Message, res.Attempts, sent[r.TicketID], batch.NotShown)
		case known && (res.Status == 0 || strings.HasPrefix(res.Message, "not sent")):
			t.Errorf("line %d: %v %q", r.Line, res.Status, res.Message)
		}
		switch {
		case !ok:
			t.Errorf("ticket %s: no pre-image", r.TicketID)
		case kept.Found != known || kept.SubStatus.Value != held:
			t.Errorf("ticket %s: kept %+v, want what it held before: %q (found %v)", r.TicketID, kept, held, known)
		}
		if !known {
			continue
		}
		// A read retried (its answer dropped) shows a ticket more than once.
		reads, updates := s.ReadLog(r.TicketID), s.History(r.TicketID)
		if len(reads) == 0 || len(updates) > 0 && updates[0].Request < reads[len(reads)-1] {
			t.Errorf("ticket %s: read by requests %v, updated by %v: want every read before the first update", r.TicketID, reads, updates)
		}
	}
	if st := s.Stats(); st.OrderViolations != 0 || st.Faults[kapturetest.FaultErrorPage] == 0 {
		t.Errorf("%d order violations %v, faults %v: want none, and faults", st.OrderViolations, st.ViolationExamples, st.Faults)
	}
}

// TestBackupFirstSendOnly: a payload's tickets are asked for before its
// first request only: not before a retry, a split half or a row sent
// again on its own.
func TestBackupFirstSendOnly(t *testing.T) {
	var recs []reader.Record
	for i := range 24 {
		rec := reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7135165%05d", i), SubStatus: "CL"}
		if i%5 == 3 {
			rec.CallbackTime = "yesterday" // refused: an atomic API refuses its payload, which is split
		}
		recs = append(recs, rec)
	}
	for _, tt := range []struct {
		name string
		opts kapturetest.Options
	}{
		{"retries and splits", kapturetest.Options{Atomic: true, Fail: func(n int, _ []kapturetest.Item) *kapturetest.Fault {
			switch n % 4 {
			case 0:
				return &kapturetest.Fault{Kind: kapturetest.FaultErrorPage}
			case 1:
				return &kapturetest.Fault{Kind: kapturetest.FaultDropAfter}
			}
			return nil
		}}},
		{"rows sent again on their own", kapturetest.Options{Reply: kapturetest.ReplyLast}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, tt.opts)
			b := &memBackup{forget: true}
			cfg := config(s)
			cfg.Backup, cfg.MaxRetries, cfg.BreakerThreshold = b, 10, 100
			eng, err := batch.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := runEngine(context.Background(), eng, recs); err != nil {
				t.Fatal(err)
			}
			asked := map[string]int{}
			for _, ids := range b.needs {
				for _, id := range ids {
					asked[id]++
				}
			}
			for _, r := range recs {
				if asked[r.TicketID] != 1 {
					t.Errorf("ticket %s asked for %d times, want once", r.TicketID, asked[r.TicketID])
				}
			}
			st := eng.Stats()
			if n := s.Stats().Reads; n != len(b.needs) || int64(n) != st.Reads {
				t.Errorf("%d reads (%d counted) for %d payloads", n, st.Reads, len(b.needs))
			}
			if st.Retries+st.Splits == 0 && tt.opts.Reply != kapturetest.ReplyLast {
				t.Errorf("stats %+v: no retry nor split to test", st)
			}
		})
	}
}

// TestBackupReadFails: a payload whose tickets cannot be read is not
// sent: its rows are failed, saying why; a read that still fails after
// its retries counts towards the breaker; a refused token is fatal.
func TestBackupReadFails(t *testing.T) {
	recs := oneRowPerTicket(12)
	for _, tt := range []struct {
		name    string
		fault   *kapturetest.Fault
		breaker int
		err     error
		msg     string
		status  int
	}{
		{"gave up", &kapturetest.Fault{Kind: kapturetest.FaultErrorPage}, 100, nil,
			"not sent: the backup read failed: gave up after 2 attempts: HTTP 500: 500 Internal Server Error", 500},
		{"the API looks down", &kapturetest.Fault{Kind: kapturetest.FaultErrorPage}, 2, batch.ErrAPIDown, "not sent: the backup read failed: gave up", 500},
		{"token refused", kapturetest.InvalidAuth(200), 100, batch.ErrAuth, "not sent: the backup read failed: authentication rejected: Invalid Auth Key", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, kapturetest.Options{FailRead: func(int, []string) *kapturetest.Fault { return tt.fault }})
			cfg := config(s)
			cfg.Backup, cfg.MaxRetries, cfg.BreakerThreshold = &memBackup{}, 1, tt.breaker
			c, err := run(t, context.Background(), cfg, recs)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("Run: %v, want %v", err, tt.err)
			}
			res := c.byLine()
			if tt.err == nil && len(res) != len(recs) {
				t.Errorf("%d results for %d rows", len(res), len(recs))
			}
			if len(res) == 0 {
				t.Error("no row failed")
			}
			for line, r := range res {
				if r.Status != batch.Failed || !strings.HasPrefix(r.Message, tt.msg) || r.Attempts != 0 || r.HTTPStatus != tt.status {
					t.Errorf("line %d: %v %q, HTTP %d after %d attempts; want failed %q, HTTP %d, never sent", line, r.Status, r.Message, r.HTTPStatus, r.Attempts, tt.msg, tt.status)
				}
			}
			if n := s.Stats().Requests; n != 0 {
				t.Errorf("%d updates sent, want none", n)
			}
		})
	}
}

// TestBackupStop: a stop while a payload's tickets are being read leaves
// its rows as never sent: no result, not given back as unsent, no update;
// an error of Keep is fatal, and nothing is sent.
func TestBackupStop(t *testing.T) {
	arrived := make(chan struct{}, 16)
	s := kapturetest.NewServer(t, kapturetest.Options{FailRead: func(int, []string) *kapturetest.Fault {
		arrived <- struct{}{}
		return &kapturetest.Fault{Kind: kapturetest.FaultStall}
	}})
	var mu sync.Mutex
	var journaled, unsent int
	cfg := config(s)
	cfg.Backup, cfg.Timeout = &memBackup{}, 5*time.Second
	cfg.BeforeSend = func(context.Context, int, []batch.Row) error { mu.Lock(); journaled++; mu.Unlock(); return nil }
	cfg.Unsent = func(int, []batch.Row) error { mu.Lock(); unsent++; mu.Unlock(); return nil }
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-arrived; eng.Stop() }()
	start := time.Now()
	c, err := runEngine(context.Background(), eng, oneRowPerTicket(12))
	if err != nil || len(c.byLine()) != 0 || time.Since(start) > 2*time.Second {
		t.Errorf("Run: %v after %v, %d results; want nil at once, none", err, time.Since(start), len(c.byLine()))
	}
	if journaled+unsent != 0 || s.Stats().Requests != 0 {
		t.Errorf("%d BeforeSend, %d Unsent calls, %d updates; want none", journaled, unsent, s.Stats().Requests)
	}

	s = kapturetest.NewServer(t, kapturetest.Options{})
	disk := errors.New("disk full")
	cfg = config(s)
	cfg.Backup = &memBackup{keepErr: disk}
	if _, err := run(t, context.Background(), cfg, oneRowPerTicket(12)); !errors.Is(err, disk) {
		t.Errorf("Run with Keep failing: %v, want %v", err, disk)
	}
	if n := s.Stats().Requests; n != 0 {
		t.Errorf("%d updates sent, want none", n)
	}
}
