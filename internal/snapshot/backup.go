package snapshot

import (
	"context"
	"sync"
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

	mu    sync.Mutex
	older ids // tickets asked for whose pre-image the file held before
}

// Need returns the ids the snapshot holds no read of (read), and those
// whose read did not show the ticket (absent), each once, in order. It
// counts the tickets whose pre-image the file held before this Writer
// opened it (Older).
func (b *Backup) Need(tickets []string) (read, absent []string) {
	seen := ids{}
	for _, id := range tickets {
		if seen.has(id) {
			continue
		}
		seen.add(id)
		m, ok := b.W.mark(id)
		switch {
		case !ok:
			read = append(read, id)
			continue
		case m&heldAbsent != 0:
			absent = append(absent, id)
		}
		if m&heldBefore != 0 {
			b.mu.Lock()
			if b.older == nil {
				b.older = ids{}
			}
			b.older.add(id)
			b.mu.Unlock()
		}
	}
	return read, absent
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
