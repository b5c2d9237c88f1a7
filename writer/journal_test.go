package writer

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

func inflight(line int, ticket string) InFlight {
	k := rowkey.New(ticket, []byte(ticket))
	return InFlight{Line: line, TicketID: ticket, Key: k}
}

func result(r InFlight) Result {
	return Result{TicketID: r.TicketID, Status: StatusSuccess, Message: "ok", Line: r.Line, FinishedAt: t0, Key: r.Key}
}

// TestJournalAcrossACrash: rows sent and not recorded are in the journal a
// killed run leaves (Close is not called), with the number of rows the
// results file held; rows recorded are not.
func TestJournalAcrossACrash(t *testing.T) {
	path := tempPath(t)
	w, err := Open(path, Create)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StartJournal(2, 3); err != nil {
		t.Fatal(err)
	}
	a, b, c := inflight(2, "71"), inflight(3, "72"), inflight(4, "73")
	if err := w.Sending(0, []InFlight{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sending(1, []InFlight{c}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, result(a)) // a's result is in; b and c are in flight
	// The crash: the process dies with the file open (the lock goes with it).
	w.unlock()
	w.f.Close()

	w2 := mustOpen(t, path, Resume)
	readBack(t, w2)
	got, err := w2.InFlight()
	if err != nil {
		t.Fatal(err)
	}
	// a is still listed (its sender sent nothing since), with the number
	// of results rows before it: its result, at position 0, ended it.
	want := map[int]InFlight{2: a, 3: b, 4: c}
	if len(got) != 3 {
		t.Fatalf("InFlight = %+v, want a, b and c", got)
	}
	for _, r := range got {
		if r != want[r.Line] {
			t.Errorf("InFlight row %+v, want %+v", r, want[r.Line])
		}
	}
}

func TestJournalRemovedWhenNothingInFlight(t *testing.T) {
	for _, tt := range []struct {
		name      string
		record    bool
		wantExist bool
	}{
		{"all recorded", true, false},
		{"one left in flight", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			w := mustOpen(t, path, Create)
			if err := w.StartJournal(1, 1); err != nil {
				t.Fatal(err)
			}
			r := inflight(2, "71")
			if err := w.Sending(0, []InFlight{r}); err != nil {
				t.Fatal(err)
			}
			if tt.record {
				mustWrite(t, w, result(r))
			}
			mustClose(t, w)
			_, err := os.Stat(JournalPath(path))
			if exists := err == nil; exists != tt.wantExist {
				t.Errorf("journal exists after Close = %v, want %v", exists, tt.wantExist)
			}
		})
	}
}

func TestJournalTornSlotIsIgnored(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	if err := w.StartJournal(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := w.Sending(0, []InFlight{inflight(2, "71"), inflight(3, "72")}); err != nil {
		t.Fatal(err)
	}
	// Tear the slot: flip a byte of its second entry.
	f, err := os.OpenFile(JournalPath(path), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, journalHeader+slotHeader+entryFixed+4); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ReadInFlight(path)
	if err != nil || len(got) != 0 {
		t.Errorf("torn slot: InFlight = %+v, %v; want none", got, err)
	}
}

func TestJournalNotAJournal(t *testing.T) {
	path := tempPath(t)
	writeFile(t, JournalPath(path), "something else entirely, long enough to fill a header of sixty-four bytes")
	if _, err := ReadInFlight(path); !IsUnreadableJournal(err) {
		t.Errorf("err = %v, want an unreadable journal", err)
	}
}

func TestCreateRemovesStaleJournal(t *testing.T) {
	path := tempPath(t)
	writeFile(t, JournalPath(path), "stale")
	mustClose(t, mustOpen(t, path, Create))
	if _, err := os.Stat(JournalPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a new run left a stale journal: %v", err)
	}
}

func TestResumeOfAMissingFileRemovesStaleJournal(t *testing.T) {
	path := tempPath(t)
	writeFile(t, JournalPath(path), "stale")
	w := mustOpen(t, path, Resume)
	if got, err := w.InFlight(); err != nil || len(got) != 0 {
		t.Errorf("InFlight of a new results file = %v, %v; want nothing", got, err)
	}
	if _, err := os.Stat(JournalPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a resume of a missing results file left the stale journal: %v", err)
	}
}

func TestJournalBounds(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	if err := w.Sending(0, nil); err == nil {
		t.Error("Sending before StartJournal: no error")
	}
	if err := w.StartJournal(1000, 1_000_000); err == nil {
		t.Error("a journal of 1000 senders of a million rows each: no error")
	}
	if err := w.StartJournal(1, 1); err != nil {
		t.Fatal(err)
	}
	if err := w.Sending(0, []InFlight{inflight(2, "71"), inflight(3, "72")}); err == nil {
		t.Error("two rows in a slot for one: no error")
	}
}

// TestJournalNeverFollowsALink: a link (or anything) where the journal
// goes is replaced, never written through: a run must not clobber the
// file it points at.
func TestJournalNeverFollowsALink(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	mustWrite(t, w, result(inflight(2, "71")))
	mustClose(t, w)
	victim := filepath.Join(t.TempDir(), "precious.txt")
	writeFile(t, victim, "keep me")
	if err := os.Symlink(victim, JournalPath(path)); err != nil {
		t.Skip("no symlinks here:", err)
	}
	w = mustOpen(t, path, Resume)
	readBack(t, w)
	if _, err := w.InFlight(); !IsUnreadableJournal(err) {
		t.Errorf("InFlight through a link: %v, want it ignored as not a journal", err)
	}
	if err := w.StartJournal(1, 1); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, victim); got != "keep me" {
		t.Errorf("the link's target became %q", got)
	}
	if fi, err := os.Lstat(JournalPath(path)); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("journal is %v, %v; want a regular file", fi, err)
	}
}

