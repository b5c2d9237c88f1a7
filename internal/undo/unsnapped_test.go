package undo

import (
	"slices"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestUnsnappedListed: the changed tickets a snapshot lacks are listed in
// input order, by line, and the first few by id (before: lines in map
// order, "input lines 4, 3", and no ticket named); a ticket in flight at
// a kill has no results row to name it by.
func TestUnsnappedListed(t *testing.T) {
	j := newJob(t, 30, false)
	j.backup(t, catalogue(), j.ids[0])
	outcomes := map[string]outcome{}
	for _, id := range j.ids {
		outcomes[id] = succeeded
	}
	outcomes[j.ids[1]] = inFlight
	j.run(t, kapturetest.Holding{SubStatus: "CL"}, outcomes)
	res, _ := plan(t, Options{Snapshot: j.snap, Results: j.results, Book: catalogue()})
	if res.Unsnapped != 29 {
		t.Fatalf("unsnapped %d, want 29", res.Unsnapped)
	}
	var lines []int
	for l := 3; len(lines) < maxUnsnappedLines; l++ {
		lines = append(lines, l)
	}
	if !slices.Equal(res.UnsnappedLines, lines) {
		t.Errorf("lines %v, want %v", res.UnsnappedLines, lines)
	}
	want := []string{"?", j.ids[2], j.ids[3], j.ids[4], j.ids[5]}
	if !slices.Equal(res.UnsnappedTickets, want) {
		t.Errorf("tickets %q, want %q", res.UnsnappedTickets, want)
	}
}
