package resume

import (
	"fmt"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/internal/rowkey"
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

func TestPlan(t *testing.T) {
	type in struct{ t, c string }
	tests := []struct {
		name  string
		recs  []rec
		input []in
		want  string // one letter per row: s send, a send again, k skip, h hold; then F and the rows Flush returns
	}{
		{"nothing recorded", nil, []in{{"1", "A"}, {"1", "B"}}, "ss F"},
		{"a sync run's unchanged rows are done", []rec{{"1", "A", same}, {"1", "B", same}, {"2", "C", same}}, []in{{"1", "A"}, {"1", "B"}, {"2", "C"}}, "hkk F"},
		{"unchanged, then a row failed", []rec{{"1", "A", same}, {"2", "C", fail}}, []in{{"1", "A"}, {"2", "C"}}, "ks F"},
		{"all done in order", []rec{{"1", "A", ok}, {"1", "B", ok}, {"2", "C", ok}}, []in{{"1", "A"}, {"1", "B"}, {"2", "C"}}, "hkk F"},
		{"failed first row forces the later one", []rec{{"1", "A", fail}, {"1", "B", ok}}, []in{{"1", "A"}, {"1", "B"}}, "sa F"},
		{"retried first row after the later one", []rec{{"1", "A", fail}, {"1", "B", ok}, {"1", "A", ok}}, []in{{"1", "A"}, {"1", "B"}}, "ka F"},
		{"edited first row", []rec{{"1", "A", ok}, {"1", "B", ok}}, []in{{"1", "A2"}, {"1", "B"}}, "sa F"},
		{"edited last row", []rec{{"1", "A", ok}, {"1", "B", ok}}, []in{{"1", "A"}, {"1", "B2"}}, "hs F"},
		{"deleted middle row: nothing after it", []rec{{"1", "A", ok}, {"1", "X", ok}, {"1", "B", ok}}, []in{{"1", "A"}, {"1", "B"}}, "hk F"},
		{"deleted row applied after the last", []rec{{"1", "A", ok}, {"1", "B", ok}, {"1", "X", ok}}, []in{{"1", "A"}, {"1", "B"}}, "hh FB"},
		{"deleted row failed after the last", []rec{{"1", "B", ok}, {"1", "X", fail}}, []in{{"1", "B"}}, "h FB"},
		{"other tickets unaffected", []rec{{"1", "A", ok}, {"2", "X", ok}, {"2", "C", ok}}, []in{{"1", "A"}, {"2", "C"}}, "kk F"},
		{"row moved before an earlier one", []rec{{"1", "A", ok}, {"1", "B", ok}}, []in{{"1", "B"}, {"1", "A"}}, "ka F"},
		{"inserted first row", []rec{{"1", "A", ok}}, []in{{"1", "N"}, {"1", "A"}}, "sa F"},
		{"new ticket", []rec{{"1", "A", ok}}, []in{{"1", "A"}, {"2", "N"}}, "ks F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlan[string](build(t, tt.recs), 0)
			got := ""
			for _, r := range tt.input {
				d, _ := p.Decide(key(r.t, r.c, 0), 0, r.c)
				got += string("saskh"[map[Decision]int{Send: 0, SendAgain: 1, Skip: 3, Hold: 4}[d]])
			}
			got += " F"
			for _, c := range p.Flush() {
				got += c
			}
			if got != tt.want {
				t.Errorf("decisions %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlanReleasesHeldRows(t *testing.T) {
	st := build(t, []rec{{"1", "A", ok}, {"1", "B", ok}})
	p := NewPlan[string](st, 0)
	if d, rel := p.Decide(key("1", "A", 0), 0, "A"); d != Hold || rel != 0 {
		t.Fatalf("A: %v %d, want Hold 0", d, rel)
	}
	if d, rel := p.Decide(key("1", "B", 0), 0, "B"); d != Skip || rel != 1 {
		t.Fatalf("B: %v %d, want Skip 1", d, rel)
	}
	if got := p.Flush(); len(got) != 0 {
		t.Errorf("Flush = %v, want nothing", got)
	}
}

func TestPlanHoldsAtMostMaxHeld(t *testing.T) {
	var recs []rec
	for i := range 3 {
		tk := fmt.Sprint(i)
		recs = append(recs, rec{tk, "A", ok})
	}
	for i := range 3 { // recorded after each ticket's A: A is held
		recs = append(recs, rec{fmt.Sprint(i), "X", ok})
	}
	p := NewPlan[int](build(t, recs), 2)
	var got []Decision
	for i := range 3 {
		d, _ := p.Decide(key(fmt.Sprint(i), "A", 0), 0, i)
		got = append(got, d)
	}
	if want := []Decision{Hold, Hold, SendAgain}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("decisions %v, want %v", got, want)
	}
	if n := len(p.Flush()); n != 2 {
		t.Errorf("Flush returned %d rows, want 2", n)
	}
}

func TestPlanDamagedLine(t *testing.T) {
	b := NewBuilder(nil)
	b.Add(writer.Row{Status: ok, Key: key("1", "A", 0), KeyOK: true, Line: 2, TicketID: "1"})
	b.Add(writer.Row{Status: ok, Line: 3, Damaged: `fingerprint "5.46614E+15"`})
	p := NewPlan[int](b.Build(), 0)
	if d, _ := p.Decide(key("1", "A", 0), 3, 0); d != Send {
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
	p := NewPlan[string](b.Build(), 0)
	var got []Decision
	for _, c := range []string{"A", "B"} {
		d, _ := p.Decide(key("1", c, 0), 0, c)
		got = append(got, d)
	}
	if want := []Decision{Hold, Hold}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("decisions %v, want %v", got, want)
	}
	if flushed := p.Flush(); len(flushed) != 1 || flushed[0] != "B" {
		t.Errorf("Flush = %v, want the ticket's last row B sent again", flushed)
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
		p := NewPlan[int](b.Build(), 0)
		if d, _ := p.Decide(k, 2, 0); d != tt.want {
			t.Errorf("legacy row with ticket cell %q: %v, want %v", tt.cell, d, tt.want)
		}
	}
}
