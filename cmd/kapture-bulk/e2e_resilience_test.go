package main

// End-to-end tests of resilience: faults, throttling, splitting,
// interruption, crash-safe resume and locking, against the built binary.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
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
// state of its last row, and no order violation.
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
			rows := faultyRows(tt.rows)
			in := writeInput(t, dir, "in.csv", rows)
			summary := filepath.Join(dir, "summary.json")
			start := time.Now()
			p := runBin(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "0", "--workers", "4", "--batch-size", "50",
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
	t.Parallel()
	const serverRate = 10
	s := newFake(t, kapturetest.Options{RateLimit: serverRate})
	dir := t.TempDir()
	rows := validRows(150)
	in := writeInput(t, dir, "in.csv", rows)
	summary := filepath.Join(dir, "summary.json")
	p := runBin(t, runOpts{}, "run", "--base-url", s.URL, "--rate", fmt.Sprint(3*serverRate), "--workers", "4",
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

// TestInterruptThenResume: a run killed (SIGKILL) or interrupted (SIGINT,
// once or twice) mid-run, then resumed, ends in the same final state with
// every line accounted for; SIGINT exits 130.
func TestInterruptThenResume(t *testing.T) {
	const workers, batchSize = 2, 5
	tests := []struct {
		name    string
		signals []os.Signal
		code    int // -1: killed
		// stall: the first run's requests get no answer (until the client's
		// 30s timeout), so only a second signal can end it soon.
		stall bool
	}{
		{"SIGKILL", []os.Signal{syscall.SIGKILL}, -1, false},
		{"SIGINT", []os.Signal{os.Interrupt}, 130, false},
		{"SIGTERM", []os.Signal{syscall.SIGTERM}, 130, false},
		{"SIGINT twice", []os.Signal{os.Interrupt, os.Interrupt}, 130, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var firstRun atomic.Bool
			firstRun.Store(true)
			rec := &recorder{next: func(int, []kapturetest.Item) *kapturetest.Fault {
				if tt.stall && firstRun.Load() {
					return &kapturetest.Fault{Kind: kapturetest.FaultStall}
				}
				return nil
			}}
			s := newFake(t, kapturetest.Options{Latency: 40 * time.Millisecond, Fail: rec.fail})
			dir := t.TempDir()
			rows := faultyRows(600)
			in := writeInput(t, dir, "in.csv", rows)
			results := filepath.Join(dir, "in.results.csv")
			summary := filepath.Join(dir, "summary.json")
			args := []string{"run", "--base-url", s.URL, "--rate", "0", "--workers", fmt.Sprint(workers),
				"--batch-size", fmt.Sprint(batchSize), "--summary-json", summary, in}
			p := start(t, runOpts{}, args...)
			if len(tt.signals) == 1 {
				waitFor(t, "results rows", 30*time.Second, func() bool { return dataRows(results) >= 20 })
			} else {
				waitFor(t, "requests in flight", 30*time.Second, func() bool { return s.Stats().Requests >= workers })
			}
			var sentAt time.Time
			for i, sig := range tt.signals {
				if i > 0 {
					waitFor(t, "the first signal's message", 10*time.Second, func() bool {
						return strings.Contains(p.stderr.String(), "interrupted")
					})
				}
				sentAt = time.Now()
				if err := p.cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			code := p.wait(t)
			exitAfter := time.Since(sentAt)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstderr:\n%s", code, tt.code, p.stderr.String())
			}
			if len(tt.signals) == 2 && exitAfter > 2*time.Second {
				t.Errorf("exited %v after the second signal, want at once (requests in flight are held for 30s)", exitAfter)
			}
			first := latest(readResults(t, results))
			if len(first) >= len(rows) {
				t.Fatalf("the run finished (%d results) before the signal took effect", len(first))
			}
			if tt.code == 130 {
				if !strings.Contains(p.stderr.String(), "interrupted") {
					t.Errorf("stderr does not say the run was interrupted:\n%s", p.stderr.String())
				}
				if sum := readSummary(t, summary); sum.Outcome != "interrupted" || sum.NotSent == 0 {
					t.Errorf("summary %+v, want interrupted with rows not sent", sum)
				}
			}
			// Rows the server received whose result the run did not write.
			lineOf := map[string]int{}
			for _, r := range rows {
				lineOf[r.Comment] = r.line
			}
			lost := 0
			for c := range commentsOf(rec.items()) {
				if _, ok := first[lineOf[c]]; !ok {
					lost++
				}
			}
			t.Logf("%s after %d results: %d rows received but without a result", tt.name, len(first), lost)
			switch {
			case len(tt.signals) == 1 && tt.code == 130 && lost != 0:
				t.Errorf("%d rows reached the server without a result: in-flight payloads must finish and be written", lost)
			case lost > 2*workers*batchSize:
				t.Errorf("%d rows reached the server without a result, want at most those of the payloads in flight (%d)", lost, workers*batchSize)
			}

			firstRun.Store(false)
			rec.mark()
			p2 := runBin(t, runOpts{}, append([]string{"run", "--resume"}, args[1:]...)...)
			wantCode(t, p2, 0)
			res := readResults(t, results)
			checkEveryLine(t, rows, res)
			checkFinalState(t, s, rows)
			// The resume sent only what had no success.
			for c := range commentsOf(rec.items()) {
				if r, ok := first[lineOf[c]]; ok && r.Status == wantSuccess {
					t.Errorf("resume sent line %d again, already success", lineOf[c])
				}
			}
			// One results row per input row, and one more for each row the
			// first run had in flight with no result: the resume records
			// those as failed (outcome unknown) before sending them again.
			unknown := 0
			for _, r := range res {
				if r.Message == resume.MsgUnknown {
					unknown++
				}
			}
			if unknown < lost || unknown > workers*batchSize || (len(tt.signals) == 1 && tt.code == 130 && unknown != 0) {
				t.Errorf("%d rows recorded as outcome unknown, want between the %d received without a result and the %d of the payloads in flight", unknown, lost, workers*batchSize)
			}
			if tt.code == 130 && len(res) != len(rows)+unknown {
				t.Errorf("%d results rows after interrupt and resume, want one per row (%d) and one per row left in flight (%d)", len(res), len(rows), unknown)
			}
		})
	}
}

// TestLockedResults: a second run on a results file that another run
// holds exits 3 at once, names the file, and sends nothing.
func TestLockedResults(t *testing.T) {
	t.Parallel()
	slow := newFake(t, kapturetest.Options{Latency: 200 * time.Millisecond})
	other := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	in := writeInput(t, dir, "in.csv", validRows(300))
	results := filepath.Join(dir, "in.results.csv")
	p := start(t, runOpts{}, "run", "--base-url", slow.URL, "--rate", "0", "--workers", "1", "--batch-size", "5", in)
	// The header is written after the lock is taken.
	waitFor(t, "the first run's results file", 30*time.Second, func() bool {
		fi, err := os.Stat(results)
		return err == nil && fi.Size() > 0
	})
	for _, mode := range [][]string{{"--resume"}, {"--overwrite"}, nil} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			args := append(append([]string{"run"}, mode...), "--base-url", other.URL, "--rate", "0", in)
			begin := time.Now()
			p2 := runBin(t, runOpts{}, args...)
			wantCode(t, p2, 3)
			if !strings.Contains(p2.stderr.String(), results) || !strings.Contains(p2.stderr.String(), "locked") {
				t.Errorf("stderr does not name the locked file %s:\n%s", results, p2.stderr.String())
			}
			if d := time.Since(begin); d > 10*time.Second {
				t.Errorf("took %v to refuse, want at once", d)
			}
		})
	}
	if n := other.Stats().Requests; n != 0 {
		t.Errorf("the refused runs sent %d requests", n)
	}
	select {
	case <-p.done:
		t.Fatalf("the first run ended (exit %d) while the others were refused: the test proved nothing", p.code)
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 130 {
		t.Errorf("first run: exit %d after SIGINT, want 130", code)
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
			p := runBin(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "0", "--workers", "1", "--batch-size", "40", in)
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
	wantCode(t, runBin(t, runOpts{}, append(args, "--limit", "10", in)...), 0)
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
	p := runBin(t, runOpts{}, append(args, "--resume", in)...)
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
	p := runBin(t, runOpts{}, args...)
	wantCode(t, p, 1)
	if st, _ := s.State(ticket(0)); st["comment"] != "last" {
		t.Fatalf("after the first run ticket state %v, want its last row", st)
	}
	p = runBin(t, runOpts{}, append([]string{"run", "--resume"}, args[1:]...)...)
	wantCode(t, p, 0)
	checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
	checkFinalState(t, s, rows)
}

// TestStdinHeldOpen: a run reading a stdin that does not end (an export
// still running, a terminal) must still stop at once on a rejected token
// and on a second signal, not when stdin ends.
func TestStdinHeldOpen(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		latency time.Duration // the fake's: long ones keep requests in flight
		signals []os.Signal
		want    int
	}{
		{"rejected token", "not-the-token", 0, nil, 3},
		{"signal twice, requests in flight", "", 20 * time.Second, []os.Signal{os.Interrupt, os.Interrupt}, 130},
		{"signal once, every row done", "", 0, []os.Signal{os.Interrupt}, 130},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t, kapturetest.Options{Latency: tt.latency})
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close(); pw.Close() })
			results := filepath.Join(t.TempDir(), "r.csv")
			p := start(t, runOpts{token: tt.token, stdin: pr}, "run", "--base-url", s.URL, "--rate", "0",
				"--quiet", "--results", results, "-")
			fmt.Fprintln(pw, "ticket_id,sub_status")
			for i := range 20 {
				fmt.Fprintf(pw, "%s,CL\n", ticket(i))
			}
			// pw stays open: stdin never ends.
			if len(tt.signals) > 0 {
				waitFor(t, "requests at the fake", 20*time.Second, func() bool {
					if tt.latency > 0 {
						return s.Stats().Requests > 0
					}
					b, _ := os.ReadFile(results)
					return strings.Count(string(b), "\n") == 21 // header and every row
				})
				for _, sig := range tt.signals {
					if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
						t.Fatal(err)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10s later with stdin open; stderr:\n%s", p.stderr.String())
			}
			if code := p.wait(t); code != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.want, p.stderr.String())
			}
		})
	}
}
