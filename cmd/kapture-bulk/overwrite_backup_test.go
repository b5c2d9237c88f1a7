package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// A canary run again afresh by following the tool's own refusals
// (break-test 3, B6): --overwrite with a backup, over a results file that
// records changes to tickets of the input, is refused, exit 2, before
// anything is sent; it would have read the canary's own change as the
// pre-image. --resume with the canary's backup goes on.
func TestOverwriteWithBackupRefusesChangedTickets(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, ids := readInput(t, dir, 3, "CL")
	snap := filepath.Join(dir, "job.snap.csv")
	canary := []string{"run", "--limit", "2", "--backup", snap, in}
	if r := kb(t, srv, canary...); r.code != exitOK {
		t.Fatalf("canary: exit %d\n%s", r.code, r.stderr)
	}
	if r := kb(t, srv, canary...); r.code != exitUsage {
		t.Fatalf("canary again: exit %d, want 2 (results exist)\n%s", r.code, r.stderr)
	}
	if r := kb(t, srv, "run", "--overwrite", "--limit", "2", "--backup", snap, in); r.code != exitUsage {
		t.Fatalf("--overwrite --limit 2, the same backup: exit %d, want 2 (a backup is one job's)\n%s", r.code, r.stderr)
	}
	old := filepath.Join(dir, "job.snap.old")
	if err := os.Rename(snap, old); err != nil {
		t.Fatal(err)
	}
	results := fileText(t, filepath.Join(dir, "in.results.csv"))
	want := "in.results.csv records changes to 2 of these tickets (e.g. " + ids[0] + "): their pre-images are in the backup of that run; --resume goes on with it"
	r := kb(t, srv, "run", "--overwrite", "--backup", snap, in)
	if r.code != exitUsage || !strings.Contains(r.stderr, want) {
		t.Errorf("--overwrite, a new backup: exit %d\n%s\nwant 2: %s", r.code, r.stderr, want)
	}
	if h := srv.History(ids[2]); len(h) != 0 {
		t.Errorf("sent: %v", h)
	}
	if got := fileText(t, filepath.Join(dir, "in.results.csv")); got != results {
		t.Errorf("the results file changed:\n%s", got)
	}
	if r := kb(t, srv, "run", "--resume", "--backup", old, in); r.code != exitOK {
		t.Errorf("--resume with the canary's backup: exit %d\n%s", r.code, r.stderr)
	}
	if h := srv.History(ids[2]); len(h) != 1 {
		t.Errorf("the resume sent the third ticket %d times, want 1", len(h))
	}
}
