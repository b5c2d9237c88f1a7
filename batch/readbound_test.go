package batch_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// longHistory makes the tickets long (a history of 4 MiB: its reply
// alone, or with up to 11 others, is over the bound of a read) and no
// other.
func longHistory(long ...string) func(string) int {
	return func(id string) int {
		for _, l := range long {
			if id == l {
				return 4 << 20
			}
		}
		return 0
	}
}

// TestReadOverTheBound: a Get Ticket reply over the size bound is not a
// network fault: it is not retried; the request's ids are read again in
// halves, so that the other tickets are read, and the long ticket alone
// is Unread, said so, with no error.
func TestReadOverTheBound(t *testing.T) {
	ids := ticketIDs(5)
	s := kapturetest.NewServer(t, kapturetest.Options{LongHistory: longHistory(ids[2])})
	eng := readEngine(t, s, func(c *batch.Config) { c.ReadBatch = 5 })
	got, err := eng.Read(context.Background(), ids)
	if err != nil {
		t.Fatalf("Read: %v, want no error", err)
	}
	for i, tk := range got {
		switch {
		case i == 2 && (tk.Found || tk.Unread != "the API's reply for this ticket is larger than 1310720 bytes"):
			t.Errorf("the long ticket: %+v, want Unread saying its reply is over 1310720 bytes", tk)
		case i != 2 && (!tk.Found || tk.Unread != ""):
			t.Errorf("ticket %d: %+v, want it read", i, tk)
		}
	}
	// 5 ids (over), then 2 (read) and 3 (over), then 1 (over) and 2 (read).
	if st := eng.Stats(); st.Retries != 0 || st.Reads != 5 {
		t.Errorf("%d reads, %d retries; want 5 reads (halves), no retry", st.Reads, st.Retries)
	}

	// probe's one request: the ticket alone is Unread; with another id,
	// the reply over the bound is said, not retried, and not "API down".
	body, status, one, err := eng.ReadRaw(context.Background(), ids[2:3])
	if err != nil || status != 200 || len(body) != 0 || len(one) != 1 || one[0].Unread == "" {
		t.Errorf("ReadRaw of the long ticket: %v, HTTP %d, %d bytes, %+v; want it Unread", err, status, len(body), one)
	}
	_, _, _, err = eng.ReadRaw(context.Background(), ids[1:3])
	var big *batch.ReplyTooLargeError
	if !errors.As(err, &big) || errors.Is(err, batch.ErrAPIDown) || big.IDs != 2 || !strings.Contains(err.Error(), "for 2 tickets is larger than") {
		t.Errorf("ReadRaw of two: %v, want a ReplyTooLargeError for 2 ids", err)
	}
	if st := eng.Stats(); st.Retries != 0 {
		t.Errorf("%d retries, want none", st.Retries)
	}
}

// TestBackupOverTheBound: run --backup holds back the rows of a ticket
// the backup cannot read (its reply alone over the bound), with that
// reason, and sends the other rows of the payload; the run goes on, the
// breaker untouched.
func TestBackupOverTheBound(t *testing.T) {
	recs := fixture(30)
	long := recs[1].TicketID
	s := kapturetest.NewServer(t, kapturetest.Options{ReadKeys: true, LongHistory: longHistory(long)})
	b := &memBackup{}
	cfg := config(s)
	cfg.Backup, cfg.BreakerThreshold = b, 1
	c, err := run(t, context.Background(), cfg, recs)
	if err != nil {
		t.Fatalf("run: %v, want it to go on", err)
	}
	const want = "not sent: the backup read failed: the API's reply for this ticket is larger than 1310720 bytes"
	for _, r := range c.res {
		_, known := s.Ticket(r.TicketID)
		switch {
		case r.TicketID == long && (r.Status != batch.Failed || r.Message != want || r.Attempts != 0):
			t.Errorf("line %d of the long ticket: %v %q (%d attempts), want failed %q, never sent", r.Line, r.Status, r.Message, r.Attempts, want)
		case !known && r.Message != batch.NotShown:
			t.Errorf("line %d of a ticket the fake does not know: %v %q, want %q", r.Line, r.Status, r.Message, batch.NotShown)
		case known && r.TicketID != long && strings.Contains(r.Message, "backup"):
			t.Errorf("line %d: %v %q, want it sent", r.Line, r.Status, r.Message)
		}
	}
	if len(c.res) != len(recs) {
		t.Errorf("%d results for %d rows", len(c.res), len(recs))
	}
	if _, kept := b.kept[long]; kept {
		t.Errorf("a pre-image kept for the ticket not read")
	}
	if h := s.History(long); len(h) != 0 {
		t.Errorf("the long ticket was updated: %+v", h)
	}
}
