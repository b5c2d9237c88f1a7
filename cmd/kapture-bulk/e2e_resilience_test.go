package main

// End-to-end tests of resilience, in process: faults,
// throttling, splitting, and resuming after a crash (a torn results line,
// a ticket's later row). Stopped runs are in e2e_interrupt_test.go.

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// faultyRows is n valid rows; tickets repeat far apart (every n/3 rows)
// and every 100th row repeats the ticket of the row before it (a worker
// flushes its payload early for those).
func faultyRows(n int) []row {
	rows := validRows(n)
	for i := 99; i < n; i += 100 {
		rows[i].TicketID = rows[i-1].TicketID
	}
	return rows
}

// TestRunThroughFaults: with about 5% of requests each answered by an
// HTML 500, a 429 with Retry-After, a connection dropped before or after
// applying, a 200 with a non-JSON body, and a stall past --timeout, a run
// of thousands of rows ends with every row success, each ticket in the
// state of its last row, and no order violation. Under -short a quarter of
// the rows: each 429 holds the run a second, and one of each kind comes
// first anyway.
func TestRunThroughFaults(t *testing.T) {
	for _, tt := range []struct {
		form  kapturetest.Reply
		mode  string // --object-replies
		rows  int
		fault float64 // share of requests getting each kind of fault
	}{
		{kapturetest.ReplyArray, "auto", 2000, .05},
		{kapturetest.ReplyObject, "whole", 2000, .05},
		// One item per payload once the run sees a last-item object:
		// fewer rows and faults, as each row costs a request and each
		// 429 a second.
		{kapturetest.ReplyLast, "auto", 200, .015},
	} {
		form := tt.form
		t.Run(form.String(), func(t *testing.T) {
			t.Parallel()
			// One of each kind first, so every kind is surely served;
			// then 5% of each at random.
			script := kapturetest.Script(
				&kapturetest.Fault{Kind: kapturetest.FaultErrorPage},
				&kapturetest.Fault{Kind: kapturetest.FaultTooMany},
				&kapturetest.Fault{Kind: kapturetest.FaultDropBefore},
				&kapturetest.Fault{Kind: kapturetest.FaultDropAfter},
				&kapturetest.Fault{Kind: kapturetest.FaultNotJSON},
				&kapturetest.Fault{Kind: kapturetest.FaultStall},
			)
			s := newFake(t, kapturetest.Options{
				Reply:  form,
				Fail:   script,
				Faults: kapturetest.Spread(6 * tt.fault),
				Seed:   uint64(form) + 7,
			})
			dir := t.TempDir()
			n := tt.rows
			if testing.Short() {
				n /= 4
			}
			rows := faultyRows(n)
			in := writeInput(t, dir, "in.csv", rows)
			summary := filepath.Join(dir, "summary.json")
			start := time.Now()
			p := runCmd(t, runOpts{tune: quickRetries}, "run", "--base-url", s.URL, "--rate", "0", "--workers", "4", "--batch-size", "50",
				"--timeout", "300ms", "--max-retries", "12", "--object-replies", tt.mode, "--summary-json", summary, in)
			wantCode(t, p, 0)
			checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
			checkFinalState(t, s, rows)
			st := s.Stats()
			for _, k := range []kapturetest.FaultKind{kapturetest.FaultErrorPage, kapturetest.FaultTooMany, kapturetest.FaultDropBefore,
				kapturetest.FaultDropAfter, kapturetest.FaultNotJSON, kapturetest.FaultStall} {
				if st.Faults[k] == 0 {
					t.Errorf("no %s fault was served", k)
				}
			}
			sum := readSummary(t, summary)
			if sum.Retries == 0 {
				t.Errorf("summary reports no retries: %+v", sum)
			}
			t.Logf("%d rows in %v: %d requests, %d retries; faults served %v", len(rows), time.Since(start).Round(time.Millisecond),
				st.Requests, sum.Retries, st.Faults)
		})
	}
}

// TestRunUnderServerRateLimit: a server that serves R requests/s and a
// client set to 3R: everything lands and few requests are refused.
func TestRunUnderServerRateLimit(t *testing.T) {
	skipShort(t, "a rate test in real time (batch tests the pacer's adaptation)")
	t.Parallel()
	const serverRate = 10
	s := newFake(t, kapturetest.Options{RateLimit: serverRate})
	dir := t.TempDir()
	rows := validRows(150)
	in := writeInput(t, dir, "in.csv", rows)
	summary := filepath.Join(dir, "summary.json")
	p := runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--rate", fmt.Sprint(3*serverRate), "--workers", "4",
		"--batch-size", "5", "--max-retries", "10", "--summary-json", summary, in)
	wantCode(t, p, 0)
	checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
	checkFinalState(t, s, rows)
	st := s.Stats()
	sum := readSummary(t, summary)
	t.Logf("server at %d/s, client at %d/s: %d requests, %d refused (429), final rate %.2f/s, %.1fs",
		serverRate, 3*serverRate, st.Requests, st.RateLimited, sum.FinalRate, sum.Elapsed)
	if st.RateLimited > 15 {
		t.Errorf("%d requests refused with 429, want at most 15 (a handful per adaptation)", st.RateLimited)
	}
	if sum.FinalRate >= 3*serverRate {
		t.Errorf("final rate %.2f, want it lowered below %d", sum.FinalRate, 3*serverRate)
	}
}

