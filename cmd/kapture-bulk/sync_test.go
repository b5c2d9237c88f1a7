package main

// In-process tests of a sync run's refusals and of the state commands:
// the whole command through cli, against in-process fakes.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// syncCLI runs the command args in process, with the e2e token unless
// noToken, and returns its exit code, stdout and stderr.
func syncCLI(t *testing.T, noToken bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "KAPTURE_API_TOKEN" && !noToken {
			return e2eToken
		}
		return ""
	}
	code := cli(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: getenv})
	return code, stdout.String(), stderr.String()
}

func syncRunArgs(api, state, in string) []string {
	return []string{"run", "--quiet", "--base-url", api, "--rate", "0", "--sync-state", state, in}
}

// syncInput writes an export of n tickets into dir.
func syncInput(t *testing.T, dir string, n int, ids ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("ticket_id,sub_status\n")
	for i := range n {
		fmt.Fprintf(&b, "%s,P\n", ticket(i))
	}
	for _, id := range ids {
		fmt.Fprintf(&b, "%s,P\n", id)
	}
	in := filepath.Join(dir, "export.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestSyncStateOfAnotherAPI: a state used with another API's address is
// refused (exit 2), saying which API it belongs to and how to start one
// for this API, and that API gets no request; the same API spelt with
// another case and a trailing slash is the same API.
func TestSyncStateOfAnotherAPI(t *testing.T) {
	a, b := newFake(t, kapturetest.Options{}), newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	state, in := filepath.Join(dir, "job.state"), syncInput(t, dir, 20)
	if code, _, stderr := syncCLI(t, false, syncRunArgs(a.URL, state, in)...); code != 0 {
		t.Fatalf("night 1: exit %d\n%s", code, stderr)
	}
	same := strings.Replace(a.URL, "http://127.0.0.1", "HTTP://127.0.0.1", 1) + "/"
	if code, _, stderr := syncCLI(t, false, syncRunArgs(same, state, in)...); code != 0 {
		t.Errorf("the same API as %s: exit %d\n%s", same, code, stderr)
	}
	code, _, stderr := syncCLI(t, false, syncRunArgs(b.URL, state, in)...)
	if code != 2 {
		t.Errorf("another API: exit %d, want 2\n%s", code, stderr)
	}
	for _, want := range []string{state, "belongs to the API " + a.URL, "new --sync-state path"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("no %q in\n%s", want, stderr)
		}
	}
	if n := b.Stats().Requests; n != 0 {
		t.Errorf("the other API got %d requests", n)
	}
}

// TestSyncRefusedRunLeavesNoResultsFolder: a sync run refused before it
// opens its results file (no token, another API) creates no results
// folder beside the state.
func TestSyncRefusedRunLeavesNoResultsFolder(t *testing.T) {
	a := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	state, in := filepath.Join(dir, "job.state"), syncInput(t, dir, 3)
	if code, _, stderr := syncCLI(t, true, syncRunArgs(a.URL, state, in)...); code != 2 || !strings.Contains(stderr, "no API token") {
		t.Errorf("without a token: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "results")); !os.IsNotExist(err) {
		t.Errorf("a refused run made the results folder: %v", err)
	}
	if code, _, stderr := syncCLI(t, false, syncRunArgs(a.URL, state, in)...); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// The results file, and the key-name pairs its replies showed.
	if got, err := filepath.Glob(filepath.Join(dir, "results", "*.results.csv")); err != nil || len(got) != 1 {
		t.Errorf("after a run: %v, results files %q; want its results file", err, got)
	}
}

// TestSyncDamagedStateRefused: a damaged state is refused by a run and by
// every state command, exit 2, naming the file and the way out; never a
// crash.
func TestSyncDamagedStateRefused(t *testing.T) {
	a := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	state, in := filepath.Join(dir, "job.state"), syncInput(t, dir, 400)
	if code, _, stderr := syncCLI(t, false, syncRunArgs(a.URL, state, in)...); code != 0 {
		t.Fatalf("night 1: exit %d\n%s", code, stderr)
	}
	good, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		name string
		bad  func([]byte) []byte
	}{
		{"cut short", func(b []byte) []byte { return b[:len(b)/2] }},
		// Every page that holds the ticket: an older copy of its leaf
		// may lie in a freed page, which nothing reads.
		{"a page of tickets zeroed", func(b []byte) []byte {
			key := []byte(ticket(200))
			for i := bytes.Index(b, key); i >= 0; i = bytes.Index(b, key) {
				p := i / 4096
				clear(b[p*4096 : (p+1)*4096])
			}
			return b
		}},
		{"bytes changed", func(b []byte) []byte {
			for o := 4096 * 2; o < len(b); o += 1999 {
				b[o] ^= 0x5a
			}
			return b
		}},
	} {
		t.Run(d.name, func(t *testing.T) {
			if err := os.WriteFile(state, d.bad(bytes.Clone(good)), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				syncRunArgs(a.URL, state, in),
				{"state", "stats", "--sync-state", state},
				{"state", "export", "--sync-state", state},
				{"state", "show", "--sync-state", state, ticket(1)},
			} {
				code, _, stderr := syncCLI(t, false, args...)
				if code != 2 || !strings.Contains(stderr, state) || !strings.Contains(stderr, "damaged") || !strings.Contains(stderr, "--full") {
					t.Errorf("%s: exit %d, want 2 naming the file and the way out:\n%s", args[:2], code, stderr)
				}
			}
		})
	}
}

// TestStateExportNeutralisesFormulas: a ticket id a spreadsheet would run
// (--ticket-id-pattern lets any through) is exported as the results CSV
// writes it.
func TestStateExportNeutralisesFormulas(t *testing.T) {
	a := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	state, in := filepath.Join(dir, "job.state"), syncInput(t, dir, 1, "=1+1", "@SUM(A1)")
	args := append(syncRunArgs(a.URL, state, in), "--ticket-id-pattern", ".+")
	if code, _, stderr := syncCLI(t, false, args...); code != 1 {
		t.Fatalf("exit %d, want 1 (the API knows no such tickets)\n%s", code, stderr)
	}
	code, out, stderr := syncCLI(t, false, "state", "export", "--sync-state", state)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if c := line[0]; c == '=' || c == '@' || c == '+' || c == '-' {
			t.Errorf("exported raw: %q", line)
		}
	}
	if !strings.Contains(out, "'=1+1,") || !strings.Contains(out, "'@SUM(A1),") {
		t.Errorf("export:\n%s", out)
	}
}