// TestJournalForged: a journal a run did not write is ignored, quickly and
// in little memory, whatever its header claims; a slot with entries no run
// writes is ignored whole.
func TestJournalForged(t *testing.T) {
	header := func(slotSize, slots uint32) []byte {
		h := make([]byte, journalHeader)
		copy(h, journalMagic)
		binary.LittleEndian.PutUint32(h[48:], slotSize)
		binary.LittleEndian.PutUint32(h[52:], slots)
		return h
	}
	slot := func(since uint64, r InFlight) []byte {
		b := make([]byte, slotHeader)
		b = appendEntry(b, r)
		binary.LittleEndian.PutUint64(b[4:], since)
		binary.LittleEndian.PutUint32(b[12:], 1)
		binary.LittleEndian.PutUint32(b[0:], crc32.ChecksumIEEE(b[4:]))
		return b
	}
	good := inflight(2, "71")
	for _, tt := range []struct {
		name   string
		body   []byte
		want   int
		refuse bool
	}{
		{"a slot of 256 MiB", header(256<<20, 1), 0, true},
		{"16 million slots", header(64, 1<<24), 0, true},
		{"slots past the end of the file", header(64, 4000), 0, false},
		{"a good entry", append(header(128, 1), slot(0, good)...), 1, false},
		{"line 0", append(header(128, 1), slot(0, InFlight{Line: 0, Key: good.Key})...), 0, false},
		{"no ticket hash", append(header(128, 1), slot(0, InFlight{Line: 2, Key: rowkey.Key{Content: 1}})...), 0, false},
		{"a negative count of rows", append(header(128, 1), slot(1<<63+5, good)...), 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			if err := os.WriteFile(JournalPath(path), tt.body, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadInFlight(path)
			if refused := IsUnreadableJournal(err); refused != tt.refuse || (err != nil && !refused) {
				t.Fatalf("ReadInFlight: %v, want refused %v", err, tt.refuse)
			}
			if len(got) != tt.want {
				t.Errorf("%d rows in flight, want %d: %+v", len(got), tt.want, got)
			}
		})
	}
}

// TestJournalNotSent: rows declared not sent leave the journal on disk at
// once (a killed run's journal no longer lists them), whichever senders'
// slots held them; the others stay; with none left, Close removes it.
func TestJournalNotSent(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	if err := w.StartJournal(2, 3); err != nil {
		t.Fatal(err)
	}
	a, b, c := inflight(2, "71"), inflight(3, "72"), inflight(4, "73")
	if err := w.Sending(0, []InFlight{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sending(1, []InFlight{c}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, result(b))
	if err := w.NotSent([]int{a.Line, c.Line, 99}); err != nil {
		t.Fatal(err)
	}
	if n := w.InFlightRows(); n != 0 {
		t.Errorf("InFlightRows = %d, want 0", n)
	}
	got, err := ReadInFlight(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("the journal on disk lists %+v, want nothing", got)
	}
	if err := w.Sending(1, []InFlight{inflight(5, "74")}); err != nil {
		t.Fatal(err)
	}
	if n, got := w.InFlightRows(), w.Unanswered(); n != 1 || len(got) != 1 || got[0].Line != 5 {
		t.Errorf("InFlightRows = %d, Unanswered = %+v, want line 5", n, got)
	}
	if err := w.NotSent([]int{5}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(JournalPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left after a run with nothing in flight: %v", err)
	}
}
