package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// unknownMixed is mixedRows with an unknown ticket every seventh row, so
// that unknown tickets stand inside payloads, not only at their ends.
func unknownMixed() []row {
	var rows []row
	for i, r := range mixedRows() {
		rows = append(rows, r)
		if i%7 == 3 {
			rows = append(rows, row{TicketID: fmt.Sprintf("9999%08d", i), SubStatus: "CL",
				Comment: fmt.Sprintf("unknown %d", i), want: wantFailed})
		}
	}
	return rows
}

// TestLastItemObjectReplies: against an API that answers a payload with one
// object about its last item (applying or refusing the others without a
// word), every row's result is what the API did with that row, each
// ticket ends in its last row's state, and the summary names the reply
// form and the batch size the run switched to. With and without faults.
func TestLastItemObjectReplies(t *testing.T) {
	for _, faults := range []float64{0, .06} {
		t.Run(fmt.Sprintf("faults %.2f", faults), func(t *testing.T) {
			t.Parallel()
			s := newFake(t, kapturetest.Options{Reply: kapturetest.ReplyLast, Faults: kapturetest.Spread(faults), Seed: 3})
			dir := t.TempDir()
			rows := unknownMixed()
			in := writeInput(t, dir, "in.csv", rows)
			summary := filepath.Join(dir, "summary.json")
			p := runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "0", "--batch-size", "10",
				"--timeout", "300ms", "--max-retries", "12", "--summary-json", summary, in)
			wantCode(t, p, 1) // unknown tickets fail, invalid rows are invalid
			checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
			checkFinalState(t, s, rows)
			sum := readSummary(t, summary)
			if sum.ReplyForm != "object" || sum.BatchSize != 1 {
				t.Errorf("summary: reply_form %q, batch_size %d; want object, 1", sum.ReplyForm, sum.BatchSize)
			}
		})
	}
}

// TestObjectRepliesWhole: where a canary showed that one object covers the
// whole payload, --object-replies whole keeps payloads full.
func TestObjectRepliesWhole(t *testing.T) {
	s := newFake(t, kapturetest.Options{Reply: kapturetest.ReplyObject})
	dir := t.TempDir()
	rows := validRows(500)
	in := writeInput(t, dir, "in.csv", rows)
	summary := filepath.Join(dir, "summary.json")
	p := runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "0", "--workers", "1", "--batch-size", "50",
		"--object-replies", "whole", "--summary-json", summary, in)
	wantCode(t, p, 0)
	checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
	if st := s.Stats(); st.Requests > 12 {
		t.Errorf("%d requests for %d rows in payloads of 50: payloads were not kept full", st.Requests, len(rows))
	}
	if sum := readSummary(t, summary); sum.ReplyForm != "object" || sum.BatchSize != 50 {
		t.Errorf("summary: reply_form %q, batch_size %d; want object, 50", sum.ReplyForm, sum.BatchSize)
	}
}
