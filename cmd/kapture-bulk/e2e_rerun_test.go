package main

// End-to-end tests of a second run on a results file: resuming a run that
// finished or had rows fail, and refusing a results file that exists or
// records another input.

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestRunAllSucceedThenResume: exit 0 when every row succeeds; resuming a
// finished run sends nothing and exits 0, from a file and from stdin.
func TestRunAllSucceedThenResume(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	rows := validRows(60)
	in := writeInput(t, dir, "in.csv", rows)
	results := filepath.Join(dir, "out.csv")
	common := []string{"--base-url", s.URL, "--results", results, "--batch-size", "7", "--rate", "0"}

	p := runCmd(t, runOpts{stdin: bytes.NewReader(csvBytes(t, slices.Clone(rows)))}, append(append([]string{"run"}, common...), "-")...)
	wantCode(t, p, 0)
	res := readResults(t, results)
	checkEveryLine(t, rows, res)
	checkFinalState(t, s, rows)
	before := s.Stats().Requests
	if before == 0 {
		t.Fatal("no request reached the fake")
	}
	size := len(res)

	for _, tc := range []struct {
		name  string
		input string
		stdin bool
	}{{"file", in, false}, {"stdin", "-", true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := runOpts{}
			if tc.stdin {
				o.stdin = bytes.NewReader(csvBytes(t, slices.Clone(rows)))
			}
			p := runCmd(t, o, append(append([]string{"run", "--resume"}, common...), tc.input)...)
			wantCode(t, p, 0)
			if got := s.Stats().Requests; got != before {
				t.Errorf("resume of a finished run sent %d requests, want 0", got-before)
			}
			if got := len(readResults(t, results)); got != size {
				t.Errorf("results rows %d after resume, want %d (nothing appended)", got, size)
			}
			if !strings.Contains(p.stderr.String(), fmt.Sprintf("%d skipped", len(rows))) {
				t.Errorf("summary does not report %d rows skipped:\n%s", len(rows), p.stderr.String())
			}
		})
	}
}

// TestResumeSendsOnlyFailedRows: a run where some tickets fail the first
// time, resumed, sends exactly the failed rows and ends with exit 0.
func TestResumeSendsOnlyFailedRows(t *testing.T) {
	for _, form := range []kapturetest.Reply{kapturetest.ReplyArray, kapturetest.ReplyObject} {
		t.Run(form.String(), func(t *testing.T) {
			t.Parallel()
			var firstRun atomic.Bool
			firstRun.Store(true)
			rows := validRows(90)
			failing := map[string]bool{rows[2].TicketID: true, rows[10].TicketID: true, rows[25].TicketID: true}
			rec := &recorder{}
			s := newFake(t, kapturetest.Options{Reply: form, Fail: rec.fail, Known: func(id string) bool {
				if firstRun.Load() && failing[id] {
					return false
				}
				return kapturetest.DefaultKnown(id)
			}})
			dir := t.TempDir()
			in := writeInput(t, dir, "in.csv", rows)
			args := []string{"run", "--base-url", s.URL, "--batch-size", "5", "--rate", "0", in}

			p := runCmd(t, runOpts{}, args...)
			wantCode(t, p, 1)
			results := filepath.Join(dir, "in.results.csv")
			fin := latest(readResults(t, results))
			wantResent := map[string]bool{}
			for _, r := range rows {
				want := wantSuccess
				if failing[r.TicketID] {
					want = wantFailed
					wantResent[r.Comment] = true
				}
				if got := fin[r.line]; got.Status != want {
					t.Errorf("first run, line %d: %+v, want %s", r.line, got, want)
				}
			}
			if len(wantResent) == 0 {
				t.Fatal("no row failed in the first run")
			}

			firstRun.Store(false)
			rec.mark()
			p = runCmd(t, runOpts{}, append([]string{"run", "--resume"}, args[1:]...)...)
			wantCode(t, p, 0)
			got := commentsOf(rec.items())
			if !maps2Equal(got, wantResent) {
				t.Errorf("resume sent rows %v, want exactly the failed ones %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(wantResent)))
			}
			checkEveryLine(t, rows, readResults(t, results))
			checkFinalState(t, s, rows)
		})
	}
}

func maps2Equal(got map[string]int, want map[string]bool) bool {
	if len(got) != len(want) {
		return false
	}
	for k := range got {
		if !want[k] {
			return false
		}
	}
	return true
}

// TestExistingResultsRefused: an existing results file without --resume
// or --overwrite is refused with exit 2, untouched, nothing sent.
func TestExistingResultsRefused(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	rows := validRows(12)
	in := writeInput(t, dir, "in.csv", rows)
	results := filepath.Join(dir, "in.results.csv")
	old := []byte(resultsHeader + "\n" + ticket(0) + ",success,ok,2,200,1,2026-01-01T00:00:00.000Z,0123456789abcdef\n")
	if err := os.WriteFile(results, old, 0o644); err != nil {
		t.Fatal(err)
	}
	p := runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "0", in)
	wantCode(t, p, 2)
	if got, _ := os.ReadFile(results); !bytes.Equal(got, old) {
		t.Errorf("results file changed:\n%s\nwant:\n%s", got, old)
	}
	if n := s.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
	if !strings.Contains(p.stderr.String(), results) {
		t.Errorf("stderr does not name %s:\n%s", results, p.stderr.String())
	}
}

// TestResumeOtherInputRefused: --resume with the results of another input
// exits 2, naming both files, and sends nothing.
func TestResumeOtherInputRefused(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	a := writeInput(t, dir, "a.csv", validRows(20))
	other := validRows(20)
	for i := range other {
		other[i].Comment += " (edited)"
	}
	b := writeInput(t, dir, "b.csv", other)
	results := filepath.Join(dir, "a.results.csv")
	wantCode(t, runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "0", a), 0)
	before, _ := os.ReadFile(results)
	sent := s.Stats().Requests

	p := runCmd(t, runOpts{}, "run", "--resume", "--base-url", s.URL, "--rate", "0", "--results", results, b)
	wantCode(t, p, 2)
	for _, name := range []string{results, b} {
		if !strings.Contains(p.stderr.String(), name) {
			t.Errorf("stderr does not name %s:\n%s", name, p.stderr.String())
		}
	}
	if got := s.Stats().Requests - sent; got != 0 {
		t.Errorf("%d requests sent, want none", got)
	}
	if after, _ := os.ReadFile(results); !bytes.Equal(after, before) {
		t.Error("results file of the other input changed")
	}
}
