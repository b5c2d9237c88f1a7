//go:build unix

package main

// The docs run as written: each file's runnable blocks, joined in order
// into one sh script, run against the mock in a temporary folder that
// holds a copy of samples/, the built binary on PATH as kapture-bulk.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// docBudget is how long a file's blocks may take, under -race on a busy
// machine; the convention asks for about 20 s.
const docBudget = 60 * time.Second

func TestDocsRunAsWritten(t *testing.T) {
	t.Parallel()
	for _, name := range docFiles(t) {
		script, cmds := docScript(readDoc(t, name))
		switch {
		case len(cmds) == 0 && name == "README.md":
			t.Error("README.md runs no kapture-bulk command: the rehearsal must be there, in a runnable ```sh block")
			continue
		case len(cmds) == 0:
			continue // no runnable block, or none that runs kapture-bulk
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := runDoc(t, script, cmds)
			if check := docChecks[name]; check != nil && !t.Failed() {
				check(t, dir)
			}
		})
	}
}

// docChecks check what a file's blocks leave in their folder, beyond the
// exit codes: what the README's walkthrough promises.
var docChecks = map[string]func(t *testing.T, dir string){
	"README.md": func(t *testing.T, dir string) {
		var sum map[string]any
		b, err := os.ReadFile(filepath.Join(dir, "march-closures.summary.json"))
		if err == nil {
			err = json.Unmarshal(b, &sum)
		}
		// 21 rows through, by this run or the canary it resumed.
		done, _ := sum["success"].(float64)
		skipped, _ := sum["skipped_resume"].(float64)
		if err != nil || sum["outcome"] != "finished" || done+skipped != 21 || sum["failed"] != 2.0 || sum["invalid"] != 1.0 {
			t.Errorf("the full run's summary JSON is not 21 rows through (success and skipped_resume), 2 failed, 1 invalid: %v\n%s", err, b)
		}
		failed, err := os.ReadFile(filepath.Join(dir, "rehearsal", "march-closures.failed.csv"))
		if err != nil || !strings.HasPrefix(string(failed), "\ufeffTicket ID,Sub Status,Comment,Agent Notes,error\n") || strings.Count(string(failed), "\n") != 4 {
			t.Errorf("the rehearsal's march-closures.failed.csv is not the 3 rows to fix with an error column: %v\n%s", err, failed)
		}
	},
}

// runDoc runs a file's script in a new folder and checks every command's
// exit code; it returns the folder.
func runDoc(t *testing.T, script string, cmds []docCmd) string {
	dir := t.TempDir()
	start := time.Now()
	problems, out := docProblems(t, dir, script, cmds)
	took := time.Since(start).Round(100 * time.Millisecond)
	t.Logf("commands: %d, in %v", len(cmds), took)
	for _, p := range problems {
		t.Error(p)
	}
	if took > docBudget {
		t.Errorf("the blocks took %v, more than %v: use smaller inputs, latencies, a higher --rate", took, docBudget)
	}
	if len(problems) > 0 {
		t.Logf("output (### FILE:LINE marks each checked command):\n%s", out)
	}
	return dir
}

// shellError is a line the shell or a common tool writes when a command
// of the blocks other than kapture-bulk fails: no set -e (the convention),
// so it is caught here.
var shellError = regexp.MustCompile(`(?m)^(sh: \d+: .*|(cat|cp|mv|rm|mkdir|chmod|sed|grep|head|tail|sort|cut|tr|wc|ls|printf|make): .*)$`)

// docProblems runs a file's script in dir with samples/, against a mock
// of its own, and returns each command that did not exit as its
// annotation says, each error of another command, and the output.
func docProblems(t *testing.T, dir, script string, cmds []docCmd) (problems []string, out string) {
	t.Helper()
	copySamples(t, dir)
	script = strings.ReplaceAll(script, "127.0.0.1:8080", freeAddr(t))
	codes, out := shDoc(t, dir, script, "KAPTURE_BASE_URL="+startMock(t), "KAPTURE_API_TOKEN=rehearsal")
	for _, c := range cmds {
		switch got, ok := codes[c.where]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: %s\n\tdid not run", c.where, c.text))
		case slices.ContainsFunc(got, func(code int) bool { return code != c.want }):
			problems = append(problems, fmt.Sprintf("%s: %s\n\texited %v, want %d", c.where, c.text, got, c.want))
		}
	}
	for _, e := range shellError.FindAllString(out, -1) {
		problems = append(problems, "a command of the blocks failed: "+e)
	}
	return problems, out
}

