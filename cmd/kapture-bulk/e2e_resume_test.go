package main

// End-to-end tests of resume, in process (a kill with the binary): the
// cases an operator meets (an interrupted resume, a canary resume after a
// fix, results rows deleted, input rows deleted or inserted, a results
// file re-saved by a spreadsheet, another day's results file), each ending
// with every ticket in the state of its last row.

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// resumeArgs is a run of in against s with small payloads, so a run has
// many of them.
func resumeArgs(s *kapturetest.Server, in string, extra ...string) []string {
	args := []string{"run", "--base-url", s.URL, "--rate", "0", "--workers", "3", "--batch-size", "5", "--timeout", "300ms"}
	return append(append(args, extra...), in)
}

// TestResumeOfAnInterruptedResume: a first run against a flaky API leaves
// many rows failed; a resume is stopped part way (SIGINT, or SIGKILL);
// the next resume finishes. Every ticket ends in its last row's state,
// though the stopped resume sent some tickets' early rows again without
// their later ones.
func TestResumeOfAnInterruptedResume(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			var flaky atomic.Bool
			flaky.Store(true)
			s := newFake(t, kapturetest.Options{Latency: 5 * time.Millisecond, Seed: 11,
				Fail: func(n int, _ []kapturetest.Item) *kapturetest.Fault {
					if flaky.Load() && n%3 == 0 {
						return &kapturetest.Fault{Kind: kapturetest.FaultErrorPage}
					}
					return nil
				}})
			dir := t.TempDir()
			rows := validRows(450)
			in := writeInput(t, dir, "in.csv", rows)
			results := filepath.Join(dir, "in.results.csv")
			p := runCmd(t, runOpts{}, resumeArgs(s, in, "--max-retries", "0")...)
			if code := p.code; code != 1 && code != 3 {
				t.Fatalf("first run: exit %d, want 1 or 3 (rows failed)\n%s", code, p.stderr.String())
			}
			flaky.Store(false)
			before := dataRows(results)
			startRun := start
			if sig == syscall.SIGKILL {
				startRun = startBin
			}
			p = startRun(t, runOpts{}, resumeArgs(s, in, "--resume")...)
			waitFor(t, "some results of the resume", 30*time.Second, func() bool { return dataRows(results) >= before+20 })
			p.signal(t, sig)
			p.wait(t)
			p = runCmd(t, runOpts{}, resumeArgs(s, in, "--resume")...)
			wantCode(t, p, 0)
			checkEveryLine(t, rows, readResults(t, results))
			checkFinalState(t, s, rows)
		})
	}
}

// TestResumeWithLimitAfterAFix: a failed early row is fixed; a canary
// resume (--limit) holds it back, since its ticket's later rows, past the
// limit, were applied (sending it would move the ticket back); the full
// resume then sends it and the ticket's later rows after it again, so the
// fix does not end up last.
func TestResumeWithLimitAfterAFix(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	rows := validRows(90)  // each ticket on rows i, i+31, i+62
	rows[2].SubStatus = "" // invalid: fixed below
	rows[2].want = wantInvalid
	in := writeInput(t, dir, "in.csv", rows)
	wantCode(t, runCmd(t, runOpts{}, resumeArgs(s, in)...), 1)
	rows[2].SubStatus, rows[2].want = "CL", wantSuccess
	in = writeInput(t, dir, "in.csv", rows)
	requests := s.Stats().Requests
	wantCode(t, runCmd(t, runOpts{}, resumeArgs(s, in, "--resume", "--limit", "10")...), 1)
	if n := s.Stats().Requests - requests; n != 0 {
		t.Fatalf("the canary made %d requests, want none: the fixed row is held back", n)
	}
	p := runCmd(t, runOpts{}, resumeArgs(s, in, "--resume")...)
	wantCode(t, p, 0)
	checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
	checkFinalState(t, s, rows)
}

// TestResumeAfterResultsDeleted: rows deleted from the results file of a
// finished run are sent again, and so are their tickets' later rows, after
// them.
func TestResumeAfterResultsDeleted(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	rows := validRows(600)
	in := writeInput(t, dir, "in.csv", rows)
	results := filepath.Join(dir, "in.results.csv")
	wantCode(t, runCmd(t, runOpts{}, resumeArgs(s, in)...), 0)
	lines := strings.SplitAfter(readFileT(t, results), "\n")
	var kept []string
	deleted := 0
	for i, l := range lines {
		if i > 0 && i%20 == 7 { // 5% of the rows
			deleted++
			continue
		}
		kept = append(kept, l)
	}
	writeFileT(t, results, strings.Join(kept, ""))
	p := runCmd(t, runOpts{}, resumeArgs(s, in, "--resume")...)
	wantCode(t, p, 0)
	checkEveryLine(t, rows, readResults(t, results))
	checkFinalState(t, s, rows)
	t.Logf("%d results deleted; the resume sent %d rows", deleted, s.Stats().Items-len(rows))
}

