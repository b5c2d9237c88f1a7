package batch

import (
	"context"
	"strings"
	"testing"
)

// TestRowQueueIsBoundedByBytes: a worker's queue takes rows until their
// bytes fill its share, and has room again when a row is taken; a row
// larger than the whole share still fits an empty queue.
func TestRowQueueIsBoundedByBytes(t *testing.T) {
	const workers = 64
	q := newRowQueue(1000, workers)
	if q.size != queueBytes/workers {
		t.Fatalf("share %d, want %d", q.size, queueBytes/workers)
	}
	row := Row{TicketID: "713516551148", Object: []byte(strings.Repeat("x", 16<<10))}
	fit := int(q.size / q.cost(row))
	for i := range fit {
		if !q.put(context.Background(), row) {
			t.Fatalf("row %d of %d refused", i+1, fit)
		}
	}
	if q.room.TryAcquire(q.cost(row)) {
		t.Fatalf("room for row %d: %d rows of %d bytes in a share of %d", fit+1, fit+1, q.cost(row), q.size)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if q.put(done, row) {
		t.Error("put on a full queue returned true after its context ended")
	}
	q.took(<-q.rows)
	if !q.room.TryAcquire(q.cost(row)) {
		t.Error("no room after a row was taken")
	}

	huge := Row{TicketID: "1", Object: make([]byte, 2*q.size)}
	empty := newRowQueue(1000, workers)
	if !empty.put(context.Background(), huge) {
		t.Fatal("a row larger than the share does not fit an empty queue")
	}
	empty.took(<-empty.rows)
	if !empty.room.TryAcquire(empty.size) {
		t.Error("its room was not given back")
	}
}
