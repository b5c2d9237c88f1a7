package batch_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
)

// cut feeds the tickets, in order, through a Chunker of size and returns
// the payloads it makes, each as its tickets joined by ",".
func cut(size int, tickets ...string) []string {
	c := batch.NewChunker(size)
	var out []string
	flush := func() {
		var ids []string
		for _, r := range c.Rows() {
			ids = append(ids, r.TicketID)
		}
		out = append(out, strings.Join(ids, ","))
		c.Reset()
	}
	for i, id := range tickets {
		r := batch.Row{Line: i + 2, TicketID: id}
		if !c.Add(r) {
			flush()
			if !c.Add(r) {
				panic("the first row of a payload did not fit")
			}
		}
	}
	if len(c.Rows()) > 0 {
		flush()
	}
	return out
}

func TestChunkerCutsAtSizeAndBeforeARepeatedTicket(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		tickets []string
		want    []string
	}{
		{"at the size", 2, []string{"a", "b", "c", "d", "e"}, []string{"a,b", "c,d", "e"}},
		{"before a ticket it holds", 5, []string{"a", "b", "a", "c"}, []string{"a,b", "a,c"}},
		{"a ticket of an earlier payload is welcome", 2, []string{"a", "b", "a", "c"}, []string{"a,b", "a,c"}},
		{"adjacent rows of one ticket", 3, []string{"a", "a", "a"}, []string{"a", "a", "a"}},
		{"size 1", 1, []string{"a", "b"}, []string{"a", "b"}},
		{"a size below 1 is 1", 0, []string{"a", "b"}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := cut(tt.size, tt.tickets...), tt.want
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("payloads %q, want %q", got, want)
			}
		})
	}
}

func TestChunkerResize(t *testing.T) {
	c := batch.NewChunker(3)
	for _, id := range []string{"a", "b"} {
		if !c.Add(batch.Row{TicketID: id}) {
			t.Fatalf("Add(%s) to a payload of 3 refused", id)
		}
	}
	c.Resize(1)
	if !c.Full() || c.Add(batch.Row{TicketID: "c"}) {
		t.Errorf("after Resize(1), a payload of 2 rows is not full")
	}
	if got := len(c.Rows()); got != 2 {
		t.Errorf("Resize dropped rows: %d left, want 2", got)
	}
	c.Reset()
	if !c.Add(batch.Row{TicketID: "a"}) || c.Add(batch.Row{TicketID: "b"}) {
		t.Error("after Reset, the new size 1 does not hold")
	}
}