// shDoc runs script with sh in dir, env added, kapture-bulk on PATH: a
// wrapper of the built binary that records the exit code of each command
// the script tagged KB_AT=FILE:LINE, and writes "### FILE:LINE" into the
// output before it. An untagged kapture-bulk (in the background) is the
// binary itself, so that $! is its pid. The script's process group is
// killed when it ends (a mock left running included). It returns the
// codes by FILE:LINE and the output, stdout and stderr as interleaved.
func shDoc(t *testing.T, dir, script string, env ...string) (map[string][]int, string) {
	t.Helper()
	tmp := t.TempDir()
	bin, codesFile, races := filepath.Join(tmp, "bin"), filepath.Join(tmp, "codes"), filepath.Join(tmp, "race")
	wrapper := fmt.Sprintf(`#!/bin/sh
[ -n "${KB_AT:-}" ] || exec %[1]s "$@"
at=$KB_AT
unset KB_AT
printf '### %%s\n' "$at" 2>/dev/null >&3
%[1]s "$@"
code=$?
printf '%%s %%d\n' "$at" "$code" >>%[2]s
exit "$code"
`, shQuote(binary(t)), shQuote(codesFile))
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "kapture-bulk"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	copied := make(chan struct{})
	go func() { // until every holder of w (a background mock too) is gone
		defer close(copied)
		_, _ = io.Copy(&out, r)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*docBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), append([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + dir, "GORACE=halt_on_error=1 exitcode=66 log_path=" + races}, env...)...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = w, w, []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the script left running
	}
	w.Close()
	select { // a process that left the group may hold w: not for long
	case <-copied:
	case <-time.After(10 * time.Second):
		t.Errorf("a process the blocks started outlived them, out of their process group")
		r.Close() // ends the copy
		<-copied
	}
	r.Close()
	if ctx.Err() != nil { // the codes so far say what ran; the last mark, what hung
		marks := regexp.MustCompile(`(?m)^### (\S+)$`).FindAllStringSubmatch(out.String(), -1)
		last := "none"
		if len(marks) > 0 {
			last = marks[len(marks)-1][1]
		}
		t.Errorf("sh: %v: the blocks did not end in %v; the last command started: %s", err, 2*docBudget, last)
	}
	if reports, _ := filepath.Glob(races + "*"); len(reports) > 0 || strings.Contains(out.String(), "WARNING: DATA RACE") {
		var b []byte
		for _, r := range reports {
			rb, _ := os.ReadFile(r)
			b = append(b, rb...)
		}
		t.Fatalf("data race:\n%s%s", b, out.String())
	}
	return parseCodes(t, codesFile), out.String()
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// parseCodes reads the wrapper's "FILE:LINE CODE" lines: a command run
// more than once (in a loop) has a code for each time.
func parseCodes(t *testing.T, path string) map[string][]int {
	t.Helper()
	codes := map[string][]int{}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return codes
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		at, code, _ := strings.Cut(l, " ")
		n, err := strconv.Atoi(code)
		if err != nil {
			t.Fatalf("codes: %q: %v", l, err)
		}
		codes[at] = append(codes[at], n)
	}
	return codes
}

// copySamples copies the repository's samples/ into dir/samples.
func copySamples(t *testing.T, dir string) {
	t.Helper()
	if err := os.CopyFS(filepath.Join(dir, "samples"), os.DirFS(filepath.Join(repoRoot, "samples"))); err != nil {
		t.Fatal(err)
	}
}

// handedOut are the ports freeAddr gave: not twice in one test binary.
var handedOut sync.Map

// freeAddr is a loopback address no one listens on, for a block's own
// mock in place of 127.0.0.1:8080 (which may be taken here). Its port is
// below Linux's ephemeral range (32768 up), so that between this check and
// the block's mock binding it, no port-0 listener (the other files'
// mocks) nor a connection's source port can take it.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		return ln.Addr().String()
	}
	t.Fatal("no free port from 20000 to 31999 in 100 tries")
	return ""
}

// startMock starts the binary's mock on a free port and returns its URL,
// read from the line it prints once listening.
func startMock(t *testing.T) string {
	t.Helper()
	p := exec.Command(binary(t), "mock", "--addr", "127.0.0.1:0")
	p.Env = append(cleanEnv(), "KAPTURE_API_TOKEN=rehearsal")
	pipe, err := p.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(pipe)
	line, err := r.ReadString('\n')
	drained := make(chan struct{})
	go func() { // reads the mock's stderr until it ends, at the cleanup's kill
		defer close(drained)
		_, _ = r.WriteTo(io.Discard)
	}()
	t.Cleanup(func() {
		_ = p.Process.Kill()
		<-drained // every read of the pipe done before Wait closes it
		_ = p.Wait()
	})
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("mock did not start: %q, %v", line, err)
	}
	return m[1]
}

// The harness itself: a wrong exit annotation and a command that never
// ran are reported; a command in a pipeline or a loop is checked by its
// own code; a block's mock on 127.0.0.1:8080 is moved to a free port and
// $! is its pid; samples/ and the harness's mock are there.
func TestDocHarnessCatches(t *testing.T) {
	t.Parallel()
	script, cmds := docScript(parseMarkdown("h.md", fenced(`'''sh
kapture-bulk version
kapture-bulk validate samples/status-migration.csv   # exit 1: 2 invalid rows
kapture-bulk validate nosuch.csv                     # wrong on purpose: it exits 2
kapture-bulk validate nosuch.csv | cat               # exit 2
for f in a b; do
  kapture-bulk validate $f.csv   # exit 2
done
if false; then
  kapture-bulk version
fi
kapture-bulk probe 713516551148 >/dev/null
kapture-bulk mock --addr 127.0.0.1:8080 &
sleep 1
KAPTURE_BASE_URL=http://127.0.0.1:8080 kapture-bulk probe 713516551149 >/dev/null
kill $!
wait
cat nosuch.txt
'''
`)))
	problems, out := docProblems(t, t.TempDir(), script, cmds)
	want := []string{
		"h.md:4: kapture-bulk validate nosuch.csv\n\texited [2], want 0",
		"h.md:10: kapture-bulk version\n\tdid not run",
		"a command of the blocks failed: cat: nosuch.txt: No such file or directory",
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant\n%s\noutput:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"), out)
	}
	if !strings.Contains(out, "mock stopped") || !strings.Contains(out, "### h.md:15\n") {
		t.Errorf("the block's mock did not stop at kill $!, or the output has no marks:\n%s", out)
	}
}
