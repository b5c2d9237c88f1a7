package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// verify --out and --differs, undo --out and report --failed-rows replace
// only a file they wrote (or an empty one): a results CSV, its pairs, a
// journal or a snapshot named by mistake is refused, exit 2, naming it,
// and left as it was; the same command run again replaces its own file.
func TestOutputsReplaceOnlyTheirOwnFiles(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, ids := readInput(t, dir, 3, "CL")
	backup := filepath.Join(dir, "bk.csv")
	if r := kb(t, srv, "run", "--backup", backup, in); r.code != exitOK {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	if err := srv.SetTicket(ids[1], kapturetest.Holding{SubStatus: "RS"}); err != nil {
		t.Fatal(err) // a ticket that differs, for --differs
	}
	results := filepath.Join(dir, "in.results.csv")
	other := filepath.Join(dir, "other.results.csv") // a results CSV that is no file of the command
	if err := os.WriteFile(other, []byte(fileText(t, results)), 0o644); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "x.results.inflight")
	if err := os.WriteFile(journal, []byte("line,ticket_id\n2,713516000001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pairs := filepath.Join(dir, "other.results.names.csv")
	if err := os.WriteFile(pairs, []byte(fileText(t, filepath.Join(dir, "in.results.names.csv"))), 0o600); err != nil {
		t.Fatal(err)
	}
	names := catalogueNames(t, dir)
	verifyOut := func(flag, path string) []string {
		return []string{"verify", "--results", results, "--names", names, flag, path, in}
	}
	undoOut := func(path string) []string {
		return []string{"undo", "--snapshot", backup, "--results", results, "--out", path}
	}
	failedRows := func(path string) []string {
		return []string{"report", "--input", in, "--failed-rows", path, results}
	}
	cmd := func(args []string) opsRun {
		if args[0] == "verify" {
			return kb(t, srv, args...)
		}
		return runOps(t, "", false, nil, args...)
	}
	for _, tt := range []struct {
		name string
		args []string
		path string
	}{
		{"verify --out, a results CSV", verifyOut("--out", other), other},
		{"verify --out, a journal", verifyOut("--out", journal), journal},
		{"verify --differs, a results CSV", verifyOut("--differs", other), other},
		{"verify --out, a snapshot", verifyOut("--out", backup), backup},
		{"undo --out, a results CSV", undoOut(other), other},
		{"undo --out, the pairs of a results CSV", undoOut(pairs), pairs},
		{"undo --out, an input", undoOut(in), in},
		{"report --failed-rows, a results CSV", failedRows(other), other},
		{"report --failed-rows, the input's VERIFY.csv", failedRows(filepath.Join(dir, "v.csv")), filepath.Join(dir, "v.csv")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == filepath.Join(dir, "v.csv") {
				if r := cmd(verifyOut("--out", tt.path)); r.code != exitRowsFailed {
					t.Fatalf("verify --out: exit %d\n%s", r.code, r.stderr)
				}
			}
			before := fileText(t, tt.path)
			r := cmd(tt.args)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.path+" exists and is not a file") {
				t.Errorf("exit %d\n%s%s\nwant 2, naming %s", r.code, r.stdout, r.stderr, tt.path)
			}
			if fileText(t, tt.path) != before {
				t.Errorf("%s was replaced", tt.path)
			}
		})
	}
	empty := filepath.Join(dir, "empty.csv")
	for _, own := range []struct {
		args func(path string) []string
		name string
	}{
		{func(p string) []string { return verifyOut("--out", p) }, "v.csv"},
		{func(p string) []string { return verifyOut("--differs", p) }, "fix.csv"},
		{undoOut, "restore.csv"},
		{failedRows, "failed.csv"},
	} {
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, own.name)
		for _, args := range [][]string{own.args(path), own.args(path), own.args(empty)} {
			if r := cmd(args); r.code == exitUsage || r.code == exitAborted {
				t.Errorf("%q (its own file, or an empty one): exit %d\n%s", args, r.code, r.stderr)
			}
		}
	}
	if rows := csvRows(t, filepath.Join(dir, "fix.csv")); len(rows) != 2 {
		t.Errorf("FIX.csv after a second verify: %q", rows)
	}
}
