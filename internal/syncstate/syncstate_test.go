package syncstate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	bolt "go.etcd.io/bbolt"
)

func open(t *testing.T, path string) *State {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// kill abandons s as a kill -9 would: nothing more is committed, and the
// lock goes with the file.
func kill(t *testing.T, s *State) {
	t.Helper()
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
	s.closed = true
}

func get(t *testing.T, s *State, ticket string) Entry {
	t.Helper()
	e, _, err := s.Get(ticket)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var at = time.Date(2026, 12, 2, 2, 15, 0, 0, time.UTC)

// TestCrashSafety: whatever instant a run dies at, a ticket is Applied
// with a content only if that row's success was recorded, and a ticket
// whose request may have been applied is never left Applied with an older
// content.
func TestCrashSafety(t *testing.T) {
	cases := []struct {
		name string
		// steps run on a state where ticket "7" is Applied with content 1;
		// then the run is killed.
		steps func(s *State)
		want  Entry
	}{
		{"marked in flight, no answer", func(s *State) {
			s.Sending([]string{"7"})
		}, Entry{Status: Unknown, Content: 1, Applied: at}},
		{"answered, outcome not committed", func(s *State) {
			s.Sending([]string{"7"})
			s.Outcome("7", 2, true, at.Add(time.Hour))
		}, Entry{Status: Unknown, Content: 1, Applied: at}},
		{"answered and committed", func(s *State) {
			s.Sending([]string{"7"})
			s.Outcome("7", 2, true, at.Add(time.Hour))
			s.Commit()
		}, Entry{Status: Applied, Content: 2, Applied: at.Add(time.Hour)}},
		{"failed, committed", func(s *State) {
			s.Sending([]string{"7"})
			s.Outcome("7", 2, false, at.Add(time.Hour))
			s.Commit()
		}, Entry{Status: Failed, Content: 1, Applied: at}},
		{"next row of the ticket in flight", func(s *State) {
			s.Sending([]string{"7"})
			s.Outcome("7", 2, true, at.Add(time.Hour))
			s.Sending([]string{"7"}) // commits the outcome with the new mark
		}, Entry{Status: Unknown, Content: 2, Applied: at.Add(time.Hour)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.db")
			s := open(t, path)
			s.Sending([]string{"7"})
			s.Outcome("7", 1, true, at)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, path)
			c.steps(s)
			kill(t, s)
			s = open(t, path)
			if got := get(t, s, "7"); got != c.want {
				t.Errorf("after the kill: %+v, want %+v", got, c.want)
			}
			if got, want := s.Recovered, map[bool]int{true: 1, false: 0}[c.want.Status == Unknown]; got != want {
				t.Errorf("recovered %d, want %d", got, want)
			}
			if !s.Unclean {
				t.Error("the state does not say the last run did not close it")
			}
		})
	}
}

// TestCloseSettlesRowsWithoutOutcome: a clean close with a row sent and
// never answered (a stop in mid-payload) leaves its ticket Unknown.
func TestCloseSettlesRowsWithoutOutcome(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path)
	s.Sending([]string{"7", "8"})
	s.Outcome("8", 5, true, at)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := get(t, s, "7"); got.Status != Unknown {
		t.Errorf("7: %+v, want unknown", got)
	}
	if got, want := get(t, s, "8"), (Entry{Status: Applied, Content: 5, Applied: at}); got != want {
		t.Errorf("8: %+v, want %+v", got, want)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Tickets != 2 || st.Applied != 1 || st.Unknown != 1 || st.Open {
		t.Errorf("stats %+v", st)
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path)
	for _, ro := range []bool{false, true} {
		_, err := Open(path, Options{ReadOnly: ro})
		if !errors.Is(err, ErrLockedState) {
			t.Errorf("read-only %v: second open: %v, want ErrLockedState", ro, err)
		}
	}
	s.Close()
	r1, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("two readers: %v", err)
	}
	r2.Close()
}

func TestNotAState(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "in.csv")
	body := []byte("ticket_id,sub_status\n713516551148,CL\n")
	if err := os.WriteFile(csv, body, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		if _, err := Open(csv, Options{ReadOnly: ro}); !errors.Is(err, ErrNotState) {
			t.Errorf("read-only %v: %v, want ErrNotState", ro, err)
		}
	}
	if got, _ := os.ReadFile(csv); string(got) != string(body) {
		t.Errorf("the file was changed: %q", got)
	}
	if _, err := Open(filepath.Join(dir, "none.db"), Options{ReadOnly: true}); err == nil {
		t.Error("a missing state opened read-only")
	}
	if _, err := Open(dir, Options{}); err == nil {
		t.Error("a folder opened as a state")
	}
}

