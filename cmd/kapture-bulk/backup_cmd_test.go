package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// A fresh run (--overwrite included) refuses a --backup that holds
// pre-images of its tickets: exit 2 before anything is sent, naming the
// file, how many, and the way out; --resume goes on with it.
func TestRunRefusesAnotherRunsBackup(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 3, "CL")
	backup := filepath.Join(dir, "bk.csv")
	if r := kb(t, srv, "run", "--backup", backup, in); r.code != exitOK {
		t.Fatalf("job 1: exit %d\n%s", r.code, r.stderr)
	}
	before, requests := fileText(t, backup), srv.Stats().Requests
	readInput(t, dir, 3, "RS")
	r := kb(t, srv, "run", "--backup", backup, "--overwrite", in)
	if r.code != exitUsage || !strings.Contains(r.stderr, backup) || !strings.Contains(r.stderr, "3 of this job's tickets") ||
		!strings.Contains(r.stderr, "move it aside or name a new file; --resume goes on with it") {
		t.Errorf("job 2 with job 1's backup: exit %d\n%s; want 2, naming the file, 3 tickets and the way out", r.code, r.stderr)
	}
	if fileText(t, backup) != before || srv.Stats().Requests != requests {
		t.Error("the refused run changed the backup or sent something")
	}
}

// A sync night may reuse its backup (a stopped night run again goes on
// with it): it says in its summary, text and JSON, how many tickets kept
// a pre-image taken before it.
func TestSyncNightCountsOlderPreImages(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	state, backup, sum := filepath.Join(dir, "state.db"), filepath.Join(dir, "bk.csv"), filepath.Join(dir, "sum.json")
	in, _ := readInput(t, dir, 2, "CL")
	night := func(n string) opsRun {
		return kb(t, srv, "run", "--sync-state", state, "--backup", backup, "--results", filepath.Join(dir, n+".results.csv"), "--summary-json", sum, in)
	}
	if r := night("1"); r.code != exitOK || strings.Contains(r.stdout+r.stderr, "taken before this run") {
		t.Fatalf("night 1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	readInput(t, dir, 3, "RS")
	r := night("2")
	if r.code != exitOK || !strings.Contains(r.stdout+r.stderr, "backup: 2 tickets keep a pre-image taken before this run") {
		t.Errorf("night 2: exit %d\n%s%s\nwant 0 and the 2 tickets whose pre-image night 1 took", r.code, r.stdout, r.stderr)
	}
	var s struct {
		BackupOlder *int64 `json:"backup_older"`
	}
	if b, err := os.ReadFile(sum); err != nil || json.Unmarshal(b, &s) != nil || s.BackupOlder == nil || *s.BackupOlder != 2 {
		t.Errorf("summary JSON: %v %+v; want backup_older 2", err, s)
	}
}
