package main

// End-to-end tests of runs that are stopped: killed or interrupted and
// then resumed, a results file locked by another run, a stdin that never
// ends.

import (
	"errors"
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
			p2 := runBin(t, runOpts{}, append([]string{"run", "--resume"}, args[1:]...)...)
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
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
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
