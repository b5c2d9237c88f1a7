package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// backup → run → undo → run RESTORE.csv puts every ticket the job
// changed back: RESTORE.csv is an input validate accepts and run takes;
// undo needs no token nor network.
func TestUndoRestoresWhatTheBackupFound(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{ReadKeys: true})
	dir := t.TempDir()
	in, ids := readInput(t, dir, 10, "CL")
	before := map[string]kapturetest.Holding{}
	for _, id := range ids {
		kt, _ := srv.Ticket(id)
		before[id] = kt.Holding()
	}
	names, backup := catalogueNames(t, dir), filepath.Join(dir, "backup.csv")
	results := filepath.Join(dir, "in.results.csv")
	if r := kb(t, srv, "run", "--backup", backup, "--names", names, in); r.code != exitOK {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	wantPrivate(t, backup)
	restore := filepath.Join(dir, "restore.csv")
	r := runOps(t, "", false, nil, "undo", "--snapshot", backup, "--results", results, "--names", names, "--out", restore)
	if r.code != exitOK || !strings.Contains(r.stdout, "10 tickets written to "+restore) || !strings.Contains(r.stdout, "cannot restore queue") {
		t.Fatalf("undo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Count(r.stdout, "comments and callback times cannot be undone") != 1 {
		t.Errorf("undo does not say once what it cannot undo:\n%s", r.stdout)
	}
	wantPrivate(t, restore)
	if r := runOps(t, "", false, nil, "validate", restore); r.code != exitOK {
		t.Fatalf("validate RESTORE.csv: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := kb(t, srv, "run", "--results", filepath.Join(dir, "restore.results.csv"), restore); r.code != exitOK {
		t.Fatalf("run RESTORE.csv: exit %d\n%s", r.code, r.stderr)
	}
	for _, id := range ids {
		kt, _ := srv.Ticket(id)
		got, want := kt.Holding(), before[id]
		want.Queue = got.Queue // not carried by this tenant's reads: left as the job left it
		if want.Disposition == "" {
			want.Disposition = got.Disposition // none before: an update cannot clear one
		}
		if got != want {
			t.Errorf("ticket %s holds %+v after undo, want %+v", id, got, want)
		}
	}
}

// undo refuses a snapshot of another tenant, or of other tickets, writing
// nothing (exit 2); a name no pair gives a key for leaves its ticket out,
// listed with the names-file line to add (exit 1).
func TestUndoRefusesAndLeavesOut(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	other := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 4, "CL")
	results := filepath.Join(dir, "in.results.csv")
	if r := kb(t, srv, "run", in); r.code != exitOK {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	theirs := filepath.Join(dir, "theirs.csv")
	if r := kb(t, other, "snapshot", "--out", theirs, in); r.code != exitOK {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	otherIn, _ := readInput(t, t.TempDir(), 0, "", "713516999991,CL", "713516999992,CL")
	others := filepath.Join(dir, "others.csv")
	if r := kb(t, srv, "snapshot", "--out", others, otherIn); r.code != exitOK {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	restore := filepath.Join(dir, "restore.csv")
	for _, tt := range []struct{ name, snap, want string }{
		{"another tenant", theirs, "another API"},
		{"other tickets", others, "none of the tickets the results changed"},
	} {
		r := runOps(t, "", false, nil, "undo", "--snapshot", tt.snap, "--results", results, "--out", restore)
		if _, err := os.Stat(restore); r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || err == nil {
			t.Errorf("%s: exit %d, stderr %q, RESTORE.csv written %v; want 2, %q, none", tt.name, r.code, r.stderr, err == nil, tt.want)
		}
	}
	mine := filepath.Join(dir, "mine.csv")
	if r := kb(t, srv, "snapshot", "--out", mine, in); r.code != exitOK {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	r := runOps(t, "", false, nil, "undo", "--snapshot", mine, "--out", restore)
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "sub_status,KEY,") || !strings.Contains(r.stdout, "left out:") {
		t.Errorf("names no pair has: exit %d, want 1 and the line to add\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runOps(t, "", false, nil, "undo", "--snapshot", in, "--out", restore); r.code != exitUsage || !strings.Contains(r.stderr, "not a snapshot") {
		t.Errorf("an input as the snapshot: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runOps(t, "", false, nil, "undo", "--snapshot", filepath.Join(dir, "missing.csv"), "--out", restore); r.code != exitUsage {
		t.Errorf("a missing snapshot: exit %d, stderr %q", r.code, r.stderr)
	}
}
