package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestAdviceWorksAsPrinted stops a run of each kind once, while it sends,
// and runs the command its summary gives to send the rest: it must work
// as printed (the same input, results file, --limit; --resume instead of
// --overwrite; stdin given again) and leave every row done.
func TestAdviceWorksAsPrinted(t *testing.T) {
	tests := []struct {
		name  string
		args  func(dir, in string) []string // before the API and tuning flags
		stdin bool
		limit int
	}{
		{"a file", func(_, in string) []string { return []string{in} }, false, 0},
		{"--overwrite", func(_, in string) []string { return []string{"--overwrite", in} }, false, 0},
		{"--limit", func(_, in string) []string { return []string{"--limit=20", in} }, false, 20},
		{"--results and names a shell would split", func(dir, in string) []string {
			return []string{"--results", filepath.Join(dir, "it's my results.csv"), "--summary-json", filepath.Join(dir, "s $x.json"), in}
		}, false, 0},
		{"stdin", func(dir, _ string) []string { return []string{"--results", filepath.Join(dir, "r.csv"), "-"} }, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in, _ := opsInput(t, 40)
			spaced := filepath.Join(dir, "-in put.csv") // a leading dash, a space
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(spaced, data, 0o644); err != nil {
				t.Fatal(err)
			}
			sigs := make(chan os.Signal, 1)
			var stopAt atomic.Int64
			stopAt.Store(3)
			// A little latency: the stop must come before the run has
			// sent every row, however loaded the machine.
			srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 20 * time.Millisecond, Fail: func(n int, _ []kapturetest.Item) *kapturetest.Fault {
				if int64(n) == stopAt.Load() {
					sigs <- syscall.SIGINT // while the request is in flight
				}
				return nil
			}})
			args := append([]string{"run", "--base-url", srv.URL, "--rate", "0", "--batch-size", "1", "--workers", "1", "--quiet"}, tc.args(dir, spaced)...)
			first := runAdvice(t, sigs, data, tc.stdin, args)
			if first.code != exitInterrupted {
				t.Fatalf("first run: exit %d, want 130\n%s", first.code, first.stderr)
			}
			cmd := adviceCommand(t, first.stderr)
			if strings.Contains(cmd, kapturetest.DefaultToken) {
				t.Errorf("the advice holds the token: %s", cmd)
			}
			words := shellWords(t, cmd)
			if words[0] != "kapture-bulk" {
				t.Fatalf("advice %q does not start with kapture-bulk", cmd)
			}
			stopAt.Store(-1)
			next := runAdvice(t, nil, data, tc.stdin, words[1:])
			if next.code != exitOK {
				t.Fatalf("%s: exit %d, want 0\n%s", cmd, next.code, next.stderr)
			}
			want := 40
			if tc.limit > 0 {
				want = tc.limit
			}
			if got := len(srv.States()); got != want {
				t.Errorf("%d tickets updated after the advice, want %d", got, want)
			}
		})
	}
}

// runAdvice runs args in process, with data on stdin if asked.
func runAdvice(t *testing.T, sigs <-chan os.Signal, data []byte, stdin bool, args []string) opsRun {
	t.Helper()
	var in io.Reader = strings.NewReader("")
	if stdin {
		in = bytes.NewReader(data)
	}
	return runCLI(t, kapturetest.DefaultToken, in, false, sigs, args...)
}

// adviceCommand returns the command of the summary's "next:" line.
func adviceCommand(t *testing.T, stderr string) string {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "next: "); ok {
			cmd, _, ok := strings.Cut(rest, " sends them")
			if !ok {
				t.Fatalf("advice %q says no command", rest)
			}
			return cmd
		}
	}
	t.Fatalf("no advice in the summary:\n%s", stderr)
	return ""
}

// shellWords splits cmd as a POSIX shell splits words made of plain
// characters, single-quoted strings and \' (what shellQuote writes).
func shellWords(t *testing.T, cmd string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	in, quoted, escaped := false, false, false
	for _, r := range cmd {
		switch {
		case escaped:
			w.WriteRune(r)
			escaped = false
		case !quoted && r == '\\':
			escaped, in = true, true
		case quoted && r == '\'':
			quoted = false
		case quoted:
			w.WriteRune(r)
		case r == '\'':
			quoted, in = true, true
		case r == ' ':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		case strings.ContainsRune("\"$`*?[]#~&;|<>(){}!", r):
			t.Fatalf("%q: unquoted %q", cmd, r)
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if quoted || escaped {
		t.Fatalf("%q: an unterminated quote", cmd)
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// TestShellQuote: each word comes back whole from the shell itself.
func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"in.csv", "--rate=0", "it's", "a b", "", "$x", "--delimiter=\t", "é.csv", `a\'b"c`} {
		words := shellWords(t, shellQuote(s))
		out, err := exec.Command(sh, "-c", "printf '%s|' "+shellQuote(s)).Output()
		if len(words) != 1 || words[0] != s || err != nil || string(out) != s+"|" {
			t.Errorf("shellQuote(%q) = %s, read back as %q, by sh as %q (%v)", s, shellQuote(s), words, out, err)
		}
	}
	if got := fmt.Sprint(shellQuote("a/b.csv")); got != "a/b.csv" {
		t.Errorf("shellQuote(a/b.csv) = %s, want it as it is", got)
	}
}
