package batch_test

// Engine-level tests of when a reply whose every item failed is split:
// only when it says nothing about each item, never when each item's
// answer is its own.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// splitRecords is n rows of distinct tickets, 7000000000xx, each with the
// sub-status sub.
func splitRecords(n int, sub string) []reader.Record {
	recs := make([]reader.Record, n)
	for i := range recs {
		recs[i] = reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7000000000%02d", i), SubStatus: sub, Comment: fmt.Sprintf("row %d", i+2)}
	}
	return recs
}

func TestAllFailedArraySplitsOnlyWhenItSaysNothingPerItem(t *testing.T) {
	tests := []struct {
		name   string
		atomic bool
		sub    string
		bad    []int // rows of tickets the API does not know
		// sent twice: whether a row went on the wire more than once.
		sentTwice bool
	}{
		// Each item names its own ticket: each answer stands.
		{name: "all unknown", sub: "CL", bad: allRows(50)},
		// One identical message for every item says nothing per item.
		{name: "all the same message", sub: "", sentTwice: true},
		// An atomic API fails every item for one bad row, the others
		// saying only that they were not applied: split, and the good
		// rows are applied.
		{name: "atomic, one bad row", atomic: true, sub: "CL", bad: []int{20}, sentTwice: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := splitRecords(50, tt.sub)
			bad := map[int]bool{}
			for _, i := range tt.bad {
				recs[i].TicketID = fmt.Sprintf("9000000000%02d", i)
				bad[recs[i].Line] = true
			}
			s := kapturetest.NewServer(t, kapturetest.Options{Atomic: tt.atomic})
			cfg := config(s)
			cfg.BatchSize, cfg.Workers = 50, 1
			eng, c := runToEnd(t, cfg, recs)
			res := c.byLine()
			for _, r := range recs {
				got := res[r.Line]
				want, msg := batch.Success, kapturetest.MsgSuccess
				switch {
				case bad[r.Line]:
					want, msg = batch.Failed, kapturetest.MsgUnknownTicket+r.TicketID
				case tt.sub == "":
					want, msg = batch.Failed, kapturetest.MsgMissingSubStatus
				}
				if got.Status != want || got.Message != strings.TrimSpace(msg) {
					t.Errorf("line %d: %+v, want %v with %q", r.Line, got, want, msg)
				}
			}
			items, splits := s.Stats().Items, eng.Stats().Splits
			if (items > len(recs)) != tt.sentTwice || (splits > 0) != tt.sentTwice {
				t.Errorf("%d items on the wire for %d rows, %d splits; want rows sent twice: %v", items, len(recs), splits, tt.sentTwice)
			}
			checkFinalState(t, s, recs, res)
		})
	}
}

func allRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}
