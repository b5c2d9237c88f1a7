package resume

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// killed leaves a results file as a run killed mid-flight does: a's result
// written, b and c sent (in the journal) without results.
func killed(t *testing.T, path string) (a, b, c writer.InFlight) {
	t.Helper()
	w, err := writer.Open(path, writer.Create)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StartJournal(2, 2); err != nil {
		t.Fatal(err)
	}
	a = writer.InFlight{Line: 2, TicketID: "71", Key: key("71", "A", 0)}
	b = writer.InFlight{Line: 3, TicketID: "72", Key: key("72", "B", 0)}
	c = writer.InFlight{Line: 4, TicketID: "73", Key: key("73", "C", 0)}
	if err := w.Sending(0, []writer.InFlight{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sending(1, []writer.InFlight{c}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]writer.Result{{TicketID: "71", Status: ok, Line: 2, Attempts: 1, Key: a.Key}}); err != nil {
		t.Fatal(err)
	}
	// Close keeps the journal while rows are in flight: what a kill leaves.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return a, b, c
}

func TestLoadRecordsRowsLeftInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.results.csv")
	a, b, c := killed(t, path)

	peek, rep, err := Peek(path)
	if err != nil || rep.Unknown != 2 || peek.Rows() != 3 {
		t.Fatalf("Peek: %v, %+v, %d rows; want 2 unknown of 3", err, rep, peek.Rows())
	}

	w, err := writer.Open(path, writer.Resume)
	if err != nil {
		t.Fatal(err)
	}
	st, rep, err := Load(w)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unknown != 2 || rep.Rows != 3 || w.Rows() != 1 {
		t.Errorf("report %+v, file rows %d; want 2 unknown rows counted after the 1 row, none written yet", rep, w.Rows())
	}
	if err := st.Record(w); err != nil || w.Rows() != 3 {
		t.Fatalf("Record: %v; file rows %d, want 3", err, w.Rows())
	}
	for _, tt := range []struct {
		r    writer.InFlight
		done bool
	}{{a, true}, {b, false}, {c, false}} {
		found, success := st.Recorded(tt.r.Key)
		if !found || success != tt.done {
			t.Errorf("line %d: recorded %v, success %v; want recorded, success %v", tt.r.Line, found, success, tt.done)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// The unknown rows are in the file now: a second resume records them
	// no more, even though this run never started a journal of its own.
	w, err = writer.Open(path, writer.Resume)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if st, rep, err := Load(w); err != nil || rep.Unknown != 0 || rep.Rows != 3 || st.Record(w) != nil || w.Rows() != 3 {
		t.Errorf("second Load: %+v, %v; want nothing more recorded", rep, err)
	}
}

// TestLoadTornLineOfATicket: a torn last line whose ticket can be read
// counts as something recorded for that ticket (a crash tore the write of
// its result): the ticket's last row is sent again. Here a canary resume
// had re-sent A after B when the write of A's result was torn, and the
// journal is gone.
func TestLoadTornLineOfATicket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.results.csv")
	a, b := key("71", "A", 0), key("71", "B", 0)
	w, err := writer.Open(path, writer.Create)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write([]writer.Result{
		{TicketID: "71", Status: ok, Line: 2, Attempts: 1, Key: a},
		{TicketID: "71", Status: ok, Line: 3, Attempts: 1, Key: b},
	})
	if err != nil || w.Close() != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("71,success,Status and Comment have been upd")
	f.Close()

	for name, load := range map[string]func() (*State, Report, error){
		"Load": func() (*State, Report, error) {
			w, err := writer.Open(path, writer.Resume)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			return Load(w)
		},
		"Peek": func() (*State, Report, error) { return Peek(path) },
	} {
		st, rep, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.Unreadable != 0 {
			t.Errorf("%s: %d unreadable rows, want the torn line reported apart", name, rep.Unreadable)
		}
		p := plan(st, []rowkey.Key{a, b}, 0)
		if da, db := p.Decide(a, 2), p.Decide(b, 3); da != Skip || db != SendAgain {
			t.Errorf("%s: decisions %v, %v; want the ticket's last row B sent again", name, da, db)
		}
	}
}
