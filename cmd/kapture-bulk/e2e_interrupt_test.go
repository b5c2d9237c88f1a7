package main

// End-to-end tests of runs that are stopped: killed or interrupted and
// then resumed (the signals sent to the built binary, or in process
// through the channel main feeds), a results file locked by another run,
// a stdin that never ends.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

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
			rows := faultyRows(300)
			in := writeInput(t, dir, "in.csv", rows)
			results := filepath.Join(dir, "in.results.csv")
			summary := filepath.Join(dir, "summary.json")
			args := []string{"run", "--base-url", s.URL, "--rate", "0", "--workers", fmt.Sprint(workers),
				"--batch-size", fmt.Sprint(batchSize), "--summary-json", summary, in}
			p := startBin(t, runOpts{}, args...) // the signals are the point
			if len(tt.signals) == 1 {
				waitFor(t, "results rows", 30*time.Second, func() bool { return dataRows(results) >= 20 })
			} else {
				waitFor(t, "requests in flight", 30*time.Second, func() bool { return s.Stats().Requests >= workers })
			}
			sentAt := sendSignals(t, p, tt.signals)
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
			st := newStoppedRun(rows, first, rec.items())
			lost := st.lost
			t.Logf("%s after %d results: %d rows received but without a result", tt.name, len(first), lost)
			switch {
			case len(tt.signals) == 1 && tt.code == 130 && lost != 0:
				t.Errorf("%d rows reached the server without a result: in-flight payloads must finish and be written", lost)
			case lost > 2*workers*batchSize:
				t.Errorf("%d rows reached the server without a result, want at most those of the payloads in flight (%d)", lost, workers*batchSize)
			}

			firstRun.Store(false)
			rec.mark()
			p2 := runCmd(t, runOpts{}, append([]string{"run", "--resume"}, args[1:]...)...)
			wantCode(t, p2, 0)
			res := readResults(t, results)
			checkEveryLine(t, rows, res)
			checkFinalState(t, s, rows)
			checkResumeOfStopped(t, st, rec.items(), res, workers*batchSize, len(tt.signals) == 1 && tt.code == 130, tt.code == 130)
		})
	}
}

// sendSignals sends p each signal in turn, a later one once p has said it
// is interrupted, and returns when it sent the last one.
func sendSignals(t *testing.T, p *proc, signals []os.Signal) time.Time {
	t.Helper()
	var sentAt time.Time
	for i, sig := range signals {
		if i > 0 {
			waitFor(t, "the first signal's message", 10*time.Second, func() bool {
				return strings.Contains(p.stderr.String(), "interrupted")
			})
		}
		sentAt = time.Now()
		p.signal(t, sig)
	}
	return sentAt
}

// stoppedRun is what a run stopped mid-way left behind.
type stoppedRun struct {
	rows   []row
	first  map[int]resultRow // its results, the latest by line
	lineOf map[string]int    // a row's line, by its comment
	lost   int               // rows the server received without a result
}

// newStoppedRun counts the rows the server received (items) whose result
// the stopped run did not write.
func newStoppedRun(rows []row, first map[int]resultRow, items []kapturetest.Item) stoppedRun {
	lineOf := map[string]int{}
	for _, r := range rows {
		lineOf[r.Comment] = r.line
	}
	lost := 0
	for c := range commentsOf(items) {
		if _, ok := first[lineOf[c]]; !ok {
			lost++
		}
	}
	return stoppedRun{rows: rows, first: first, lineOf: lineOf, lost: lost}
}

