package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
)

// TestReportOfABinaryFile: report given a file that is no text says so,
// as validate does, in one short line (before: the first line as ~200
// escaped bytes, "first line is \"\xef\xbb…\"").
func TestReportOfABinaryFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"junk.bin": "\xef\xbb\xbf\x00\x01\x02\x03" + strings.Repeat("\xfe\x10", 200) + "\n",
		"book.zip": "PK\x03\x04" + strings.Repeat("\x00", 40),
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		r := runOps(t, "", false, nil, "report", path)
		if r.code != exitUsage || !strings.Contains(r.stderr, "not a results CSV: this is") || len(r.stderr) > 250 {
			t.Errorf("report %s: exit %d, stderr %q; want 2, \"this is not a text file\" or what it is, short", name, r.code, r.stderr)
		}
	}
}

// TestUndoSaysWhatIsWrong: undo of another tenant's snapshot says the
// snapshot was read from another API, though the results' names file is
// there (before: "names file … holds the names of another API", blaming
// the file that is right); the changed tickets a snapshot lacks are named,
// in input order (before: "input lines 4, 3").
func TestUndoSaysWhatIsWrong(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	other := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, ids := readInput(t, dir, 4, "CL")
	results := filepath.Join(dir, "in.results.csv")
	if r := kb(t, srv, "run", in); r.code != exitOK {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(keynames.ResultsPath(results)); err != nil {
		t.Fatalf("the run kept no names: %v", err)
	}
	theirs := filepath.Join(dir, "theirs.csv")
	if r := kb(t, other, "snapshot", "--out", theirs, in); r.code != exitOK {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	restore := filepath.Join(dir, "restore.csv")
	r := runOps(t, "", false, nil, "undo", "--snapshot", theirs, "--results", results, "--out", restore)
	if r.code != exitUsage || !strings.Contains(r.stderr, "the snapshot was read from another API than the results were sent to") || strings.Contains(r.stderr, "names file") {
		t.Errorf("another tenant's snapshot: exit %d, stderr %q", r.code, r.stderr)
	}
	part, _ := readInput(t, t.TempDir(), 1, "CL")
	mine := filepath.Join(dir, "mine.csv")
	if r := kb(t, srv, "snapshot", "--out", mine, part); r.code != exitOK {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	r = runOps(t, "", false, nil, "undo", "--snapshot", mine, "--results", results, "--names", catalogueNames(t, dir), "--out", restore)
	want := "3 changed tickets have no state in " + mine + ", so cannot be restored: tickets " + strings.Join(ids[1:], ", ") + " (input lines 3, 4, 5)"
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, want) {
		t.Errorf("a snapshot of one ticket of four: exit %d; want 1 and %q\n%s%s", r.code, want, r.stdout, r.stderr)
	}
}

// TestTokenFileWithBOM: a token file saved as "UTF-8 with BOM" (Notepad)
// works: the BOM is not sent with the token (before: 401, exit 3).
func TestTokenFileWithBOM(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 2, "CL")
	tf := filepath.Join(dir, "token")
	os.WriteFile(tf, []byte("\ufeff"+kapturetest.DefaultToken+"\r\n"), 0o600)
	r := runOps(t, "", false, nil, "run", "--base-url", srv.URL, "--rate", "0", "--quiet", "--token-file", tf, in)
	if r.code != exitOK {
		t.Errorf("run with a token file with a BOM: exit %d\n%s", r.code, r.stderr)
	}
}
