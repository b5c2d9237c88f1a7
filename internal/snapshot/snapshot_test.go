package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/names/namestest"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

const api = "https://acme.kapturecrm.com"

var t0 = time.Date(2025, 3, 1, 9, 30, 0, 123e6, time.UTC)

// mock is the fake tenant: tickets with a state and customer data drawn
// from their ids.
var mock = kapturetest.NewHandler(kapturetest.Options{})

// read returns ticket id as a Get Ticket read of the fake shows it.
func read(t *testing.T, id string, keys, queue bool) batch.Ticket {
	return namestest.Read(mock, id, namestest.Shape{Keys: keys, Queue: queue})
}

// book is what a run's replies teach about the fake tenant.
func book() *names.Book { return namestest.Catalogue() }

func ticketIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("7135165511%02d", i)
	}
	return out
}

func entries(t *testing.T, ids []string, b *names.Book, keys, queue bool) []Entry {
	out := make([]Entry, len(ids))
	for i, id := range ids {
		out[i] = NewEntry(read(t, id, keys, queue), t0, api, b)
	}
	return out
}

func mustOpen(t *testing.T, path string) *Writer {
	t.Helper()
	w, err := Open(path, api)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func readAll(t *testing.T, path string) []Entry {
	t.Helper()
	var out []Entry
	if err := Read(path, func(e Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func fileText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRoundTrip: what Add writes, Read gives back: keys where the read or
// a pair gives them, names as read, values no pair explains kept as read,
// not found tickets, blank fields the read had not.
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.csv")
	w := mustOpen(t, path)
	ids := append(ticketIDs(12), "999900000001") // the last is not found
	b := book()
	es := entries(t, ids, b, false, false)
	es[1] = NewEntry(read(t, ids[1], true, true), t0, api, nil) // a tenant that reads keys, no pair known
	es[2] = NewEntry(read(t, ids[2], false, true), t0, api, names.NewBook())
	if err := w.Add(es); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, path)
	if len(got) != len(ids) {
		t.Fatalf("read back %d entries, want %d", len(got), len(ids))
	}
	for i, e := range got {
		kt, found := mock.Ticket(ids[i])
		if e.Ticket.ID != ids[i] || e.Ticket.Found != found || !e.FetchedAt.Equal(t0) || e.API != api || e.Line != i+2 {
			t.Errorf("entry %d: %+v", i, e)
			continue
		}
		if !found {
			if e.Ticket.SubStatus.Given || e.SubStatusKey != "" {
				t.Errorf("a ticket not found has a sub-status: %+v", e)
			}
			continue
		}
		want := batch.Code{Key: kt.SubStatus.Key, Name: kt.SubStatus.Name, Given: true}
		switch i {
		case 1: // keys read, no pair: a value that may be a key or a name
			want = batch.Code{Value: kt.SubStatus.Key, Given: true}
		case 2: // names read, no pair: kept as read, no key
			want = batch.Code{Value: kt.SubStatus.Name, Given: true}
		}
		if e.Ticket.SubStatus != want {
			t.Errorf("ticket %s (holds %s): sub-status read back as %+v, want %+v", ids[i], kt.SubStatus.Key, e.Ticket.SubStatus, want)
		}
		if e.Ticket.Disposition != kt.Disposition {
			t.Errorf("ticket %s: disposition %q, want %q", ids[i], e.Ticket.Disposition, kt.Disposition)
		}
		if q := e.Ticket.Queue; (i == 1 || i == 2) != q.Given && kt.Queue.Key != "" {
			t.Errorf("ticket %s: queue %+v; the read carried it: %v", ids[i], q, i == 1 || i == 2)
		}
	}
}

// TestFirstPreImageWins: a ticket's first read is kept, across Adds and
// Opens; a later read (which would capture the job's own change) is not
// written.
func TestFirstPreImageWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.csv")
	ids := ticketIDs(3)
	before := entries(t, ids[:2], nil, true, false)
	w := mustOpen(t, path)
	if err := w.Add(before[:1]); err != nil {
		t.Fatal(err)
	}
	changed := func(id, sub string) Entry {
		e := NewEntry(read(t, id, true, false), t0.Add(time.Hour), api, nil)
		e.Ticket.SubStatus = batch.Code{Value: sub, Given: true}
		e.SubStatusKey = sub
		return e
	}
	// In one Add, the first entry of a ticket wins too.
	if err := w.Add([]Entry{changed(ids[0], "ZZ"), before[1], changed(ids[1], "ZZ")}); err != nil {
		t.Fatal(err)
	}
	if !w.Has(ids[0]) || !w.Has(ids[1]) || w.Has(ids[2]) {
		t.Errorf("Has: %v %v %v", w.Has(ids[0]), w.Has(ids[1]), w.Has(ids[2]))
	}
	w.Close()

	w = mustOpen(t, path) // a resumed run
	if !w.Has(ids[0]) || !w.Has(ids[1]) || w.Has(ids[2]) {
		t.Error("Has after a second Open does not know the file's tickets")
	}
	if err := w.Add([]Entry{changed(ids[0], "ZZ"), changed(ids[2], "CL")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got := readAll(t, path)
	if len(got) != 3 || strings.Count(fileText(t, path), "\n") != 4 {
		t.Fatalf("%d entries, want 3:\n%s", len(got), fileText(t, path))
	}
	for i, e := range got {
		want := before[min(i, 1)].SubStatusKey
		if i == 2 {
			want = "CL"
		}
		if e.Ticket.ID != ids[i] || e.SubStatusKey != want {
			t.Errorf("entry %d: ticket %s holds %s, want %s %s", i, e.Ticket.ID, e.SubStatusKey, ids[i], want)
		}
	}
}

// TestTornLastLine cuts a snapshot at every byte, as a crash could, and
// opens it again: always accepted, the whole rows kept, the torn rest cut
// off by the next Add and its ticket read again.
func TestTornLastLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snap.csv")
	ids := ticketIDs(4)
	w := mustOpen(t, path)
	if err := w.Add(entries(t, ids[:3], book(), false, false)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	full := fileText(t, path)
	next := entries(t, ids[3:], book(), false, false)
	for n := 0; n <= len(full); n++ {
		prefix := full[:n]
		kept := prefix[:strings.LastIndexByte(prefix, '\n')+1]
		if err := os.WriteFile(path, []byte(prefix), 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := Open(path, api)
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		rows := max(strings.Count(kept, "\n")-1, 0)
		for i, id := range ids[:3] {
			if w.Has(id) != (i < rows) {
				t.Errorf("cut at %d: Has(%s) = %v with %d whole rows", n, id, w.Has(id), rows)
			}
		}
		if err := w.Add(next); err != nil {
			t.Fatalf("cut at %d: Add: %v", n, err)
		}
		w.Close()
		want := kept
		if kept == "" {
			want = Header + "\n"
		}
		if got := fileText(t, path); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "\n") || strings.Count(got[len(want):], "\n") != 1 {
			t.Fatalf("cut at %d: file is\n%s\nwant it to start with\n%s\nand one row more", n, got, want)
		}
	}
}

func TestModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snap.csv")
	w := mustOpen(t, path)
	w.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("a new snapshot is %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	w = mustOpen(t, path)
	w.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("a snapshot readable by others is left %v, want 0600", fi.Mode().Perm())
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "snap.csv")
	w := mustOpen(t, ours)
	if err := w.Add(entries(t, ticketIDs(2), nil, true, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ours, api); !errors.Is(err, writer.ErrLocked) {
		t.Errorf("a second Open while the first holds it: %v, want ErrLocked", err)
	}
	w.Close()
	for _, tt := range []struct {
		name, content string
		open          func(string, string) (*Writer, error)
		api           string
		want          error
	}{
		{"another API's", fileText(t, ours), Open, "https://other.kapturecrm.com", ErrOtherAPI},
		{"a results CSV", writer.Header + "\n713516551100,success,ok,2,200,1,2025-03-01T09:30:00.000Z,k0000000000000001.0000000000000001\n", Open, api, ErrNotSnapshot},
		{"an input", "ticket_id,sub_status\n713516551100,CL\n", Open, api, ErrNotSnapshot},
		{"no whole line", "ticket_id;found", Open, api, ErrNotSnapshot},
		{"a bad found cell", Header + "\n713516551100,yes,,,,,,,,2025-03-01T09:30:00.000Z," + api + "\n", Open, api, ErrNotSnapshot},
		{"rows of two APIs", fileText(t, ours) + strings.Replace(strings.SplitAfter(fileText(t, ours), "\n")[1], api, "https://x.kapturecrm.com", 1), Open, api, ErrOtherAPI},
		{"raw asked of a file without", fileText(t, ours), OpenRaw, api, ErrNoRaw},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "snap.csv")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := tt.open(path, tt.api)
			if !errors.Is(err, tt.want) {
				if w != nil {
					w.Close()
				}
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
			fi, _ := os.Stat(path)
			if got := fileText(t, path); got != tt.content || fi.Mode().Perm() != 0o644 {
				t.Errorf("a refused file was changed (mode %v)", fi.Mode().Perm())
			}
		})
	}
	var fe *reader.FileError
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(Header+"\n713516551100,true,,,,,,,,yesterday,"+api+"\n"), 0o600)
	if err := Read(bad, func(Entry) error { return nil }); !errors.As(err, &fe) || fe.Line != 2 || fe.Column != 10 {
		t.Errorf("Read of a bad fetched_at: %v, want line 2 column 10", err)
	}
	// A backup saved by a spreadsheet: the id it rewrote is said to be so.
	os.WriteFile(bad, []byte(Header+"\n7.13517E+11,true,,,,,,,,2025-03-01T09:30:00.000Z,"+api+"\n"), 0o600)
	if err := Read(bad, func(Entry) error { return nil }); !errors.As(err, &fe) || fe.Column != 1 || !strings.Contains(err.Error(), "spreadsheet") {
		t.Errorf("Read of an id in scientific notation: %v, want column 1 saying a spreadsheet rewrote it", err)
	}
	if _, err := Open(dir, api); !errors.Is(err, writer.ErrNotRegular) {
		t.Errorf("Open of a folder: %v", err)
	}
}

