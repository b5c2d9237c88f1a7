package batch_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// TestAutoRateSettlesUnderTheLimit runs the engine with AutoRate against
// an API limited to 20 requests/s with a bucket of one token, sending rows
// until the rate settles: every row gets its result, in order, and the
// rate settled at is under the limit (within the 5% that holding just
// under the lowest refused rate allows). On simulated time.
func TestAutoRateSettlesUnderTheLimit(t *testing.T) {
	synctest.Test(t, testAutoRateSettles)
}

func testAutoRateSettles(t *testing.T) {
	const limit = 20.0
	s, cfg := pipeConfig(t, kapturetest.Options{RateLimit: limit, RateBurst: 1, Latency: 10 * time.Millisecond})
	cfg.AutoRate, cfg.Workers, cfg.BatchSize, cfg.MaxRetries = true, 4, 1, 20
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Rows until the rate settles, at most 100 s worth at the limit, with
	// a few more in flight than workers: the engine queues every row it
	// is given, and all it is given it sends.
	const most, ahead = 2000, 8
	rows := make(chan batch.Row)
	c := &collector{}
	slots := make(chan struct{}, ahead)
	emit := func(res []batch.Result) error {
		for range res {
			<-slots
		}
		return c.emit(res)
	}
	go func() { // ends when it has sent its rows, or Run returned
		defer close(rows)
		for i := range most {
			if eng.Stats().SettledRate > 0 {
				return
			}
			rec := reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7135165%05d", i), SubStatus: "CL"}
			select {
			case slots <- struct{}{}:
			case <-t.Context().Done():
				return
			}
			select {
			case rows <- batch.NewRow(rec):
			case <-t.Context().Done():
				return
			}
		}
	}()
	if err := eng.Run(context.Background(), rows, emit); err != nil {
		t.Fatal(err)
	}
	st := eng.Stats()
	got := c.byLine()
	for line, r := range got {
		if r.Status != batch.Success {
			t.Errorf("line %d: %v %s", line, r.Status, r.Message)
		}
	}
	if ss := s.Stats(); ss.Applied != len(got) || ss.OrderViolations != 0 {
		t.Errorf("the API applied %d rows with %d order violations, want %d and 0", ss.Applied, ss.OrderViolations, len(got))
	}
	t.Logf("%d rows, %d requests, %d refused; settled at %.2f", len(got), st.Requests, s.Stats().RateLimited, st.SettledRate)
	if st.SettledRate <= 0 || st.SettledRate > 1.05*limit {
		t.Errorf("settled at %.2f requests/s, want above 0 and at most %.2f", st.SettledRate, 1.05*limit)
	}
}
