package resume

import (
	"fmt"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// key returns the key of a row of ticket t sending content c (a short
// name such as "A"), occurrence occ.
func key(t, c string, occ uint32) rowkey.Key {
	k := rowkey.New(t, []byte(t+"/"+c))
	k.Occurrence = occ
	return k
}

// rec is one results row of a scenario: ticket, content, status.
type rec struct {
	t, c   string
	status writer.Status
}

func build(t *testing.T, recs []rec) *State {
	t.Helper()
	b := NewBuilder(nil)
	for i, r := range recs {
		if err := b.Add(writer.Row{Status: r.status, Key: key(r.t, r.c, 0), KeyOK: true, Line: i + 2, TicketID: r.t}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Build()
}

const (
	ok   = writer.StatusSuccess
	fail = writer.StatusFailed
	same = writer.StatusUnchanged
)

// plan indexes the whole input (rows from limit on, when limit > 0, lie
// beyond it) and returns the Plan.
func plan(st *State, input []rowkey.Key, limit int) *Plan {
	ix := NewIndex(st)
	for i, k := range input {
		ix.Add(k, limit > 0 && i >= limit)
	}
	return ix.Plan()
}

// letter spells a decision as the tables below do.
func letter(d Decision) string {
	return map[Decision]string{Send: "s", SendAgain: "a", Skip: "k", HoldBack: "h"}[d]
}

func TestPlan(t *testing.T) {
	type in struct{ t, c string }
	tests := []struct {
		name  string
		recs  []rec
		input []in
		limit int    // 0: the whole input
		want  string // one letter per row taken: s send, a send again, k skip, h hold back
	}{
		{"nothing recorded", nil, []in{{"1", "A"}, {"1", "B"}}, 0, "ss"},
		{"a sync run's unchanged rows are done", []rec{{"1", "A", same}, {"1", "B", same}, {"2", "C", same}}, []in{{"1", "A"}, {"1", "B"}, {"2", "C"}}, 0, "kkk"},
		{"unchanged, then a row failed", []rec{{"1", "A", same}, {"2", "C", fail}}, []in{{"1", "A"}, {"2", "C"}}, 0, "ks"},
		{"all done in order", []rec{{"1", "A", ok}, {"1", "B", ok}, {"2", "C", ok}}, []in{{"1", "A"}, {"1", "B"}, {"2", "C"}}, 0, "kkk"},
		{"failed first row forces the later one", []rec{{"1", "A", fail}, {"1", "B", ok}}, []in{{"1", "A"}, {"1", "B"}}, 0, "sa"},
		{"retried first row after the later one", []rec{{"1", "A", fail}, {"1", "B", ok}, {"1", "A", ok}}, []in{{"1", "A"}, {"1", "B"}}, 0, "ka"},
		{"edited first row", []rec{{"1", "A", ok}, {"1", "B", ok}}, []in{{"1", "A2"}, {"1", "B"}}, 0, "sa"},
		{"edited last row", []rec{{"1", "A", ok}, {"1", "B", ok}}, []in{{"1", "A"}, {"1", "B2"}}, 0, "ks"},
		{"deleted middle row: nothing after it", []rec{{"1", "A", ok}, {"1", "X", ok}, {"1", "B", ok}}, []in{{"1", "A"}, {"1", "B"}}, 0, "kk"},
		{"deleted row applied after the last", []rec{{"1", "A", ok}, {"1", "B", ok}, {"1", "X", ok}}, []in{{"1", "A"}, {"1", "B"}}, 0, "ka"},
		{"deleted row failed after the last", []rec{{"1", "B", ok}, {"1", "X", fail}}, []in{{"1", "B"}}, 0, "a"},
		{"other tickets unaffected", []rec{{"1", "A", ok}, {"2", "X", ok}, {"2", "C", ok}}, []in{{"1", "A"}, {"2", "C"}}, 0, "kk"},
		{"row moved before an earlier one", []rec{{"1", "A", ok}, {"1", "B", ok}}, []in{{"1", "B"}, {"1", "A"}}, 0, "ka"},
		{"inserted first row", []rec{{"1", "A", ok}}, []in{{"1", "N"}, {"1", "A"}}, 0, "sa"},
		{"new ticket", []rec{{"1", "A", ok}}, []in{{"1", "A"}, {"2", "N"}}, 0, "ks"},
		// A canary (--limit) after a finished run: a row that is not its
		// ticket's last in the whole input is not sent again.
		{"limit: a later row beyond the limit was applied", []rec{{"1", "A", ok}, {"2", "B", ok}, {"1", "C", ok}}, []in{{"1", "A"}, {"2", "B"}, {"1", "C"}}, 1, "k"},
		{"limit: the row failed, a later row beyond was applied", []rec{{"1", "A", fail}, {"1", "C", ok}}, []in{{"1", "A"}, {"1", "C"}}, 1, "h"},
		{"limit: held back, and the ticket's next row too", []rec{{"1", "A", fail}, {"1", "B", ok}, {"1", "C", ok}}, []in{{"1", "A"}, {"1", "B"}, {"1", "C"}}, 2, "hk"},
		{"limit: nothing beyond the limit recorded", []rec{{"1", "A", fail}}, []in{{"1", "A"}, {"1", "C"}}, 1, "s"},
		{"limit: out of order within, applied beyond", []rec{{"1", "B", ok}, {"1", "A", ok}, {"1", "C", ok}}, []in{{"1", "A"}, {"1", "B"}, {"1", "C"}}, 2, "kh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var keys []rowkey.Key
			for _, r := range tt.input {
				keys = append(keys, key(r.t, r.c, 0))
			}
			p := plan(build(t, tt.recs), keys, tt.limit)
			if tt.limit > 0 {
				keys = keys[:tt.limit]
			}
			got := ""
			for _, k := range keys {
				got += letter(p.Decide(k, 0))
			}
			if got != tt.want {
				t.Errorf("decisions %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPlanHoldsNothing: a finished run whose tickets' rows lie far apart
// (more tickets open at once than any table of a fixed size: the old
// tables held 65,536) resumes without sending a row.
func TestPlanHoldsNothing(t *testing.T) {
	const tickets = 70_000
	var recs []rec
	var input []rowkey.Key
	for round := range 2 {
		for i := range tickets {
			tk, c := fmt.Sprint(713500000000+i), fmt.Sprint("R", round)
			recs = append(recs, rec{tk, c, ok})
			input = append(input, key(tk, c, 0))
		}
	}
	p := plan(build(t, recs), input, 0)
	for i, k := range input {
		if d := p.Decide(k, 0); d != Skip {
			t.Fatalf("row %d of a finished run: %s, want skip", i, letter(d))
		}
	}
}

func TestPlanDamagedLine(t *testing.T) {
	b := NewBuilder(nil)
	b.Add(writer.Row{Status: ok, Key: key("1", "A", 0), KeyOK: true, Line: 2, TicketID: "1"})
	b.Add(writer.Row{Status: ok, Line: 3, Damaged: `fingerprint "5.46614E+15"`})
	k := key("1", "A", 0)
	if d := plan(b.Build(), []rowkey.Key{k}, 0).Decide(k, 3); d != Send {
		t.Errorf("row on a line whose result is unreadable: %v, want Send", d)
	}
}

// TestPlanDamagedResultOfATicket: a damaged results row whose ticket can
// still be read counts as something recorded for that ticket, which no
// row of the input matches: the ticket's last row is sent again. (A canary
// resume re-sent A after B; that newest result of A is the damaged one.)
func TestPlanDamagedResultOfATicket(t *testing.T) {
	b := NewBuilder(nil)
	b.Add(writer.Row{Status: ok, Key: key("1", "A", 0), KeyOK: true, Line: 2, TicketID: "1"})
	b.Add(writer.Row{Status: ok, Key: key("1", "B", 0), KeyOK: true, Line: 3, TicketID: "1"})
	b.Add(writer.Row{Status: ok, Line: 9, TicketID: "1", Damaged: `fingerprint "K-edited"`})
	input := []rowkey.Key{key("1", "A", 0), key("1", "B", 0)}
	p := plan(b.Build(), input, 0)
	got := ""
	for _, k := range input {
		got += letter(p.Decide(k, 0))
	}
	if got != "ka" {
		t.Errorf("decisions %q, want the ticket's last row B sent again", got)
	}
}

func TestBelongsTo(t *testing.T) {
	st := build(t, []rec{{"1", "A", ok}, {"2", "B", fail}})
	for _, tt := range []struct {
		k    rowkey.Key
		want bool
	}{
		{key("1", "A", 0), true},
		{key("2", "B", 0), false}, // a failure counts only where nothing succeeded
		{key("1", "A", 1), false},
		{key("3", "C", 0), false},
	} {
		if got := st.BelongsTo(tt.k); got != tt.want {
			t.Errorf("BelongsTo(%v) = %v, want %v", tt.k, got, tt.want)
		}
	}
	allFailed := build(t, []rec{{"2", "B", fail}})
	if !allFailed.BelongsTo(key("2", "B", 0)) {
		t.Error("a file where every row failed: a failed row's key does not make it belong")
	}
}

func TestLegacyKeysUseTheTicketCell(t *testing.T) {
	k := key("713516551148", "A", 0)
	legacy := rowkey.Key{Content: k.Content}
	for _, tt := range []struct {
		cell string
		want Decision
	}{
		{"713516551148", Skip},
		{"7.13517E+11", Send}, // mangled: not known done
	} {
		b := NewBuilder(nil)
		b.Add(writer.Row{Status: ok, Key: legacy, KeyOK: true, Line: 2, TicketID: tt.cell})
		p := plan(b.Build(), []rowkey.Key{k}, 0)
		if d := p.Decide(k, 2); d != tt.want {
			t.Errorf("legacy row with ticket cell %q: %v, want %v", tt.cell, d, tt.want)
		}
	}
}
