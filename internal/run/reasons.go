package run

import (
	"sync"

	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// reasonTally groups the messages of the failed and invalid results the
// run writes, for its summary. The writer goroutine adds; FailureReasons
// may read at any time. Its memory is bounded (reason.Tally keeps at most
// reason.DefaultKept distinct reasons).
type reasonTally struct {
	mu sync.Mutex
	t  *reason.Tally // nil until the first failure
}

// tallyReason counts r's reason if r did not go through.
func (s *Stats) tallyReason(r *writer.Result) {
	if r.Status != writer.StatusFailed && r.Status != writer.StatusInvalid {
		return
	}
	masked := reason.Mask(r.Message) // outside the lock
	rt := &s.reasons
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.t == nil {
		rt.t = reason.NewTally(0)
	}
	rt.t.AddMasked(string(r.Status), masked, r.Line)
}

// FailureReasons returns the n most frequent reasons (n <= 0: all kept)
// among the failed and invalid results written so far, most rows first:
// messages with their ids, numbers and quoted values masked, each with
// its status, count and the input line of its first row.
func (s *Stats) FailureReasons(n int) []reason.Group {
	rt := &s.reasons
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.t == nil {
		return nil
	}
	return rt.t.Top(n)
}
