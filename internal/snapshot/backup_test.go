package snapshot

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
)

// TestBackupAbsentAndOlder: Need says which tickets' pre-image says the
// read did not show them (kept by this Writer or before), so that their
// rows are not sent; and Older counts, once each, the tickets asked for
// whose pre-image the file held before this Writer opened it.
func TestBackupAbsentAndOlder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.csv")
	ids := ticketIDs(4)
	gone := func(id string) batch.Ticket { return batch.Ticket{ID: id} }
	first := &Backup{W: mustOpen(t, path), Book: book()}
	if err := first.Keep(context.Background(), []batch.Ticket{read(t, ids[0], false, false), gone(ids[1])}); err != nil {
		t.Fatal(err)
	}
	if read, absent := first.Need(ids); !slices.Equal(read, ids[2:]) || !slices.Equal(absent, ids[1:2]) || first.Older() != 0 {
		t.Errorf("same Writer: Need = %v, %v, Older %d; want %v, %v, 0", read, absent, first.Older(), ids[2:], ids[1:2])
	}
	first.W.Close()

	b := &Backup{W: mustOpen(t, path), Book: book()}
	defer b.W.Close()
	if n := b.W.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	if err := b.Keep(context.Background(), []batch.Ticket{gone(ids[2])}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		read, absent := b.Need([]string{ids[1], ids[0], ids[2], ids[3], ids[1]})
		if !slices.Equal(read, ids[3:]) || !slices.Equal(absent, []string{ids[1], ids[2]}) {
			t.Errorf("reopened: Need = %v, %v; want %v, %v", read, absent, ids[3:], []string{ids[1], ids[2]})
		}
	}
	if n := b.Older(); n != 2 {
		t.Errorf("Older = %d, want 2 (tickets 0 and 1, held before; 2 was kept by this Writer)", n)
	}
}
