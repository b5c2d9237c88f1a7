package main

// Tests of what a new operator meets in the first hour: flag mistakes,
// help, an empty export, the progress during a stall, JSON logs, the
// summary's failure reasons, and the exit code of failed rows for a
// scheduler.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
)

// A flag mistake gets one line: the error, explained, and where the help
// is; never the whole usage.
func TestFlagErrorsAreOneExplainedLine(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		wants []string
		not   string // must not appear
	}{
		{"near miss", []string{"run", "--batchsize", "10", "in.csv"},
			[]string{"unknown flag --batchsize: did you mean --batch-size?", "(kapture-bulk run --help for more)"}, ""},
		{"swapped letters", []string{"run", "--wrokers", "3", "in.csv"}, []string{"did you mean --workers?"}, ""},
		{"underscore", []string{"validate", "--extra_columns", "a", "in.csv"}, []string{"did you mean --extra-columns?", "kapture-bulk validate --help"}, ""},
		{"a prefix", []string{"run", "--summary", "s.json", "in.csv"}, []string{"did you mean --summary-json?"}, ""},
		{"far off", []string{"run", "--colour", "in.csv"}, []string{"unknown flag --colour (kapture-bulk run --help for more)"}, "did you mean"},
		{"a token as a flag", []string{"run", "--token=s3cret-value", "in.csv"},
			[]string{"--token is not a flag", "KAPTURE_API_TOKEN", "--token-file"}, "s3cret-value"},
		{"a duration without a unit", []string{"run", "--timeout", "30", "in.csv"},
			[]string{"--timeout 30: a duration needs a unit: use 30s"}, ""},
		{"a duration without a unit, mock", []string{"mock", "--latency=150"}, []string{"--latency 150: a duration needs a unit: use 150s"}, ""},
		{"a bad number", []string{"run", "--workers", "many", "in.csv"}, []string{`--workers "many": parse error`}, ""},
		{"a value missing", []string{"report", "--input"}, []string{"--input needs a value (kapture-bulk report --help for more)"}, ""},
		{"too many inputs", []string{"run", "a.csv", "b.csv"}, []string{"run takes exactly one INPUT (a CSV path, or - for stdin), got 2 (kapture-bulk run --help for more)"}, ""},
		{"a command misspelt", []string{"reprot", "r.csv"}, []string{`unknown command "reprot": did you mean report?`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runOps(t, "tok", false, nil, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want 2", r.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if n := strings.Count(r.stderr, "\n"); n != 1 || !strings.HasPrefix(r.stderr, "kapture-bulk: ") {
				t.Errorf("stderr has %d lines, want the error alone:\n%s", n, r.stderr)
			}
			for _, want := range tt.wants {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q does not say %q", r.stderr, want)
				}
			}
			if tt.not != "" && strings.Contains(r.stderr, tt.not) {
				t.Errorf("stderr %q says %q", r.stderr, tt.not)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"workers", "workers", 0}, {"wrokers", "workers", 1}, {"batchsize", "batch-size", 1},
		{"batch_size", "batch-size", 1}, {"", "abc", 3}, {"colour", "color", 1}, {"colour", "resume", 6},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// Every command's --help goes to stdout and exits 0, as the top-level one.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"run", "-h"}, {"validate", "--help"}, {"mock", "--help"}, {"report", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runOps(t, "", false, nil, args...)
			if r.code != exitOK || r.stderr != "" || !strings.Contains(r.stdout, "Usage:") {
				t.Errorf("exit %d, stderr %q, stdout %d bytes with Usage: %v; want 0, nothing, the help",
					r.code, r.stderr, len(r.stdout), strings.Contains(r.stdout, "Usage:"))
			}
		})
	}
}