// checkResumeOfStopped checks what the resume of st sent (items) and the
// results file it left (res): inFlight is the most rows a run has in
// flight; soft says the run stopped letting its requests finish, and
// interrupted that it exited 130.
func checkResumeOfStopped(t *testing.T, st stoppedRun, items []kapturetest.Item, res []resultRow, inFlight int, soft, interrupted bool) {
	t.Helper()
	// The resume sent only what had no success.
	for c := range commentsOf(items) {
		if r, ok := st.first[st.lineOf[c]]; ok && r.Status == wantSuccess {
			t.Errorf("resume sent line %d again, already success", st.lineOf[c])
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
	if unknown < st.lost || unknown > inFlight || (soft && unknown != 0) {
		t.Errorf("%d rows recorded as outcome unknown, want between the %d received without a result and the %d of the payloads in flight", unknown, st.lost, inFlight)
	}
	if interrupted && len(res) != len(st.rows)+unknown {
		t.Errorf("%d results rows after interrupt and resume, want one per row (%d) and one per row left in flight (%d)", len(res), len(st.rows), unknown)
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
			p2 := runCmd(t, runOpts{}, args...)
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
	p.signal(t, os.Interrupt)
	if code := p.wait(t); code != 130 {
		t.Errorf("first run: exit %d after SIGINT, want 130", code)
	}
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
					p.signal(t, sig)
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

// TestInterruptWaitIsVisible: after one SIGINT during requests that get no
// answer, the run says how many requests it waits for and for how long at
// most, and again every --progress-interval while it waits; it waits no
// longer than --timeout, and the rows left without an answer are counted
// unknown alike by the summary, report and the journal. A second SIGINT
// stops at once and says how many rows that leaves unknown.
func TestInterruptWaitIsVisible(t *testing.T) {
	const workers, timeout = 2, 3 * time.Second
	for _, twice := range []bool{false, true} {
		t.Run(fmt.Sprintf("twice=%v", twice), func(t *testing.T) {
			t.Parallel()
			s := newFake(t, kapturetest.Options{Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
				return &kapturetest.Fault{Kind: kapturetest.FaultStall} // until the client gives up
			}})
			dir := t.TempDir()
			in := writeInput(t, dir, "in.csv", validRows(100))
			results := filepath.Join(dir, "in.results.csv")
			summary := filepath.Join(dir, "summary.json")
			p := start(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "0", "--workers", fmt.Sprint(workers),
				"--batch-size", "5", "--timeout", timeout.String(), "--progress-interval", "500ms",
				"--summary-json", summary, in)
			waitFor(t, "requests in flight", 30*time.Second, func() bool { return s.Stats().Requests >= workers })
			sentAt := time.Now()
			p.signal(t, os.Interrupt)
			waitFor(t, "the wait line, twice", 10*time.Second, func() bool {
				return strings.Count(p.stderr.String(), "stopping: still waiting") >= 2
			})
			if twice {
				p.signal(t, os.Interrupt)
			}
			code := p.wait(t)
			took := time.Since(sentAt)
			stderr := p.stderr.String()
			if code != 130 {
				t.Fatalf("exit %d, want 130\n%s", code, stderr)
			}
			inflight, err := writer.ReadInFlight(results)
			if err != nil {
				t.Fatal(err)
			}
			want := len(inflight) // the rows of the requests in flight
			first := fmt.Sprintf("requests=%d rows=%d at_most=%s", workers, want, timeout)
			if want == 0 || !strings.Contains(stderr, "interrupted: sending nothing new, waiting for the answers") || !strings.Contains(stderr, first) {
				t.Errorf("no first wait line with %q:\n%s", first, stderr)
			}
			if twice {
				if again := fmt.Sprintf("interrupted again: stopping now; the rows in flight keep an unknown outcome\" signal=interrupt rows=%d", want); !strings.Contains(stderr, again) {
					t.Errorf("no %q:\n%s", again, stderr)
				}
				if took > timeout {
					t.Errorf("exited %v after the first signal, want at once after the second", took)
				}
			} else if took < timeout-time.Second || took > timeout+2*time.Second {
				t.Errorf("exited %v after the signal, want after about --timeout (%v)", took, timeout)
			}
			sum := readSummary(t, summary)
			rep := runCmd(t, runOpts{}, "report", "--json", results)
			var r struct{ Failed, Unknown int }
			if err := json.Unmarshal(rep.stdout.Bytes(), &r); err != nil {
				t.Fatalf("report --json: %v\n%s", err, rep.stdout.String())
			}
			if sum.Unknown != want || sum.Failed != want || r.Unknown != want || r.Failed != want || len(inflight) != want {
				t.Errorf("unknown: summary %d (failed %d), report %d (failed %d), journal %d; want %d each",
					sum.Unknown, sum.Failed, r.Unknown, r.Failed, len(inflight), want)
			}
			if !strings.Contains(stderr, fmt.Sprintf("%d failed (%d of them outcome unknown)", want, want)) {
				t.Errorf("the summary does not count the rows of unknown outcome:\n%s", stderr)
			}
		})
	}
}

// TestSyncInterruptAdvice: a --sync-state run stopped by SIGINT says the
// next run sends the rest (--resume is refused with --sync-state), and the
// same command run again does.
func TestSyncInterruptAdvice(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{Latency: 20 * time.Millisecond})
	dir := t.TempDir()
	rows := validRows(300)
	in := writeInput(t, dir, "export.csv", rows)
	state := filepath.Join(dir, "acme.state")
	args := []string{"run", "--base-url", s.URL, "--rate", "0", "--workers", "2", "--batch-size", "5", "--sync-state", state, in}
	p := start(t, runOpts{}, args...)
	waitFor(t, "requests", 30*time.Second, func() bool { return s.Stats().Requests >= 4 })
	p.signal(t, os.Interrupt)
	if code := p.wait(t); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, p.stderr.String())
	}
	stderr := p.stderr.String()
	if !strings.Contains(stderr, "next: the next --sync-state run sends them") || strings.Contains(stderr, "--resume") {
		t.Fatalf("the summary does not say the next sync run sends the rest (or says --resume):\n%s", stderr)
	}
	p2 := runCmd(t, runOpts{}, args...)
	if p2.code != 0 {
		t.Logf("the stopped run's stderr:\n%s", p.stderr.String())
	}
	wantCode(t, p2, 0)
	checkSyncState(t, s, rows)
}