// TestNoCustomerData: neither a snapshot nor a raw one holds the
// customers' names, e-mails or phones that the reads carried.
func TestNoCustomerData(t *testing.T) {
	dir := t.TempDir()
	ids := ticketIDs(30)
	for _, raw := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("snap-%v.csv", raw))
		open := Open
		if raw {
			open = OpenRaw
		}
		w, err := open(path, api)
		if err != nil {
			t.Fatal(err)
		}
		es := entries(t, ids, book(), false, true)
		kt0, _ := mock.Ticket(ids[0])
		es[0].Ticket.Raw = []byte("<html>not JSON " + kt0.Customer.Email + "</html>")
		if err := w.Add(es); err != nil {
			t.Fatal(err)
		}
		w.Close()
		text := fileText(t, path)
		for _, id := range ids {
			kt, _ := mock.Ticket(id)
			for _, v := range []string{kt.Customer.Name, kt.Customer.Email, kt.Customer.Phone} {
				if strings.Contains(text, v) {
					t.Errorf("raw %v: the snapshot holds customer data %q", raw, v)
				}
			}
		}
		if strings.Contains(text, "@example.com") {
			t.Errorf("raw %v: an e-mail address is in the snapshot", raw)
		}
		if raw {
			got := readAll(t, path)
			var v map[string]any
			if err := json.Unmarshal(got[1].Ticket.Raw, &v); err != nil {
				t.Errorf("raw cell is not JSON: %v\n%s", err, got[1].Ticket.Raw)
			}
			// The ticket's id and codes stay; an agent's name is masked as
			// any person's (one rule with the engine's, package personal).
			if !strings.Contains(string(got[1].Ticket.Raw), `"ticketId":"`+ids[1]+`"`) || strings.Contains(string(got[1].Ticket.Raw), "Ravi") ||
				string(got[0].Ticket.Raw) != rawNotJSON {
				t.Errorf("raw cells: %s / %s", got[0].Ticket.Raw, got[1].Ticket.Raw)
			}
		}
	}
}

