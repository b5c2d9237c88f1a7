package main

// Tests of the built binary as an operator runs it: its version, its
// output on a pipe, and its bar under a pseudo-terminal.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// The built binary

func TestBinaryVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(binary(t), "version").CombinedOutput()
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
	cmd := exec.Command(binary(t), args...)
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
	t.Parallel()
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
	t.Parallel()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script command (util-linux) to make a pseudo-terminal")
	}
	srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 50 * time.Millisecond})
	in, _ := opsInput(t, 30)
	shq := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	command := strings.Join([]string{shq(binary(t)), "run", "--base-url", shq(srv.URL),
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
