package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
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
		{append(run, "--summary-json", filepath.Join(missing, "s.json"), in), "--summary-json " + filepath.Join(missing, "s.json") + ": its folder does not exist"},
		{append(run, "--metrics-file", filepath.Join(missing, "m.prom"), in), "--metrics-file " + filepath.Join(missing, "m.prom") + ": its folder does not exist"},
		{[]string{"report", missing}, missing + ": no such file"},
		{[]string{"report", "--input", in, "--failed-rows", filepath.Join(missing, "f.csv"), in}, "--failed-rows " + filepath.Join(missing, "f.csv") + ": its folder"},
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
