package snapshot

import (
	"context"
	"sync"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// Backup keeps a run's pre-images in a snapshot: the engine's backup hook
// (batch.Config.Backup) asks it which tickets of a payload have none yet,
// reads those, and hands them to Keep before the payload leaves. Safe for
// concurrent use, as the Writer is.
type Backup struct {
	W    *Writer
	Book *names.Book      // resolves the names reads show; nil: none
	Now  func() time.Time // the time a read is stamped with; nil: time.Now
	// Changed holds the tickets (rowkey.TicketHash) that the earlier runs
	// a resume goes on from may have changed (resume.State.Changed);
	// set before the first Need. One the file holds no pre-image of is not
	// read: the read would show the job's own change. Its rows go, and
	// Missing counts it.
	Changed map[uint64]struct{}

	mu      sync.Mutex
	older   ids // tickets asked for whose pre-image the file held before
	missing ids // tickets of Changed asked for with no pre-image
}

// Need returns the ids the snapshot holds no read of (read), and those
// whose read did not show the ticket (absent), each once, in order; a
// ticket of Changed without a pre-image is neither (Missing). It counts
// the tickets whose pre-image the file held before this Writer opened it
// (Older).
func (b *Backup) Need(tickets []string) (read, absent []string) {
	seen := ids{}
	for _, id := range tickets {
		if seen.has(id) {
			continue
		}
		seen.add(id)
		m, ok := b.W.mark(id)
		switch {
		case !ok && b.changed(id):
			b.note(&b.missing, id)
			continue
		case !ok:
			read = append(read, id)
			continue
		case m&heldAbsent != 0:
			absent = append(absent, id)
		}
		if m&heldBefore != 0 {
			b.note(&b.older, id)
		}
	}
	return read, absent
}

func (b *Backup) changed(id string) bool {
	_, ok := b.Changed[rowkey.TicketHash(id)]
	return ok
}

// note adds id to the set *s.
func (b *Backup) note(s *ids, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if *s == nil {
		*s = ids{}
	}
	s.add(id)
}

// Missing returns how many tickets of Changed that Need was asked about
// have no pre-image in the file: their rows went without one.
func (b *Backup) Missing() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.missing)
}

// Older returns how many tickets of the payloads Need was asked about had
// a pre-image taken before this run: theirs is kept, not read again.
func (b *Backup) Older() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.older)
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
