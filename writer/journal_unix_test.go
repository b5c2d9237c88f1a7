//go:build unix

package writer

import (
	"syscall"
	"testing"
	"time"
)

// TestJournalFIFODoesNotBlock: a FIFO where the journal goes is not
// opened (a read would wait for a writer forever); it is ignored.
func TestJournalFIFODoesNotBlock(t *testing.T) {
	path := tempPath(t)
	if err := syscall.Mkfifo(JournalPath(path), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadInFlight(path); done <- err }() // ends when ReadInFlight returns
	select {
	case err := <-done:
		if !IsUnreadableJournal(err) {
			t.Errorf("ReadInFlight of a FIFO: %v, want it ignored as not a journal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadInFlight of a FIFO blocked")
	}
}