// TestFormulaCells: a value a spreadsheet would run is escaped in the file
// and read back as it was.
func TestFormulaCells(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.csv")
	w := mustOpen(t, path)
	e := NewEntry(batch.Ticket{ID: "713516551100", Found: true,
		SubStatus:   batch.Code{Value: "=HYPERLINK(\"http://x\")", Given: true},
		Queue:       batch.Code{Key: "-Q", Name: "+Queue\nTwo", Given: true},
		Disposition: "@dispo", DispositionGiven: true}, t0, api, nil)
	if err := w.Add([]Entry{e}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	text := fileText(t, path)
	for _, c := range []string{`"'=HYPERLINK(""http://x"")"`, ",'-Q,'+Queue Two,", ",'@dispo,"} {
		if !strings.Contains(text, c) {
			t.Errorf("the file lacks %s:\n%s", c, text)
		}
	}
	got := readAll(t, path)[0]
	if got.Ticket.SubStatus.Value != `=HYPERLINK("http://x")` || got.QueueKey != "-Q" || got.Ticket.Disposition != "@dispo" {
		t.Errorf("read back: %+v", got)
	}
}

// TestConcurrentAdds: workers add overlapping tickets at once; each is
// written once.
func TestConcurrentAdds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.csv")
	w := mustOpen(t, path)
	ids := ticketIDs(40)
	es := entries(t, ids, nil, true, false)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(es); i += 3 {
				if !w.Has(es[i].Ticket.ID) {
					if err := w.Add(es[i : i+1]); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	if got := readAll(t, path); len(got) != len(ids) || strings.Count(fileText(t, path), "\n") != len(ids)+1 {
		t.Errorf("%d entries, %d lines; want %d of each", len(got), strings.Count(fileText(t, path), "\n")-1, len(ids))
	}
}

// TestBackup: the engine's hook asks for the tickets with no pre-image,
// each once, and keeps what it read of them; a ticket read again later
// keeps its first read.
func TestBackup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.csv")
	w := mustOpen(t, path)
	defer w.Close()
	b := &Backup{W: w, Book: book(), Now: func() time.Time { return t0 }}
	ids := ticketIDs(3)
	if err := b.Keep(context.Background(), []batch.Ticket{read(t, ids[0], false, false)}); err != nil {
		t.Fatal(err)
	}
	if got, absent := b.Need([]string{ids[1], ids[0], ids[1], ids[2]}); !slices.Equal(got, ids[1:]) || absent != nil {
		t.Errorf("Need = %v, %v; want %v, none absent", got, absent, ids[1:])
	}
	later := read(t, ids[0], false, false)
	later.SubStatus = batch.Code{Value: "Later", Given: true}
	if err := b.Keep(context.Background(), []batch.Ticket{later, read(t, ids[1], false, false)}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got := readAll(t, path)
	if len(got) != 2 || got[0].Ticket.SubStatus.Value == "Later" || !got[1].FetchedAt.Equal(t0) {
		t.Errorf("entries: %+v", got)
	}
}
