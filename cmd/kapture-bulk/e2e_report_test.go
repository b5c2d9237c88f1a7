package main

// End-to-end tests of report, in process: after a resume it
// counts every row once, in its latest state; its failed rows file, fixed
// and run, comes back all done.

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// reportOut is report --json.
type reportOut struct {
	Done       bool  `json:"done"`
	Rows       int   `json:"rows"`
	Success    int   `json:"success"`
	Failed     int   `json:"failed"`
	Invalid    int   `json:"invalid"`
	NotSent    *int  `json:"not_sent"`
	Superseded int   `json:"superseded"`
	FailedRowN *int  `json:"failed_rows_written"`
	Reasons    []any `json:"reasons"`
}

func reportJSONOf(t *testing.T, p *proc) reportOut {
	t.Helper()
	var r reportOut
	if err := json.Unmarshal(p.stdout.Bytes(), &r); err != nil {
		t.Fatalf("report --json: %v\n%s", err, p.stdout.String())
	}
	return r
}

func TestReportAfterResumeCountsEachRowOnce(t *testing.T) {
	var firstRun atomic.Bool // the first run finds 7000000000002 locked
	firstRun.Store(true)
	s := newFake(t, kapturetest.Options{Known: func(id string) bool {
		return !(firstRun.Load() && id == "700000000002") && kapturetest.DefaultKnown(id)
	}})
	dir := t.TempDir()
	rows := []row{
		{TicketID: "700000000001", SubStatus: "CL"},
		{TicketID: "700000000002", SubStatus: "CL"},
		{TicketID: "999900000123", SubStatus: "CL"},
		{TicketID: "7.13517E+11", SubStatus: "CL"},
		{TicketID: "999900000456", SubStatus: "CL"},
	}
	in := writeInput(t, dir, "in.csv", rows)
	results := filepath.Join(dir, "in.results.csv")
	wantCode(t, runCmd(t, runOpts{}, "run", "--base-url", s.URL, in), 1)
	firstRun.Store(false)
	wantCode(t, runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--resume", in), 1)

	// The results file has 5 + 3 rows (the resume does not record the
	// invalid row's verdict again); a spreadsheet's filter on status
	// would count 3 + 2 failed. The truth: 2 failed, 1 invalid.
	for _, args := range [][]string{{"report", "--json", results}, {"report", "--json", "--input", in, results}} {
		p := runCmd(t, runOpts{}, args...)
		wantCode(t, p, 1)
		got := reportJSONOf(t, p)
		if got.Rows != 5 || got.Success != 2 || got.Failed != 2 || got.Invalid != 1 || got.Superseded != 3 || got.Done || len(got.Reasons) != 2 {
			t.Errorf("%v: %+v; want 5 rows: 2 success, 2 failed, 1 invalid, 3 superseded, 2 reasons", args, got)
		}
		if (got.NotSent != nil) != (len(args) == 5) {
			t.Errorf("%v: not_sent %v: want it with --input only", args, got.NotSent)
		}
	}
	p := runCmd(t, runOpts{}, "report", results)
	for _, want := range []string{
		results + ": 5 rows: 2 success, 2 failed, 1 invalid\n",
		"     2  failed   No ticket found for ticket_id <id> (e.g. line 4)\n",
		"     1  invalid  ticket_id <value> looks like a number Excel rewrote in scientific notation",
	} {
		if !strings.Contains(p.stdout.String(), want) {
			t.Errorf("report does not say %q:\n%s", want, p.stdout.String())
		}
	}
}

func TestFailedRowsFixedAndRunComeBackDone(t *testing.T) {
	s := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	rows := []row{
		{TicketID: "700000000001", SubStatus: "CL", Comment: "fine", Priority: "high"},
		{TicketID: "999900000123", SubStatus: "CL", Comment: "a, comma", AgentNotes: "ask Ana"},
		{TicketID: "7.13517E+11", SubStatus: "PS", Comment: "two\nlines"},
		{TicketID: "700000000004", SubStatus: "CL"},
	}
	in := writeInput(t, dir, "in.csv", rows)
	results := filepath.Join(dir, "in.results.csv")
	wantCode(t, runCmd(t, runOpts{}, "run", "--base-url", s.URL, in), 1)

	fix := filepath.Join(dir, "fix.csv")
	p := runCmd(t, runOpts{}, "report", "--input", in, "--failed-rows", fix, results)
	wantCode(t, p, 1)
	if !strings.Contains(p.stdout.String(), "failed rows: 2 written to "+fix) {
		t.Errorf("report does not say it wrote 2 failed rows:\n%s", p.stdout.String())
	}
	b, err := os.ReadFile(fix)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("failed rows file: %v\n%s", err, b)
	}
	wantHeader := inputHeader + ",error"
	if len(recs) != 3 || strings.Join(recs[0], ",") != wantHeader ||
		strings.Join(recs[1][:8], "|") != "999900000123|CL||a, comma||||ask Ana" ||
		recs[1][8] != "No ticket found for ticket_id 999900000123" || recs[2][3] != "two\nlines" || !strings.Contains(recs[2][8], "scientific notation") {
		t.Fatalf("failed rows file:\n%q", recs)
	}

	// Fix the two rows where they stand, and run the file.
	fixed := strings.NewReplacer("999900000123", "700000000002", "7.13517E+11", "700000000003").Replace(string(b))
	if err := os.WriteFile(fix, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	p = runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--extra-columns", "all", fix)
	wantCode(t, p, 0)
	if !strings.Contains(p.stderr.String(), "columns not sent") || !strings.Contains(p.stderr.String(), "columns=error") {
		t.Errorf("the run of the fixed file did not say the error column is left out:\n%s", p.stderr.String())
	}
	for _, id := range []string{"700000000002", "700000000003"} {
		st, ok := s.State(id)
		if _, sent := st["error"]; !ok || sent {
			t.Errorf("ticket %s: state %v (updated %v): want it updated, without the error column", id, st, ok)
		}
	}
	p = runCmd(t, runOpts{}, "report", "--input", fix, "--extra-columns", "all", filepath.Join(dir, "fix.results.csv"))
	wantCode(t, p, 0)
	if !strings.Contains(p.stdout.String(), "2 rows: 2 success, 0 failed, 0 invalid, 0 not sent") || !strings.Contains(p.stdout.String(), "every row is done") {
		t.Errorf("report on the fixed run:\n%s", p.stdout.String())
	}
}

// report refuses what it cannot read or cannot do, with exit 2.
func TestReportRefuses(t *testing.T) {
	dir := t.TempDir()
	in := writeInput(t, dir, "in.csv", []row{{TicketID: "700000000001", SubStatus: "CL"}})
	results := filepath.Join(dir, "in.results.csv")
	if err := os.WriteFile(results, []byte(resultsHeader+"\n700000000009,success,ok,2,200,1,2026-01-01T00:00:00.000Z,k00000000000000aa.00000000000000bb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no RESULTS", []string{"report"}, "report takes exactly one RESULTS"},
		{"failed rows without the input", []string{"report", "--failed-rows", filepath.Join(dir, "f.csv"), results}, "--failed-rows needs --input"},
		{"failed rows over the input", []string{"report", "--input", in, "--failed-rows", in, results}, "would overwrite"},
		{"missing results", []string{"report", filepath.Join(dir, "nope.csv")}, "no such file"},
		{"an input as results", []string{"report", in}, "not a results CSV"},
		{"results of another input", []string{"report", "--input", in, results}, "none of the input's rows has a result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runOps(t, "", false, nil, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}