// TestResumeAfterInputEdits: deleting a row of the input, or inserting two
// at the top, shifts every line after it; the resume sends only the rows
// that are new (and the later rows of their tickets), never the whole file,
// and does not take the results file for another input's.
func TestResumeAfterInputEdits(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func([]row) []row
		max  int // at most this many rows sent again
	}{
		{"row deleted", func(r []row) []row { return append(r[:5:5], r[6:]...) }, 3},
		{"two rows inserted at the top", func(r []row) []row {
			return append([]row{
				{TicketID: ticket(900), SubStatus: "CL", Comment: "new 1", want: wantSuccess},
				{TicketID: ticket(901), SubStatus: "PS", Comment: "new 2", want: wantSuccess},
			}, r...)
		}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t, kapturetest.Options{})
			dir := t.TempDir()
			rows := validRows(300)
			in := writeInput(t, dir, "in.csv", rows)
			wantCode(t, runCmd(t, runOpts{}, resumeArgs(s, in)...), 0)
			sentBefore := s.Stats().Items
			rows = tt.edit(rows)
			in = writeInput(t, dir, "in.csv", rows)
			p := runCmd(t, runOpts{}, resumeArgs(s, in, "--resume")...)
			wantCode(t, p, 0)
			if sent := s.Stats().Items - sentBefore; sent > tt.max {
				t.Errorf("the resume sent %d rows, want at most %d", sent, tt.max)
			}
			checkFinalState(t, s, rows)
		})
	}
}

// TestResumeAfterSpreadsheetResave: a results file opened and saved again
// in Excel (CRLF, a BOM, ticket ids as 7.13517E+11, local dates, a cell of
// digits as 5.46614E+15) resumes as it was: nothing is sent again, since a
// row key starts with a letter. A results file written before row keys
// existed (fingerprints of 16 hex digits) still resumes; where Excel ate
// such a fingerprint, that row (and its ticket's later rows) is sent again,
// and the rest is not.
func TestResumeAfterSpreadsheetResave(t *testing.T) {
	excel := func(c []string) []string {
		c[0], c[6] = "7.13517E+11", "02/12/2026 10:15"
		if strings.Trim(c[7], "0123456789") == "" {
			c[7] = "5.46614E+15"
		}
		return c
	}
	for _, tt := range []struct {
		name   string
		damage func(i int, cells []string) []string
		// perEaten: at most this many rows sent again for each
		// fingerprint Excel ate (the row and its ticket's later rows)
		perEaten int
	}{
		{"excel", func(_ int, c []string) []string { return excel(c) }, 0},
		{"older file", func(i int, c []string) []string {
			k, err := rowkey.Parse(c[7])
			if err != nil {
				panic(err)
			}
			c[7] = rowkey.Key{Content: k.Content}.String() // as written before keys
			if i%100 == 1 {
				c[7] = "1234567890123456" // digits only: Excel takes it for a number
			}
			c[7] = excel(append([]string(nil), c...))[7] // Excel eats only that cell here: an older file needs its ticket cell
			return c
		}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t, kapturetest.Options{})
			dir := t.TempDir()
			rows := validRows(300)
			in := writeInput(t, dir, "in.csv", rows)
			results := filepath.Join(dir, "in.results.csv")
			wantCode(t, runCmd(t, runOpts{}, resumeArgs(s, in)...), 0)
			lines := strings.Split(strings.TrimSuffix(readFileT(t, results), "\n"), "\n")
			eaten := 0
			for i := 1; i < len(lines); i++ {
				cells := strings.Split(lines[i], ",")
				if len(cells) != 8 { // a quoted message with a comma: left alone
					continue
				}
				lines[i] = strings.Join(tt.damage(i, cells), ",")
				if strings.HasSuffix(lines[i], ",5.46614E+15") {
					eaten++
				}
			}
			writeFileT(t, results, "\ufeff"+strings.Join(lines, "\r\n")+"\r\n")
			sentBefore := s.Stats().Items
			p := runCmd(t, runOpts{}, resumeArgs(s, in, "--resume")...)
			wantCode(t, p, 0)
			if sent := s.Stats().Items - sentBefore; sent > tt.perEaten*eaten {
				t.Errorf("the resume sent %d rows again, want at most %d for %d fingerprints Excel ate\n%s", sent, tt.perEaten*eaten, eaten, p.stderr.String())
			}
			checkFinalState(t, s, rows)
		})
	}
}

// TestResumeOfAnotherDaysResults: Monday's results file given with
// Tuesday's different input is refused (exit 2, naming both files, nothing
// sent), though both files have invalid rows in common.
func TestResumeOfAnotherDaysResults(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	monday := validRows(60)
	monday[3].SubStatus, monday[3].want = "", wantInvalid
	in := writeInput(t, dir, "in.csv", monday)
	results := filepath.Join(dir, "in.results.csv")
	wantCode(t, runCmd(t, runOpts{}, resumeArgs(s, in)...), 1)
	tuesday := validRows(60)
	for i := range tuesday {
		tuesday[i].SubStatus = "US"
	}
	tuesday[3].SubStatus = "" // the same invalid row
	in = writeInput(t, dir, "in.csv", tuesday)
	before, sentBefore := readFileT(t, results), s.Stats().Requests
	p := runCmd(t, runOpts{}, resumeArgs(s, in, "--resume")...)
	wantCode(t, p, 2)
	if msg := p.stderr.String(); !strings.Contains(msg, results) || !strings.Contains(msg, in) {
		t.Errorf("message does not name both files:\n%s", msg)
	}
	if s.Stats().Requests != sentBefore || readFileT(t, results) != before {
		t.Error("a refused resume sent something or changed the results file")
	}
}

func readFileT(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFileT(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
