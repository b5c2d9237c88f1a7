package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestSyncResultsRecordTheirAPI: a sync night's results file records the
// API it sent to (RESULTS.api), as a plain run's does, so that undo
// refuses a snapshot read from another API (a rehearsal's backup) for
// that night's results even when its replies showed no key-name pairs
// (no RESULTS.names.csv). Before, a sync run wrote no .api and undo
// wrote a restore file from the other API's snapshot.
func TestSyncResultsRecordTheirAPI(t *testing.T) {
	a := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	state, in, bk := filepath.Join(dir, "job.state"), syncInput(t, dir, 3), filepath.Join(dir, "bk.csv")
	if code, _, stderr := syncCLI(t, false, append(syncRunArgs(a.URL, state, in), "--backup", bk)...); code != 0 {
		t.Fatalf("night: exit %d\n%s", code, stderr)
	}
	got, err := filepath.Glob(filepath.Join(dir, "results", "*.results.csv"))
	if err != nil || len(got) != 1 {
		t.Fatalf("results files %q, %v", got, err)
	}
	results := got[0]
	api, err := writer.APIOf(results)
	if err != nil || api == "" || !strings.HasPrefix(api, a.URL) {
		t.Fatalf("the night's results record the API %q (%v); want %s", api, err, a.URL)
	}
	os.Remove(keynames.ResultsPath(results)) // replies that showed no pairs
	snap, err := os.ReadFile(bk)
	if err != nil || !strings.Contains(string(snap), api) {
		t.Fatalf("backup: %v\n%s", err, snap)
	}
	rehearsal := filepath.Join(dir, "rehearsal.csv")
	os.WriteFile(rehearsal, []byte(strings.ReplaceAll(string(snap), api, "http://127.0.0.1:8080")), 0o600)
	out := filepath.Join(dir, "restore.csv")
	code, stdout, stderr := syncCLI(t, true, "undo", "--snapshot", rehearsal, "--results", results, "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "another API") || !strings.Contains(stderr, api) {
		t.Errorf("undo of the night with another API's snapshot: exit %d; want 2, another API\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("undo wrote %s", out)
	}
}