// TestPlan: a ticket is unchanged only when the state holds exactly its
// last row and applied it.
func TestPlan(t *testing.T) {
	key := func(ticket, content string) rowkey.Key { return rowkey.New(ticket, []byte(content)) }
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	for _, r := range []struct {
		ticket, content string
		ok              bool
	}{{"1", "a", true}, {"2", "b", true}, {"3", "c", false}, {"4", "d", true}, {"5", "e", true}} {
		s.Sending([]string{r.ticket})
		s.Outcome(r.ticket, key(r.ticket, r.content).Content, r.ok, at)
	}
	s.Sending([]string{"5"}) // in flight: unknown
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	p := NewPlanner()
	rows := []struct {
		ticket, content string
		send            bool
	}{
		{"1", "a", false},  // the state's row: unchanged
		{"2", "x", false},  // an earlier row of a ticket whose last row is the state's
		{"2", "b", false},  // its last row
		{"3", "c", true},   // its last attempt failed
		{"4", "d", true},   // an earlier row the state holds; its last differs
		{"4", "dd", true},  // changed
		{"5", "e", true},   // in flight: unknown
		{"6", "new", true}, // new
	}
	for _, r := range rows {
		p.Add(r.ticket, key(r.ticket, r.content))
	}
	pl, err := s.Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if got := pl.Decide(r.ticket, key(r.ticket, r.content)) == Send; got != r.send {
			t.Errorf("ticket %s row %s: send %v, want %v", r.ticket, r.content, got, r.send)
		}
	}
	if got := pl.Decide("9", key("9", "z")); got != Send {
		t.Error("a ticket the planner never saw is not sent")
	}
	if pl.Unchanged() != 2 || pl.Tickets() != 6 {
		t.Errorf("unchanged %d of %d, want 2 of 6", pl.Unchanged(), pl.Tickets())
	}
}

// TestPlanCollision: two tickets whose first hashes collide are both
// sent, though the state holds one's last row.
func TestPlanCollision(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	a := rowkey.New("1", []byte("a"))
	s.Sending([]string{"1"})
	s.Outcome("1", a.Content, true, at)
	s.Commit()
	b := rowkey.New("2", []byte("b"))
	b.Ticket = a.Ticket // forced collision
	p := NewPlanner()
	p.Add("2", b)
	p.Add("1", a)
	pl, err := s.Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Decide("1", a) != Send || pl.Decide("2", b) != Send {
		t.Errorf("1: %v, 2: %v; want both sent", pl.Decide("1", a), pl.Decide("2", b))
	}
}

