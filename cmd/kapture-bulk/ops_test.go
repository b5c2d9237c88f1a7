package main

// Tests of what an operator sees: the summary and --summary-json,
// --limit, --dry-run and help. They call cli with buffers. Progress is in
// ops_progress_test.go; the built binary on a pipe and under a
// pseudo-terminal in ops_binary_test.go.

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// opsInput writes a CSV of n rows for known tickets (7000000000001, …);
// the rows at the lines in invalidLines get a ticket_id that is not
// digits. It returns the path and the ticket ids by line.
func opsInput(t *testing.T, n int, invalidLines ...int) (string, map[int]string) {
	t.Helper()
	bad := map[int]bool{}
	for _, l := range invalidLines {
		bad[l] = true
	}
	ids := map[int]string{}
	var b strings.Builder
	b.WriteString("ticket_id,sub_status,comment\n")
	for i := 0; i < n; i++ {
		line := i + 2
		id := fmt.Sprintf("7%011d", i+1)
		if bad[line] {
			id = "abc" + id
		}
		ids[line] = id
		fmt.Fprintf(&b, "%s,CL,row %d\n", id, i+1)
	}
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ids
}

type opsRun struct {
	code           int
	stdout, stderr string
}

// runOps calls cli with buffers; token "" leaves KAPTURE_API_TOKEN unset.
func runOps(t *testing.T, token string, terminal bool, signals <-chan os.Signal, args ...string) opsRun {
	t.Helper()
	return runCLI(t, token, strings.NewReader(""), terminal, signals, args...)
}

// runCLI is runOps reading stdin.
func runCLI(t *testing.T, token string, stdin io.Reader, terminal bool, signals <-chan os.Signal, args ...string) opsRun {
	t.Helper()
	p := runCmd(t, runOpts{token: token, noToken: token == "", stdin: stdin, terminal: terminal, signals: signals}, args...)
	return opsRun{p.code, p.stdout.String(), p.stderr.String()}
}

func readSummaryJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--summary-json not written: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("--summary-json %s: %v\n%s", path, err, b)
	}
	return m
}

// summaryFields are the fields --summary-json always holds (README,
// Progress, logs and the summary).
var summaryFields = []string{
	"version", "started_at", "finished_at", "rate_limited",
	"input", "results", "outcome", "exit_code", "rows_read", "success", "failed", "invalid",
	"skipped_resume", "not_sent", "requests", "retries", "splits", "final_rate",
	"elapsed_seconds", "rows_per_second",
}

func checkSummaryJSON(t *testing.T, m map[string]any, want map[string]any) {
	t.Helper()
	for _, k := range summaryFields {
		if _, ok := m[k]; !ok {
			t.Errorf("summary JSON has no %q: %v", k, m)
		}
	}
	for k, v := range want {
		if got := m[k]; fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("summary JSON %s = %v, want %v", k, got, v)
		}
	}
}

func TestLimitSendsOnlyTheFirstRows(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	in, ids := opsInput(t, 10, 3) // line 3 invalid
	sj := filepath.Join(t.TempDir(), "summary.json")
	r := runOps(t, kapturetest.DefaultToken, false, nil, "run", "--base-url", srv.URL,
		"--limit", "4", "--batch-size", "2", "--summary-json", sj, in)
	if r.code != exitRowsFailed {
		t.Fatalf("exit %d, want %d (one invalid row)\n%s", r.code, exitRowsFailed, r.stderr)
	}
	// The first 4 data rows are lines 2-5; line 3 is invalid, never sent.
	for line := 2; line <= 11; line++ {
		got := len(srv.History(ids[line]))
		want := 0
		if line <= 5 && line != 3 {
			want = 1
		}
		if got != want {
			t.Errorf("line %d (ticket %s): applied %d times, want %d", line, ids[line], got, want)
		}
	}
	if st := srv.Stats(); st.Items != 3 {
		t.Errorf("the fake received %d items, want 3", st.Items)
	}
	results, err := os.ReadFile(strings.TrimSuffix(in, ".csv") + ".results.csv")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(results), "\n"); n != 1+4 {
		t.Errorf("results CSV has %d lines, want header + 4:\n%s", n, results)
	}
	checkSummaryJSON(t, readSummaryJSON(t, sj), map[string]any{
		"outcome": "finished", "exit_code": 1, "rows_read": 4, "success": 3, "invalid": 1, "not_sent": 0,
	})
}

