package main

// In-process tests of a sync run's canary night: the whole command
// through cli, against in-process fakes.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

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