// TestCompact: tickets written in many small commits, in an order that
// leaves pages half empty, are packed when the state is closed, and none
// is lost.
func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path)
	const n, workers = 60000, 8
	id := func(i int) string { return fmt.Sprintf("7%011d", i) }
	for base := 0; base < n; base += workers * 50 {
		for w := range workers { // workers' payloads interleave, as in a first night
			var batch []string
			for i := base + w; i < min(base+workers*50, n); i += workers {
				batch = append(batch, id(i))
			}
			s.Sending(batch)
			for _, tk := range batch {
				s.Outcome(tk, uint64(len(tk)), true, at)
			}
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	after := fileSize(t, path)
	t.Logf("state of %d tickets: %d bytes, %d after closing", n, before, after)
	if after >= before*3/4 {
		t.Errorf("not compacted: %d bytes, then %d", before, after)
	}
	s = open(t, path)
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Tickets != n || st.Applied != n {
		t.Errorf("after compaction: %+v, want %d applied tickets", st, n)
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy was left behind: %v", err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestPlanInputChanged: the main read is given rows the plan did not see
// (the file rewritten in place between the reads): such a row is sent,
// with the rest of its ticket; so is a row past the ticket's planned
// count, or a last one that is not the state's; and a ticket that ends
// early is counted by Unread.
func TestPlanInputChanged(t *testing.T) {
	key := func(ticket, content string) rowkey.Key { return rowkey.New(ticket, []byte(content)) }
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	held := map[string]string{"1": "a", "2": "b", "3": "c", "4": "d", "5": "e"}
	for tk, c := range held {
		s.Sending([]string{tk})
		s.Outcome(tk, key(tk, c).Content, true, at)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	p := NewPlanner()
	for _, r := range [][2]string{{"1", "x"}, {"1", "a"}, {"2", "b"}, {"3", "y"}, {"3", "c"}, {"4", "d"}, {"5", "z"}, {"5", "e"}} {
		p.Add(r[0], key(r[0], r[1]))
	}
	pl, err := s.Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Unchanged() != 5 {
		t.Fatalf("%d unchanged, want all 5", pl.Unchanged())
	}
	for _, r := range []struct {
		ticket, content string
		send            bool
	}{
		{"1", "x", false}, {"1", "a", false}, // as planned
		{"2", "q", true},                    // a row the plan did not see
		{"3", "c", false}, {"3", "y", true}, // reordered: its last row is not the state's
		{"3", "c", true},                     // after a row sent
		{"4", "d", false}, {"4", "d2", true}, // a row past the planned count
		{"5", "z", false}, // and no more rows of 5
	} {
		if got := pl.Decide(r.ticket, key(r.ticket, r.content)) == Send; got != r.send {
			t.Errorf("ticket %s row %s: send %v, want %v", r.ticket, r.content, got, r.send)
		}
	}
	if got := pl.Unread(); got != 1 {
		t.Errorf("unread %d, want 1 (ticket 5)", got)
	}
}

// TestPlanLimit: a run with a limit is judged against the whole export. A
// ticket with a row past the limit is not moved: its rows within it are
// unchanged when the state holds its last row (past the limit), held back
// otherwise; a full run holds them back whatever the state holds. The
// other tickets are decided as without a limit.
func TestPlanLimit(t *testing.T) {
	key := func(ticket, content string) rowkey.Key { return rowkey.New(ticket, []byte(content)) }
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	for tk, c := range map[string]string{"1": "a2", "2": "b1", "3": "c1"} {
		s.Sending([]string{tk})
		s.Outcome(tk, key(tk, c).Content, true, at)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	within := [][2]string{{"1", "a1"}, {"2", "b1"}, {"3", "c1"}, {"4", "d1"}, {"5", "e1"}}
	past := [][2]string{{"1", "a2"}, {"3", "c2"}, {"5", "e2"}, {"6", "f1"}}
	planner := func() *Planner {
		p := NewPlanner()
		for _, r := range within {
			p.Add(r[0], key(r[0], r[1]))
		}
		for _, r := range past {
			p.AddPast(r[0], key(r[0], r[1]))
		}
		return p
	}
	synced, err := s.Plan(planner())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		plan *Plan
		want []Decision // of within's rows, in order
	}{
		{"sync", synced, []Decision{Unchanged, Unchanged, HoldBack, Send, HoldBack}},
		{"full", planner().Plan(), []Decision{HoldBack, Send, HoldBack, Send, HoldBack}},
	} {
		for i, r := range within {
			if got := tt.plan.Decide(r[0], key(r[0], r[1])); got != tt.want[i] {
				t.Errorf("%s: ticket %s row %s: %v, want %v", tt.name, r[0], r[1], got, tt.want[i])
			}
		}
		if n := tt.plan.Unread(); n != 0 {
			t.Errorf("%s: %d tickets unread, want none: the main read stops at the limit", tt.name, n)
		}
	}
	if synced.Tickets() != len(within) {
		t.Errorf("%d tickets planned, want %d: a ticket only past the limit is not kept", synced.Tickets(), len(within))
	}
}

// TestAPI: a state belongs to the API of its first run; a run for
// another is refused, changing nothing; a state of the format before
// (no API, no digest) is adopted by its next run. A look ignores the API.
func TestAPI(t *testing.T) {
	const other = "https://other.kapturecrm.com"
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(path, Options{API: testAPI})
	if err != nil {
		t.Fatal(err)
	}
	if s.API != testAPI || s.Adopted {
		t.Errorf("new state: API %q, adopted %v", s.API, s.Adopted)
	}
	s.Sending([]string{"7"})
	kill(t, s) // leaves 7 in flight
	before, _ := os.ReadFile(path)
	_, err = Open(path, Options{API: other})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.State != testAPI || apiErr.Run != other || apiErr.Path != path {
		t.Fatalf("another API: %v, want an *APIError naming both", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("the refused run changed the state")
	}
	r, err := Open(path, Options{ReadOnly: true, API: other})
	if err != nil || r.API != testAPI {
		t.Fatalf("a look: %v, API %q", err, r.API)
	}
	r.Close()
	s = open(t, path)
	if s.Recovered != 1 {
		t.Errorf("recovered %d, want 1", s.Recovered)
	}
	s.Close()
}

// TestAdoptFormatV1: a state of the format before is read, adopted by its
// next run (which records its API and digest), and verified from then on.
func TestAdoptFormatV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	put := func(e Entry) error {
		return db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTickets).Put([]byte("7"), encode(nil, e))
		})
	}
	err = db.Update(func(tx *bolt.Tx) error {
		m, _ := tx.CreateBucket(bucketMeta)
		tx.CreateBucket(bucketTickets)
		tx.CreateBucket(bucketInflight)
		return m.Put(metaFormat, []byte(formatV1))
	})
	if err == nil {
		err = put(Entry{Status: Applied, Content: 1, Applied: at})
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{API: testAPI})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Adopted || s.API != testAPI {
		t.Errorf("adopted %v, API %q", s.Adopted, s.API)
	}
	if e := get(t, s, "7"); !e.Unchanged(1) {
		t.Errorf("7: %+v, want applied 1", e)
	}
	s.Close()
	if _, err := Open(path, Options{API: "https://other.kapturecrm.com"}); !errors.As(err, new(*APIError)) {
		t.Errorf("another API after adoption: %v", err)
	}
	// Changed behind its back, it is refused now.
	if db, err = bolt.Open(path, 0o644, nil); err != nil {
		t.Fatal(err)
	}
	err = put(Entry{Status: Applied, Content: 2, Applied: at})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{API: testAPI}); !errors.Is(err, ErrDamaged) {
		t.Errorf("changed after adoption: %v, want ErrDamaged", err)
	}
}