// A file with a header and no data rows is a broken export, not a run
// with nothing to do: exit 2 and no results file, unless --allow-empty.
func TestInputWithoutRows(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"run", []string{"run", "--base-url", srv.URL}, exitUsage},
		{"run --allow-empty", []string{"run", "--base-url", srv.URL, "--allow-empty"}, exitOK},
		{"dry run", []string{"run", "--dry-run"}, exitUsage},
		{"validate", []string{"validate"}, exitUsage},
		{"validate --allow-empty", []string{"validate", "--allow-empty"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "nightly.csv")
			if err := os.WriteFile(in, []byte("ticket_id,sub_status,comment\n\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runOps(t, kapturetest.DefaultToken, false, nil, append(tc.args, in)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			_, statErr := os.Stat(filepath.Join(dir, "nightly.results.csv"))
			if tc.code == exitUsage {
				if !strings.Contains(r.stderr, "nightly.csv: no data rows under its header") || !strings.Contains(r.stderr, "--allow-empty") {
					t.Errorf("stderr does not say no data rows and --allow-empty:\n%s", r.stderr)
				}
				if !os.IsNotExist(statErr) {
					t.Errorf("a results file was created (stat: %v)", statErr)
				}
			}
		})
	}
}

func TestETA(t *testing.T) {
	snap := func(done int64, rate float64, idle time.Duration) progressSnap {
		return progressSnap{Snapshot: run.Snapshot{Success: done, Read: done}, rowsPerSec: rate, idle: idle}
	}
	limit := progressTotal{limit: 100}
	for _, tt := range []struct {
		name  string
		s     progressSnap
		total progressTotal
		want  time.Duration
	}{
		{"on pace", snap(40, 10, 0), limit, 6 * time.Second},
		{"nothing done yet", snap(0, 0, 0), limit, 0},
		{"a stall: no pace", snap(40, 0, 30*time.Second), limit, 0},
		{"finished", snap(100, 10, 0), limit, 0},
		{"stdin: no total", snap(40, 10, 0), progressTotal{}, 0},
	} {
		if got := eta(tt.s, tt.total); got != tt.want {
			t.Errorf("%s: eta = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// During a stall the bar says so, where progressbar's own ETA said 0s.
func TestBarSaysStalled(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    progressSnap
		want string
	}{
		{"on pace", progressSnap{Snapshot: run.Snapshot{Success: 40}, rowsPerSec: 10}, "| ETA 6s"},
		{"stalled", progressSnap{Snapshot: run.Snapshot{Success: 40}, idle: 42 * time.Second}, "| stalled: no row finished for 42s"},
	} {
		var out bytes.Buffer
		bar := newBarSink(&termLines{w: &out}, progressTotal{limit: 100})
		bar.show(tt.s)
		if !strings.Contains(out.String(), tt.want) || strings.Contains(out.String(), ":0s]") {
			t.Errorf("%s: bar %q, want it to say %q", tt.name, out.String(), tt.want)
		}
	}
}

// After the first Ctrl-C the bar says what the stop waits for, and at
// most how long, at every redraw (issue 20): the warning logged once
// scrolls away above a bar that keeps drawing. Once nothing is in
// flight, the bar is the usual one.
func TestBarSaysWhatTheStopWaitsFor(t *testing.T) {
	now := time.Now()
	deadline := now.Add(6500 * time.Millisecond)
	for _, tt := range []struct {
		name        string
		delivering  int64
		at          time.Time
		want, never string
	}{
		{"at the stop", 3, now, "stopping: waiting for 3 requests, at most 7s (Ctrl-C again stops at once)", "stalled"},
		{"a second on", 1, now.Add(time.Second), "stopping: waiting for 1 request, at most 6s", "stalled"},
		{"past the deadline", 1, now.Add(time.Minute), "stopping: waiting for 1 request, at most 0s", "stalled"},
		{"nothing in flight", 0, now.Add(time.Second), "stalled: no row finished for 42s", "stopping"},
	} {
		var out bytes.Buffer
		bar := newBarSink(&termLines{w: &out}, progressTotal{limit: 100})
		bar.show(progressSnap{Snapshot: run.Snapshot{Success: 40, Delivering: tt.delivering, StopDeadline: deadline}, at: tt.at, idle: 42 * time.Second})
		if !strings.Contains(out.String(), tt.want) || strings.Contains(out.String(), tt.never) {
			t.Errorf("%s: bar %q, want it to say %q and not %q", tt.name, out.String(), tt.want, tt.never)
		}
	}
}

// With --log-format json every line on stderr is JSON, the summary too.
func TestJSONLogsEndWithTheSummaryRecord(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	in, _ := opsInput(t, 5, 3)
	r := runOps(t, kapturetest.DefaultToken, false, nil, "run", "--base-url", srv.URL, "--log-format", "json", in)
	if r.code != exitRowsFailed {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	var last map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		last = nil
		if err := json.Unmarshal([]byte(line), &last); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
	}
	sum, _ := last["summary"].(map[string]any)
	if last["msg"] != "summary" || last["level"] != "WARN" || sum == nil {
		t.Fatalf("last record %v, want the summary at WARN (rows failed)", last)
	}
	checkSummaryJSON(t, sum, map[string]any{"outcome": "finished", "exit_code": 1, "success": 4, "invalid": 1})
	if reasons, _ := sum["failure_reasons"].([]any); len(reasons) != 1 {
		t.Errorf("failure_reasons %v, want the invalid row's", sum["failure_reasons"])
	}
}

// The summary ends with the failure reasons, masked and counted; its JSON
// has them, and --rows-failed-exit-code 0 makes a run with failed rows a
// success for a scheduler while the JSON still counts them.
func TestSummaryFailureReasonsAndRowsFailedExitCode(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	csv := "ticket_id,sub_status\n713516551148,CL\n999999999991,CL\nabc,CL\n999999999992,CL\n713516551149,CL\n"
	if err := os.WriteFile(in, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	sj := filepath.Join(dir, "s.json")
	r := runOps(t, kapturetest.DefaultToken, false, nil, "run", "--base-url", srv.URL, "--rows-failed-exit-code", "0", "--summary-json", sj, in)
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"failure reasons (most rows first):\n",
		"     2  failed   No ticket found for ticket_id <id> (e.g. line ",
		"     1  invalid  ticket_id <value> is not a ticket id (digits only) (e.g. line 4)\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("summary does not say %q:\n%s", want, r.stderr)
		}
	}
	m := readSummaryJSON(t, sj)
	checkSummaryJSON(t, m, map[string]any{"outcome": "finished", "exit_code": 0, "failed": 2, "invalid": 1, "success": 2})
	reasons, _ := m["failure_reasons"].([]any)
	first, _ := reasons[0].(map[string]any)
	if len(reasons) != 2 || first["reason"] != "No ticket found for ticket_id <id>" || first["status"] != "failed" || first["count"] != 2.0 || first["example_line"] == nil {
		t.Errorf("failure_reasons %v", m["failure_reasons"])
	}
	if r := runOps(t, "t", false, nil, "run", "--rows-failed-exit-code", "3", in); r.code != exitUsage || !strings.Contains(r.stderr, "--rows-failed-exit-code 3") {
		t.Errorf("--rows-failed-exit-code 3: exit %d, %s", r.code, r.stderr)
	}
}

// The summary JSON of a run interrupted while sending says why it ended.
func TestSummaryJSONOfAnInterruptedRunHasItsError(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	srv := kapturetest.NewServer(t, kapturetest.Options{Fail: func(n int, _ []kapturetest.Item) *kapturetest.Fault {
		if n == 1 {
			sigs <- syscall.SIGINT // while the first request is in flight
		}
		return nil
	}})
	in, _ := opsInput(t, 30)
	sj := filepath.Join(t.TempDir(), "s.json")
	r := runOps(t, kapturetest.DefaultToken, false, sigs, "run", "--base-url", srv.URL, "--batch-size", "1", "--workers", "1", "--summary-json", sj, in)
	if r.code != exitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", r.code, r.stderr)
	}
	m := readSummaryJSON(t, sj)
	checkSummaryJSON(t, m, map[string]any{"outcome": "interrupted", "exit_code": 130})
	if e, _ := m["error"].(string); !strings.Contains(e, "interrupted by a signal") || !strings.Contains(e, "--resume") {
		t.Errorf("summary JSON error %q, want why the run ended", e)
	}
}
