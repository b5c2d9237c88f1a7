package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// A resume given another --backup than the stopped run's says, in its
// summary text and JSON, how many tickets the earlier run changed that
// the backup holds no pre-image of (not read: the read would be the
// job's own change), naming the file (F20).
func TestResumeSaysWhatItsBackupLacks(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("ticket_id,sub_status\n713516553201,PC\n713516553202,CL\n713516553201,CL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tuesday, sum := filepath.Join(dir, "tuesday.csv"), filepath.Join(dir, "sum.json")
	if r := kb(t, srv, "run", "--backup", filepath.Join(dir, "monday.csv"), "--limit", "1", in); r.code != exitOK {
		t.Fatalf("run 1: exit %d\n%s", r.code, r.stderr)
	}
	r := kb(t, srv, "run", "--resume", "--backup", tuesday, "--summary-json", sum, in)
	want := "backup: 1 ticket changed by an earlier run has no pre-image in " + tuesday + ": the earlier run's backup has it, if it had one"
	if r.code != exitOK || !strings.Contains(r.stdout+r.stderr, want) {
		t.Errorf("resume: exit %d\n%s%s\nwant 0 and %q", r.code, r.stdout, r.stderr, want)
	}
	var s struct {
		BackupMissing *int64 `json:"backup_missing"`
	}
	if b, err := os.ReadFile(sum); err != nil || json.Unmarshal(b, &s) != nil || s.BackupMissing == nil || *s.BackupMissing != 1 {
		t.Errorf("summary JSON: %v %+v; want backup_missing 1", err, s)
	}
}