// TestWholePayloadFailures: when a payload fails as a whole (one failed
// object, or every item of an array failed because the API is atomic),
// with HTTP 400 or 200, only the guilty rows end failed, whether the API
// applied the good rows (non-atomic) or not (atomic).
func TestWholePayloadFailures(t *testing.T) {
	tests := []struct {
		form       kapturetest.Reply
		atomic     bool
		failStatus int
	}{
		{kapturetest.ReplyObject, true, 400},
		{kapturetest.ReplyObject, true, 200},
		{kapturetest.ReplyObject, false, 400},
		{kapturetest.ReplyObject, false, 200},
		{kapturetest.ReplyArray, true, 400},
		{kapturetest.ReplyArray, true, 200},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/atomic=%v/%d", tt.form, tt.atomic, tt.failStatus), func(t *testing.T) {
			t.Parallel()
			s := newFake(t, kapturetest.Options{Reply: tt.form, Atomic: tt.atomic, FailStatus: tt.failStatus})
			var rows []row
			for i := 0; i < 60; i++ { // 40 tickets, then 20 of them again
				r := row{TicketID: ticket(i % 40), SubStatus: "CL", Comment: fmt.Sprintf("row %d", i), want: wantSuccess}
				if i == 13 || i == 31 || i == 47 {
					r.TicketID = fmt.Sprintf("9999999999%02d", i)
					r.want = wantFailed
				}
				rows = append(rows, r)
			}
			dir := t.TempDir()
			in := writeInput(t, dir, "in.csv", rows)
			p := runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "0", "--workers", "1", "--batch-size", "40", in)
			wantCode(t, p, 1)
			fin := checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
			for _, r := range rows {
				if r.want == wantFailed {
					if want := kapturetest.MsgUnknownTicket + r.TicketID; fin[r.line].Message != want {
						t.Errorf("line %d: message %q, want %q", r.line, fin[r.line].Message, want)
					}
					if _, ok := s.State(r.TicketID); ok {
						t.Errorf("unknown ticket %s has a state", r.TicketID)
					}
				}
			}
			checkFinalState(t, s, rows)
		})
	}
}

// TestResumeRepairsTornLine: a results file whose last line was torn by a
// crash is repaired on --resume and the run completes.
func TestResumeRepairsTornLine(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := newFake(t, kapturetest.Options{Fail: rec.fail})
	dir := t.TempDir()
	rows := validRows(30)
	in := writeInput(t, dir, "in.csv", rows)
	results := filepath.Join(dir, "in.results.csv")
	args := []string{"run", "--base-url", s.URL, "--rate", "0", "--batch-size", "4"}
	wantCode(t, runCmd(t, runOpts{}, append(args, "--limit", "10", in)...), 0)
	done := latest(readResults(t, results))
	if len(done) != 10 {
		t.Fatalf("%d results after --limit 10, want 10", len(done))
	}
	f, err := os.OpenFile(results, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Half of a row, as a crash mid-write leaves it.
	if _, err := fmt.Fprintf(f, "%s,success,Status and Comment have been upd", rows[12].TicketID); err != nil {
		t.Fatal(err)
	}
	f.Close()

	rec.mark()
	p := runCmd(t, runOpts{}, append(args, "--resume", in)...)
	wantCode(t, p, 0)
	checkEveryLine(t, rows, readResults(t, results)) // parses strictly: a glued line fails here
	if got, want := len(rec.items()), len(rows)-10; got != want {
		t.Errorf("resume sent %d rows, want the %d not done", got, want)
	}
	checkFinalState(t, s, rows)
}

// TestResumeKeepsLaterRowOfTicket: a ticket whose earlier row failed and
// later row succeeded must, after --resume sends the earlier row again,
// still end in the state of its later row (the file's last row for it).
func TestResumeKeepsLaterRowOfTicket(t *testing.T) {
	t.Parallel()
	// The ticket is unknown the first time it is asked about: its first
	// row fails, its second succeeds.
	var mu sync.Mutex
	asked := map[string]bool{}
	s := newFake(t, kapturetest.Options{Known: func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		first := !asked[id]
		asked[id] = true
		return !first || id != ticket(0)
	}})
	rows := []row{
		{TicketID: ticket(0), SubStatus: "PS", Comment: "first", want: wantSuccess},
		{TicketID: ticket(1), SubStatus: "P", Comment: "other", want: wantSuccess},
		{TicketID: ticket(0), SubStatus: "CL", Comment: "last", want: wantSuccess},
	}
	dir := t.TempDir()
	in := writeInput(t, dir, "in.csv", rows)
	args := []string{"run", "--base-url", s.URL, "--rate", "0", "--batch-size", "1", "--workers", "1", in}
	p := runCmd(t, runOpts{}, args...)
	wantCode(t, p, 1)
	if st, _ := s.State(ticket(0)); st["comment"] != "last" {
		t.Fatalf("after the first run ticket state %v, want its last row", st)
	}
	p = runCmd(t, runOpts{}, append([]string{"run", "--resume"}, args[1:]...)...)
	wantCode(t, p, 0)
	checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
	checkFinalState(t, s, rows)
}
