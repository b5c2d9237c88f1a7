package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// A file that cannot be read or written is one sentence that names it,
// without the system call the packages below made ("stat x: no such
// file or directory").
func TestFileErrorsAreOneSentenceNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeTestFile(t, in, "ticket_id,sub_status\n713516551148,CL\n")
	missing := filepath.Join(dir, "missing")
	run := []string{"run", "--base-url", "http://127.0.0.1:1"}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"state", "stats", "--sync-state", missing}, "--sync-state " + missing + ": no such file"},
		{[]string{"state", "export", "--sync-state", missing}, "--sync-state " + missing + ": no such file"},
		{[]string{"validate", missing}, "input " + missing + ": no such file"},
		{append(run, missing), "input " + missing + ": no such file"},
		{append(run, "--token-file", missing, in), missing + ": no such file"},
		{append(run, "--ca-cert", missing, in), "--ca-cert " + missing + ": no such file"},
		{[]string{"probe", "--base-url", "http://127.0.0.1:1", "--ca-cert", missing, "713516551190"}, "--ca-cert " + missing + ": no such file"},
		{append(run, "--summary-json", filepath.Join(missing, "s.json"), in), "--summary-json " + filepath.Join(missing, "s.json") + ": its folder does not exist"},
		{append(run, "--metrics-file", filepath.Join(missing, "m.prom"), in), "--metrics-file " + filepath.Join(missing, "m.prom") + ": its folder does not exist"},
		{[]string{"report", missing}, missing + ": no such file"},
		{[]string{"report", "--input", in, "--failed-rows", filepath.Join(missing, "f.csv"), in}, "--failed-rows " + filepath.Join(missing, "f.csv") + ": its folder"},
		{[]string{"undo", "--snapshot", missing, "--out", filepath.Join(dir, "o.csv")}, "--snapshot " + missing + ": no such file"},
		{[]string{"undo", "--snapshot", dir, "--out", filepath.Join(dir, "o.csv")}, "--snapshot " + dir + ": not a regular file"},
		{[]string{"undo", "--snapshot", in, "--results", missing, "--out", filepath.Join(dir, "o.csv")}, "--results " + missing + ": no such file"},
		{[]string{"undo", "--snapshot", in, "--names", missing, "--out", filepath.Join(dir, "o.csv")}, "--names " + missing + ": no such file"},
		{[]string{"verify", "--base-url", "http://127.0.0.1:1", missing}, "input " + missing + ": no such file"},
		{[]string{"verify", "--base-url", "http://127.0.0.1:1", "--results", missing, in}, "--results " + missing + ": no such file"},
		{[]string{"verify", "--base-url", "http://127.0.0.1:1", "--names", missing, in}, "--names " + missing + ": no such file"},
		{[]string{"snapshot", "--base-url", "http://127.0.0.1:1", "--out", filepath.Join(dir, "s.csv"), missing}, "input " + missing + ": no such file"},
	} {
		t.Run(strings.Join(tc.args[:1], " ")+" "+tc.says, func(t *testing.T) {
			r := runOps(t, kapturetest.DefaultToken, false, nil, tc.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want 2", r.code)
			}
			msg := strings.TrimSpace(r.stderr)
			if strings.Count(msg, "\n") > 0 || !strings.Contains(msg, tc.says) || regexp.MustCompile(`\b(stat|open|lstat) /`).MatchString(msg) {
				t.Errorf("stderr %q: want one line saying %q, without the system call", msg, tc.says)
			}
		})
	}
}

// A file a command may not read is exit 2 (a file to mend), never 3 (try
// later: a wrapper that retries on 3 would retry for ever), in one line
// naming it as its flag does: every file every command reads.
func TestUnreadableFilesAreExit2(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a file of mode 0000")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeTestFile(t, in, "ticket_id,sub_status\n713516551190,CL\n")
	snapshot := filepath.Join(dir, "s.csv")
	writeTestFile(t, snapshot, "ticket_id,found,status,status_name,sub_status,sub_status_name,queue,queue_name,disposition,fetched_at,api\n"+
		"713516551190,true,C,Complete,CL,Closed,,,,2026-12-07T04:47:37.281Z,http://127.0.0.1:1\n")
	results := filepath.Join(dir, "r.csv")
	writeTestFile(t, results, writer.Header+"\n")
	shut := filepath.Join(dir, "shut.csv")
	writeTestFile(t, shut, "ticket_id,sub_status\n713516551190,CL\n")
	if err := os.Chmod(shut, 0); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.csv")
	api := []string{"--base-url", "http://127.0.0.1:1"}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"undo", "--snapshot", shut, "--out", out}, "--snapshot " + shut},
		{[]string{"undo", "--snapshot", snapshot, "--results", shut, "--out", out}, "--results " + shut},
		{[]string{"undo", "--snapshot", snapshot, "--names", shut, "--out", out}, "--names " + shut},
		{slices.Concat([]string{"verify"}, api, []string{shut}), "input " + shut},
		{slices.Concat([]string{"verify"}, api, []string{"--results", shut, in}), "--results " + shut},
		{slices.Concat([]string{"verify"}, api, []string{"--names", shut, in}), "--names " + shut},
		{slices.Concat([]string{"snapshot"}, api, []string{"--out", out, shut}), "input " + shut},
		{slices.Concat([]string{"run"}, api, []string{"--names", shut, in}), "--names " + shut},
		{slices.Concat([]string{"run"}, api, []string{"--token-file", shut, in}), "--token-file " + shut},
		{slices.Concat([]string{"run"}, api, []string{"--ca-cert", shut, in}), "--ca-cert " + shut},
		{slices.Concat([]string{"probe"}, api, []string{"--names", shut, "713516551190"}), "--names " + shut},
		{[]string{"validate", shut}, "input " + shut},
		{[]string{"report", shut}, "results " + shut},
		{[]string{"report", "--input", shut, results}, "--input " + shut},
	} {
		t.Run(strings.Join(tc.args[:1], " ")+" "+tc.says, func(t *testing.T) {
			r := runOps(t, kapturetest.DefaultToken, false, nil, tc.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			if msg, want := strings.TrimSpace(r.stderr), "kapture-bulk: "+tc.says+": permission denied"; msg != want {
				t.Errorf("stderr %q, want %q", msg, want)
			}
		})
	}
}