func TestDryRunSendsNothingAndNeedsNoToken(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	in, ids := opsInput(t, 10, 4)
	for _, tc := range []struct {
		name       string
		args       []string
		rows, send int
		invalid    bool // line 4 is read, and listed
		firstID    string
		code       int
	}{
		{"all", nil, 10, 9, true, ids[2], exitRowsFailed}, // exit 1 for the invalid row, as validate
		{"limit", []string{"--limit", "2"}, 2, 2, false, ids[2], exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sj := filepath.Join(t.TempDir(), "summary.json")
			args := append([]string{"run", "--dry-run", "--base-url", srv.URL, "--batch-size", "3", "--summary-json", sj}, tc.args...)
			r := runOps(t, "", false, nil, append(args, in)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, want := range []string{
				"dry run: a run would call POST " + srv.URL + batch.Endpoint + "\n",
				fmt.Sprintf("dry run: %d rows read: %d would be sent", tc.rows, tc.send),
				"would be recorded as invalid, never sent",
			} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout does not say %q:\n%s", want, r.stdout)
				}
			}
			if listed := strings.Contains(r.stdout, in+" line 4"); listed != tc.invalid {
				t.Errorf("invalid row of line 4 listed: %v, want %v:\n%s", listed, tc.invalid, r.stdout)
			}
			// The first item of the first payload, as indented JSON, ends
			// the output.
			_, body, ok := strings.Cut(r.stdout, "the first item of the first payload (of ")
			_, body, _ = strings.Cut(body, ":\n")
			if !ok {
				t.Fatalf("no first item on stdout:\n%s", r.stdout)
			}
			var item map[string]string
			if err := json.Unmarshal([]byte(body), &item); err != nil {
				t.Fatalf("first item is not a JSON object: %v\n%s", err, body)
			}
			if !strings.HasPrefix(body, "{\n  \"") || item["ticket_id"] != tc.firstID {
				t.Errorf("first item %v (indented: %v), want ticket %s", item, strings.HasPrefix(body, "{\n  \""), tc.firstID)
			}
			checkSummaryJSON(t, readSummaryJSON(t, sj), map[string]any{
				"outcome": "dry_run", "exit_code": tc.code, "rows_read": tc.rows, "would_send": tc.send, "requests": 0,
			})
		})
	}
	if st := srv.Stats(); st.Requests != 0 || st.Other != 0 {
		t.Errorf("a dry run sent %d requests (%d elsewhere), want none", st.Requests, st.Other)
	}
	if _, err := os.Stat(strings.TrimSuffix(in, ".csv") + ".results.csv"); !os.IsNotExist(err) {
		t.Errorf("a dry run created a results file (stat: %v)", err)
	}
}

// The JSON summary is written however the run ends once its flags parse.
func TestSummaryJSONWhenNotFinished(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 20 * time.Millisecond})
	interrupt := func() <-chan os.Signal {
		c := make(chan os.Signal, 1)
		c <- syscall.SIGINT
		return c
	}
	for _, tc := range []struct {
		name     string
		token    string
		signals  func() <-chan os.Signal
		code     int
		want     map[string]any
		errMatch string
	}{
		{"wrong token", "not-the-token", nil, exitAborted,
			map[string]any{"outcome": "aborted", "exit_code": 3, "success": 0}, "authentication rejected"},
		{"no token", "", nil, exitUsage,
			map[string]any{"outcome": "aborted", "exit_code": 2, "rows_read": 0, "results": ""}, "KAPTURE_API_TOKEN"},
		{"interrupted", kapturetest.DefaultToken, interrupt, exitInterrupted,
			map[string]any{"outcome": "interrupted", "exit_code": 130}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := opsInput(t, 20)
			sj := filepath.Join(t.TempDir(), "summary.json")
			var sigs <-chan os.Signal
			if tc.signals != nil {
				sigs = tc.signals()
			}
			r := runOps(t, tc.token, false, sigs, "run", "--base-url", srv.URL, "--summary-json", sj, in)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			m := readSummaryJSON(t, sj)
			checkSummaryJSON(t, m, tc.want)
			if e, _ := m["error"].(string); !strings.Contains(e, tc.errMatch) {
				t.Errorf("summary JSON error %q, want it to mention %q", e, tc.errMatch)
			}
		})
	}
}

func TestRunHelpListsEveryFlagDefaultAndEnv(t *testing.T) {
	r := runOps(t, "", false, nil, "run", "--help")
	if r.code != exitOK {
		t.Fatalf("exit %d", r.code)
	}
	help := r.stderr + r.stdout
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var f runFlags
	f.register(fs)
	fs.VisitAll(func(fl *flag.Flag) {
		re := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(fl.Name) + `\b.*\n\s+\S.*\(default[ :]`)
		if !re.MatchString(help) {
			t.Errorf("--%s is not listed with its default", fl.Name)
		}
	})
	for flagName, envName := range map[string]string{
		"base-url": "KAPTURE_BASE_URL", "subdomain": "KAPTURE_SUBDOMAIN", "token-file": "KAPTURE_API_TOKEN",
	} {
		re := regexp.MustCompile(`(?m)^  --` + flagName + `\b.*\n.*` + envName)
		if !re.MatchString(help) {
			t.Errorf("--%s is not listed with its environment variable %s", flagName, envName)
		}
	}
}
