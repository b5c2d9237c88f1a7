package main

// Tests of what an operator sees: progress on and off a terminal, the
// summary and --summary-json, --limit, --dry-run, help and version. Most
// call cli with buffers; a few run the built binary (opsBinary), on a pipe
// and under a pseudo-terminal.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
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
	var out, errb bytes.Buffer
	e := &env{
		stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			if k == "KAPTURE_API_TOKEN" {
				return token
			}
			return ""
		},
		signals: signals, isTerminal: func() bool { return terminal },
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := cli(ctx, args, e)
	return opsRun{code, out.String(), errb.String()}
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

// summaryFields are the fields issue 5 asks of --summary-json.
var summaryFields = []string{
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
			if listed := strings.Contains(r.stdout, in+":4: ticket_id"); listed != tc.invalid {
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

var progressLine = regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=progress .*rows_per_s=`)

func TestProgressOffTerminal(t *testing.T) {
	// 20 payloads one at a time, 50ms each: the run lasts a second or more.
	srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 50 * time.Millisecond})
	for _, tc := range []struct {
		name     string
		flags    []string
		atLeast1 bool
	}{
		{"every 100ms", []string{"--progress-interval", "100ms"}, true},
		{"quiet", []string{"--quiet", "--progress-interval", "100ms"}, false},
		{"default interval", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := opsInput(t, 20)
			start := time.Now()
			args := append([]string{"run", "--base-url", srv.URL, "--rate", "0", "--workers", "1", "--batch-size", "1"}, tc.flags...)
			r := runOps(t, kapturetest.DefaultToken, false, nil, append(args, in)...)
			elapsed := time.Since(start)
			if r.code != exitOK {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "\r") {
				t.Errorf("stderr is not a terminal but has a carriage return:\n%q", r.stderr)
			}
			n := len(progressLine.FindAllString(r.stderr, -1))
			switch {
			case tc.atLeast1 && n == 0:
				t.Errorf("no progress line in a %v run logging every 100ms:\n%s", elapsed, r.stderr)
			case !tc.atLeast1 && n > 0:
				t.Errorf("%d progress lines, want none:\n%s", n, r.stderr)
			case n > int(elapsed/(100*time.Millisecond))+1:
				t.Errorf("%d progress lines in %v at one per 100ms:\n%s", n, elapsed, r.stderr)
			}
			if !strings.Contains(r.stderr, "kapture-bulk: finished in ") || !strings.Contains(r.stderr, "20 success, 0 failed, 0 invalid") {
				t.Errorf("no summary on stderr:\n%s", r.stderr)
			}
		})
	}
}

func TestBarOnTerminal(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 50 * time.Millisecond})
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"file", nil},
		{"limit", []string{"--limit", "15"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := opsInput(t, 20)
			args := append([]string{"run", "--base-url", srv.URL, "--rate", "0", "--workers", "1", "--batch-size", "1"}, tc.flags...)
			r := runOps(t, kapturetest.DefaultToken, true, nil, append(args, in)...)
			if r.code != exitOK {
				t.Fatalf("exit %d\n%q", r.code, r.stderr)
			}
			checkBar(t, r.stderr)
		})
	}
}

// checkBar checks a terminal's stderr: a redrawn bar with a percentage,
// counts and a rate, wiped before the summary.
func checkBar(t *testing.T, out string) {
	t.Helper()
	bar := regexp.MustCompile(`\r +\d+% \|[^|]*\| +\[\d+s\] \d+ rows: \d+ ok, 0 failed, 0 invalid \| [0-9.]+ rows/s`)
	if n := len(bar.FindAllString(out, -1)); n < 2 {
		t.Errorf("want a bar drawn at least twice, found %d:\n%q", n, out)
	}
	if !regexp.MustCompile(`\| [1-9][0-9.]* rows/s`).MatchString(out) {
		t.Errorf("the bar never showed a rate above zero:\n%q", out)
	}
	i := strings.Index(out, "kapture-bulk: finished")
	if i < 0 {
		t.Fatalf("no summary:\n%q", out)
	}
	if strings.Contains(out[i:], "\r\r") || strings.Contains(out[i:], "rows/s\r") {
		t.Errorf("the bar was drawn after the summary:\n%q", out[i:])
	}
	if before := strings.TrimRight(out[:i], " "); !strings.HasSuffix(before, "\r") && !strings.HasSuffix(before, "\n") {
		t.Errorf("the summary does not start on a clean line:\n%q", out[max(0, i-200):i+40])
	}
}

// A log line while the bar is up wipes the bar first.
func TestTermLinesWipeTheBar(t *testing.T) {
	var buf bytes.Buffer
	tl := &termLines{w: &buf}
	fmt.Fprint(tl.barWriter(), "\r 10% |██   | 3 rows")
	fmt.Fprint(tl, "level=WARN msg=x\n")
	tl.clearBar() // nothing left to wipe
	want := "\r 10% |██   | 3 rows\r" + strings.Repeat(" ", len([]rune(" 10% |██   | 3 rows"))) + "\rlevel=WARN msg=x\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestRepeatedWarningsAreHeld(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newRepeatLimiter(slog.NewTextHandler(&buf, nil), time.Hour))
	for range 5 {
		log.Warn("rate lowered", "to", 1)
		log.Info("info passes", "n", 1)
	}
	log.Warn("another warning")
	out := buf.String()
	if n := strings.Count(out, "rate lowered"); n != 1 {
		t.Errorf("a warning repeated 5 times within the interval was logged %d times, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "info passes"); n != 5 {
		t.Errorf("info lines: %d, want 5 (only warnings are held)", n)
	}
	if !strings.Contains(out, "another warning") {
		t.Errorf("a different warning was held:\n%s", out)
	}

	// Once the interval has passed, the next one says how many were held.
	buf.Reset()
	h := newRepeatLimiter(slog.NewTextHandler(&buf, nil), time.Second)
	t0 := time.Now()
	for i, at := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 1500 * time.Millisecond} {
		r := slog.NewRecord(t0.Add(at), slog.LevelWarn, "retrying", 0)
		r.AddAttrs(slog.Int("i", i))
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if got := buf.String(); strings.Count(got, "retrying") != 2 || !strings.Contains(got, "i=3 repeated=2") {
		t.Errorf("want the first and the fourth, the fourth with repeated=2:\n%s", got)
	}
}

func TestRateWindowFollowsRecentRows(t *testing.T) {
	var w rateWindow
	t0 := time.Now()
	var got float64
	// 100 rows/s for 10s, then 10 rows/s for 10s.
	done := int64(0)
	for s := 1; s <= 20; s++ {
		if s <= 10 {
			done += 100
		} else {
			done += 10
		}
		got = w.add(t0.Add(time.Duration(s)*time.Second), done)
	}
	if got < 9 || got > 11 {
		t.Errorf("rate %v after 10s at 10 rows/s, want 10 (not the average since the start)", got)
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

// The built binary

// opsBinary is the binary TestMain built (with -race, and version, commit
// and date set by -ldflags as the Makefile does).
func opsBinary(t *testing.T) string {
	t.Helper()
	if binPath == "" {
		t.Fatal("no binary: TestMain did not build it")
	}
	return binPath
}

func TestBinaryVersion(t *testing.T) {
	out, err := exec.Command(opsBinary(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	for _, want := range []string{testVersion, testCommit, testDate} {
		if !strings.Contains(string(out), want) {
			t.Errorf("version output %q lacks %q (set by -ldflags)", out, want)
		}
	}
}

// binaryRun runs the binary with stdout and stderr on pipes (not a terminal).
func binaryRun(t *testing.T, token string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(opsBinary(t), args...)
	cmd.Env = append(os.Environ(), "KAPTURE_API_TOKEN="+token)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stderr.String()
}

func TestBinaryOffTerminal(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 20 * time.Millisecond})
	t.Run("finished", func(t *testing.T) {
		in, _ := opsInput(t, 30, 7)
		sj := filepath.Join(t.TempDir(), "summary.json")
		code, stderr := binaryRun(t, kapturetest.DefaultToken, "run", "--base-url", srv.URL,
			"--batch-size", "2", "--rate", "0", "--summary-json", sj, in)
		if code != exitRowsFailed {
			t.Fatalf("exit %d, want 1\n%s", code, stderr)
		}
		if strings.Contains(stderr, "\r") {
			t.Errorf("carriage return on a pipe:\n%q", stderr)
		}
		// A short run at the default 10s interval: at most a few lines.
		if n := len(progressLine.FindAllString(stderr, -1)); n > 2 {
			t.Errorf("%d progress lines for a short run:\n%s", n, stderr)
		}
		if lines := strings.Count(stderr, "\n"); lines > 8 {
			t.Errorf("%d lines on stderr for a short run, want a few:\n%s", lines, stderr)
		}
		for _, want := range []string{"kapture-bulk: finished in ", "29 success, 0 failed, 1 invalid", "requests", "results: " + strings.TrimSuffix(in, ".csv") + ".results.csv"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		checkSummaryJSON(t, readSummaryJSON(t, sj), map[string]any{
			"outcome": "finished", "exit_code": 1, "rows_read": 30, "success": 29, "invalid": 1, "failed": 0,
			"results": strings.TrimSuffix(in, ".csv") + ".results.csv",
		})
	})
	t.Run("wrong token", func(t *testing.T) {
		in, _ := opsInput(t, 30)
		sj := filepath.Join(t.TempDir(), "summary.json")
		code, stderr := binaryRun(t, "wrong", "run", "--base-url", srv.URL, "--summary-json", sj, in)
		if code != exitAborted {
			t.Fatalf("exit %d, want 3\n%s", code, stderr)
		}
		if !strings.Contains(stderr, "kapture-bulk: aborted in ") {
			t.Errorf("no summary of the aborted run:\n%s", stderr)
		}
		checkSummaryJSON(t, readSummaryJSON(t, sj), map[string]any{"outcome": "aborted", "exit_code": 3, "success": 0})
	})
}

// Under a pseudo-terminal (script from util-linux) the bar is live.
func TestBinaryBarUnderPseudoTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script command (util-linux) to make a pseudo-terminal")
	}
	srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 50 * time.Millisecond})
	in, _ := opsInput(t, 30)
	shq := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	command := strings.Join([]string{shq(opsBinary(t)), "run", "--base-url", shq(srv.URL),
		"--rate", "0", "--workers", "1", "--batch-size", "1", shq(in)}, " ")
	cmd := exec.Command(script, "-qec", command, "/dev/null")
	cmd.Env = append(os.Environ(), "KAPTURE_API_TOKEN="+kapturetest.DefaultToken, "TERM=xterm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("script: %v\n%q", err, out)
	}
	// The terminal turns \n into \r\n; the bar's own \r are what we want.
	checkBar(t, strings.ReplaceAll(string(out), "\r\n", "\n"))
}
