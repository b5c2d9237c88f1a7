package snapshot

import (
	"context"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
)

// Backup keeps a run's pre-images in a snapshot: the engine's backup hook
// (batch.Config.Backup) asks it which tickets of a payload have none yet,
// reads those, and hands them to Keep before the payload leaves. Safe for
// concurrent use, as the Writer is.
type Backup struct {
	W    *Writer
	Book *names.Book      // resolves the names reads show; nil: none
	Now  func() time.Time // the time a read is stamped with; nil: time.Now
}

// Need returns the ids the snapshot holds no read of, each once, in order.
func (b *Backup) Need(tickets []string) []string {
	var out []string
	seen := ids{}
	for _, id := range tickets {
		if !seen.has(id) && !b.W.Has(id) {
			seen.add(id)
			out = append(out, id)
		}
	}
	return out
}

// Keep appends the tickets read as pre-images; a ticket the snapshot
// holds already keeps its first. An error means the pre-images may not be
// kept: the payload must not leave.
func (b *Backup) Keep(_ context.Context, tickets []batch.Ticket) error {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	at := now()
	es := make([]Entry, len(tickets))
	for i, t := range tickets {
		es[i] = NewEntry(t, at, b.W.api, b.Book)
	}
	return b.W.Add(es)
}
