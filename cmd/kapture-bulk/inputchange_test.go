package main

// In-process tests of a run whose input changes under it and of a sync
// run's canary night: the whole command through cli, against in-process
// fakes.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestInputCutWhileSending: an input cut short in place while the run
// sends ends it with exit 3, outcome aborted, saying how many rows it read
// of how many, and what sends the rest once the input is whole again.
func TestInputCutWhileSending(t *testing.T) {
	const rows = 3000
	pad := strings.Repeat("x", 200) // a column not sent: past what the reader holds ahead
	for _, tt := range []struct {
		name, rest string
		sync       bool
	}{
		{name: "plain", rest: "kapture-bulk run --resume"},
		{name: "sync", rest: "the next --sync-state run sends them", sync: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.csv")
			var b strings.Builder
			b.WriteString("ticket_id,sub_status,note\n")
			for i := range rows {
				fmt.Fprintf(&b, "7135166%05d,CL,%s\n", i, pad)
			}
			if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			srv := newFake(t, kapturetest.Options{Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
				once.Do(func() {
					if err := os.Truncate(in, 0); err != nil {
						t.Error(err)
					}
				})
				return nil
			}})
			sj := filepath.Join(dir, "s.json")
			args := []string{"run", "--quiet", "--base-url", srv.URL, "--rate", "0", "--summary-json", sj, "--results", filepath.Join(dir, "r.csv")}
			if tt.sync {
				args = append(args, "--sync-state", filepath.Join(dir, "job.state"))
			}
			r := runOps(t, e2eToken, false, nil, append(args, in)...)
			if r.code != 3 {
				t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
			}
			for _, want := range []string{"the input changed while it was read", fmt.Sprintf("found %d", rows), "once the input is whole again", tt.rest} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("no %q in\n%s", want, r.stderr)
				}
			}
			checkSummaryJSON(t, readSummaryJSON(t, sj), map[string]any{"outcome": "aborted", "exit_code": 3})
		})
	}
}

// TestSyncCanaryNight: a sync night with --limit does not move a ticket
// whose row past the limit would move it on: its row within the limit is
// held back, the summary says so, and the run exits 1.
func TestSyncCanaryNight(t *testing.T) {
	srv := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	state, in := filepath.Join(dir, "job.state"), filepath.Join(dir, "export.csv")
	const one = "713516000001"
	night := func(last string, extra ...string) opsRun {
		t.Helper()
		csv := fmt.Sprintf("ticket_id,sub_status\n%s,P\n713516000002,P\n%s,%s\n", one, one, last)
		if err := os.WriteFile(in, []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		return runOps(t, e2eToken, false, nil, append(syncRunArgs(srv.URL, state, in), extra...)...)
	}
	if r := night("CL"); r.code != 0 {
		t.Fatalf("night 1: exit %d\n%s", r.code, r.stderr)
	}
	updates := len(srv.History(one))
	r := night("PS", "--limit", "1")
	if r.code != 1 {
		t.Errorf("canary night: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if want := "1 held back (their ticket has a later row past --limit"; !strings.Contains(r.stderr, want) {
		t.Errorf("no %q in\n%s", want, r.stderr)
	}
	if got, _ := srv.State(one); len(srv.History(one)) != updates || got["sub_status"] != "CL" {
		t.Errorf("ticket %s was moved by the canary night: holds %v", one, got)
	}
}
