//go:build unix

package main

// The README's walk-through and rehearsal run as written: this test takes
// their shell blocks out of README.md and runs them with sh, the built
// binary on PATH, against the mock, in a temporary folder.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock returns the first ```sh block under the README heading.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q", heading)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	block, _, ok2 := strings.Cut(block, "\n```")
	if !ok || !ok2 {
		t.Fatalf("no sh block under %q", heading)
	}
	return block
}

// instrument prepares a README block for sh: it drops the lines skip
// matches, and after every kapture-bulk command in the foreground it
// records the exit code and the command in the file $KB_CODES. The
// commands themselves are left as written.
func instrument(block string, skip *regexp.Regexp) string {
	var out []string
	lines := strings.Split(block, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		switch cmd := strings.TrimSpace(strings.SplitN(line, " #", 2)[0]); {
		case skip != nil && skip.MatchString(line):
			out = append(out, "# (skipped by the test) "+line)
		case strings.HasPrefix(cmd, "kapture-bulk ") && !strings.HasSuffix(cmd, "&"):
			out = append(out, fmt.Sprintf("%s; echo \"$? %s\" >>\"$KB_CODES\"", cmd, strings.ReplaceAll(cmd, `"`, `'`)))
		default:
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// sh runs script in dir with the binary first on PATH and env added, in a
// process group of its own that is killed when it ends (a mock left in the
// background included). It returns the commands' exit codes and stderr.
func sh(t *testing.T, dir, script string, env ...string) (codes []string, stderr string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.Symlink(binary(t), filepath.Join(bin, "kapture-bulk")); err != nil {
		t.Fatal(err)
	}
	codesFile := filepath.Join(t.TempDir(), "codes")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), append([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"KB_CODES=" + codesFile, "GORACE=halt_on_error=1 exitcode=66"}, env...)...)
	var errb syncBuffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the script left running
	}
	if err != nil {
		t.Fatalf("sh: %v\nscript:\n%s\noutput:\n%s", err, script, errb.String())
	}
	if strings.Contains(errb.String(), "WARNING: DATA RACE") {
		t.Fatalf("data race:\n%s", errb.String())
	}
	b, err := os.ReadFile(codesFile)
	if err != nil {
		t.Fatalf("no exit codes recorded: %v\noutput:\n%s", err, errb.String())
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n"), errb.String()
}

// marchClosures is the walk-through's export: 24 rows, 2 of them for
// tickets the mock does not know, 1 whose ticket id Excel mangled.
func marchClosures(t *testing.T, dir string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("Ticket ID,Sub Status,Comment,Agent Notes\n")
	for i := 1; i <= 24; i++ {
		id := fmt.Sprintf("7135165511%02d", i)
		switch i {
		case 7, 15:
			id = fmt.Sprintf("9999000001%02d", i)
		case 11:
			id = "7.13517E+11"
		}
		fmt.Fprintf(&b, "%s,CL,closed in March,row %d\n", id, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "march-closures.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestREADMEWalkThroughRunsAsWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marchClosures(t, dir)

	// The tenant's two lines are replaced by the mock's address and token.
	tenant := regexp.MustCompile(`^export KAPTURE_(SUBDOMAIN|API_TOKEN)=`)
	script := instrument(readmeBlock(t, "## A first migration, step by step"), tenant)
	codes, out := sh(t, dir, script, "KAPTURE_BASE_URL="+startMock(t), "KAPTURE_API_TOKEN=rehearsal")
	// Every command was understood and ran to its end: 0, or 1 for the
	// rows that are invalid or that the mock does not know.
	want := []string{"1 kapture-bulk validate", "1 kapture-bulk run --dry-run", "1 kapture-bulk run --limit 20",
		"1 kapture-bulk run --summary-json", "1 kapture-bulk run --resume --summary-json", "1 kapture-bulk report",
		"1 kapture-bulk run --resume march-closures.failed.csv", "1 kapture-bulk report --input march-closures.failed.csv"}
	if len(codes) != len(want) {
		t.Fatalf("%d commands ran, want %d: %q\n%s", len(codes), len(want), codes, out)
	}
	for i, w := range want {
		if !strings.HasPrefix(codes[i], w) {
			t.Errorf("command %d: %q, want %q…\n%s", i+1, codes[i], w, out)
		}
	}
	var sum map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "march-closures.summary.json"))
	if err == nil {
		err = json.Unmarshal(b, &sum)
	}
	if err != nil || sum["outcome"] != "finished" || sum["skipped_resume"] != 21.0 || sum["failed"] != 2.0 {
		t.Errorf("the summary JSON is not the resume's (21 skipped, 2 failed): %v %s", err, b)
	}
	failed, err := os.ReadFile(filepath.Join(dir, "march-closures.failed.csv"))
	if err != nil || !strings.HasPrefix(string(failed), "\ufeffTicket ID,Sub Status,Comment,Agent Notes,error\n") || strings.Count(string(failed), "\n") != 4 {
		t.Errorf("march-closures.failed.csv: %v\n%s", err, failed)
	}
}

func TestREADMERehearsalRunsAsWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marchClosures(t, dir)
	// As written but for the port: 8080 may be taken on this machine.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	block := strings.ReplaceAll(readmeBlock(t, "## Rehearsal against the mock"), "127.0.0.1:8080", addr)
	codes, out := sh(t, dir, instrument(block, nil))
	if len(codes) != 2 || !strings.HasPrefix(codes[0], "1 kapture-bulk run --overwrite") || !strings.HasPrefix(codes[1], "1 kapture-bulk report") {
		t.Errorf("codes %q, want the run and the report each exiting 1 (unknown tickets)\n%s", codes, out)
	}
	if !strings.Contains(out, "mock stopped. What it received:") {
		t.Errorf("the mock did not stop and report:\n%s", out)
	}
	if !strings.Contains(out, "24 rows: 21 success, 2 failed, 1 invalid, 0 not sent") {
		t.Errorf("the report does not say 21 rows went through:\n%s", out)
	}
}
