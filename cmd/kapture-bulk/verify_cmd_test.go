package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// After a run, verify says every ticket matches (exit 0); after a hand
// edit in the CRM, the ticket differs (exit 1), VERIFY.csv and FIX.csv
// say so (0600, no customer data), and a run of FIX.csv puts it right.
func TestVerifyAfterARunAndAHandEdit(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, ids := readInput(t, dir, 8, "CL")
	results := filepath.Join(dir, "in.results.csv")
	if r := kb(t, srv, "run", in); r.code != exitOK {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	out, fix := filepath.Join(dir, "verify.csv"), filepath.Join(dir, "fix.csv")
	r := kb(t, srv, "verify", "--results", results, "--out", out, "--differs", fix, in)
	if r.code != exitOK || !strings.Contains(r.stdout, "8 tickets verified: 8 match") || !strings.Contains(r.stdout, "every ticket matches") {
		t.Fatalf("verify after the run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "not verifiable on this tenant: queue") && strings.Contains(r.stdout, "queue") {
		t.Errorf("verify speaks of the queue otherwise:\n%s", r.stdout)
	}

	// The run's replies showed CL only: a name no pair gives a key for
	// is unknown, never guessed; a names file tells.
	if err := srv.SetTicket(ids[2], kapturetest.Holding{SubStatus: "PS"}); err != nil {
		t.Fatal(err)
	}
	r = kb(t, srv, "verify", "--results", results, in)
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "7 match, 0 differ, 0 not found, 1 unknown") || !strings.Contains(r.stdout, "sub_status,KEY,Pending Seller") {
		t.Fatalf("verify after a hand edit, without names: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = kb(t, srv, "verify", "--results", results, "--names", catalogueNames(t, dir), "--out", out, "--differs", fix, in)
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "7 match, 1 differ") || !strings.Contains(r.stdout, "sub_status holds PS (Pending Seller), wants CL (Closed)") {
		t.Fatalf("verify after a hand edit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantClean(t, r)
	for _, p := range []string{out, fix} {
		wantPrivate(t, p)
	}
	if rows := csvRows(t, fix); len(rows) != 2 || strings.TrimPrefix(rows[1][0], "\ufeff") != ids[2] {
		t.Fatalf("FIX.csv: %q", rows)
	}
	if r := kb(t, srv, "run", "--results", filepath.Join(dir, "fix.results.csv"), fix); r.code != exitOK {
		t.Fatalf("run FIX.csv: exit %d\n%s", r.code, r.stderr)
	}
	if r := kb(t, srv, "verify", "--results", results, in); r.code != exitOK {
		t.Errorf("verify after FIX.csv ran: exit %d\n%s", r.code, r.stdout)
	}
}

// verify refuses stdin (it reads INPUT twice), a names file of another
// API, and writes nothing when a read fails.
func TestVerifyRefuses(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 2, "CL")
	if r := kb(t, srv, "verify", "-"); r.code != exitUsage || !strings.Contains(r.stderr, "stdin") {
		t.Errorf("stdin: exit %d, stderr %q", r.code, r.stderr)
	}
	other := filepath.Join(dir, "other.names.csv")
	os.WriteFile(other, []byte("kind,key,name,api\nsub_status,CL,Closed,https://other.kapturecrm.com\n"), 0o600)
	if r := kb(t, srv, "verify", "--names", other, in); r.code != exitUsage || !strings.Contains(r.stderr, "https://other.kapturecrm.com") {
		t.Errorf("another API's names: exit %d, stderr %q", r.code, r.stderr)
	}
	down := kapturetest.NewServer(t, kapturetest.Options{FailRead: func(int, []string) *kapturetest.Fault {
		return &kapturetest.Fault{Kind: kapturetest.FaultErrorPage, Status: 503}
	}})
	out := filepath.Join(dir, "verify.csv")
	r := kb(t, down, "verify", "--max-retries", "0", "--out", out, in)
	if _, err := os.Stat(out); r.code != exitAborted || err == nil {
		t.Errorf("reads failing: exit %d, VERIFY.csv written: %v; want 3 and none\n%s", r.code, err == nil, r.stderr)
	}
}

// verify --results refuses a file that is not a results CSV (an input
// given by mistake would pass for a run that recorded no pairs), and says
// once, naming the path it looked for, that no pairs were recorded beside
// a results file copied without its RESULTS.names.csv; undo says so too.
func TestVerifyResultsWithoutPairs(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 2, "CL")
	if r := kb(t, srv, "run", in); r.code != exitOK {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	r := kb(t, srv, "verify", "--results", in, in)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--results") || !strings.Contains(r.stderr, "not a results CSV") {
		t.Errorf("INPUT as --results: exit %d, stderr %q; want 2, naming it", r.code, r.stderr)
	}
	copied := filepath.Join(t.TempDir(), "in.results.csv")
	os.WriteFile(copied, []byte(fileText(t, filepath.Join(dir, "in.results.csv"))), 0o600)
	looked := "looked for " + filepath.Join(filepath.Dir(copied), "in.results.names.csv")
	r = kb(t, srv, "verify", "--results", copied, in)
	if r.code != exitRowsFailed || strings.Count(r.stderr, looked) != 1 {
		t.Errorf("results without their pairs: exit %d, stderr %q; want 1 and %q once", r.code, r.stderr, looked)
	}
	snapshot := filepath.Join(dir, "snap.csv")
	if r := kb(t, srv, "snapshot", "--out", snapshot, in); r.code != exitOK {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	r = runOps(t, "", false, nil, "undo", "--snapshot", snapshot, "--results", copied, "--out", filepath.Join(dir, "restore.csv"))
	if strings.Count(r.stdout, looked) != 1 {
		t.Errorf("undo of results without their pairs: stdout %q; want %q once", r.stdout, looked)
	}
	if r := kb(t, srv, "verify", "--results", filepath.Join(dir, "in.results.csv"), in); r.code != exitOK || strings.Contains(r.stderr, "looked for") {
		t.Errorf("results with their pairs: exit %d, stderr %q; want 0, nothing said", r.code, r.stderr)
	}
}

// A verify or undo that fails after its checks leaves no earlier
// VERIFY.csv, FIX.csv or RESTORE.csv: an old FIX.csv, run, would undo
// what changed since it was written.
func TestFailedVerifyOrUndoLeavesNoEarlierOutput(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, ids := readInput(t, dir, 2, "CL")
	snapshot := filepath.Join(dir, "snap.csv")
	if r := kb(t, srv, "snapshot", "--out", snapshot, in); r.code != exitOK {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	if err := srv.SetTicket(ids[0], kapturetest.Holding{SubStatus: "PS"}); err != nil {
		t.Fatal(err)
	}
	out, fix := filepath.Join(dir, "verify.csv"), filepath.Join(dir, "fix.csv")
	names := catalogueNames(t, dir)
	if r := kb(t, srv, "verify", "--names", names, "--out", out, "--differs", fix, in); r.code != exitRowsFailed {
		t.Fatalf("yesterday's verify: exit %d\n%s", r.code, r.stderr)
	}
	down := kapturetest.NewServer(t, kapturetest.Options{FailRead: func(int, []string) *kapturetest.Fault {
		return &kapturetest.Fault{Kind: kapturetest.FaultErrorPage, Status: 503}
	}})
	r := kb(t, down, "verify", "--max-retries", "0", "--names", names, "--out", out, "--differs", fix, in)
	for _, p := range []string{out, fix} {
		if _, err := os.Stat(p); r.code != exitAborted || err == nil {
			t.Errorf("today's verify, reads failing: exit %d, %s left: %v; want 3 and none", r.code, p, err == nil)
		}
	}
	restore := filepath.Join(dir, "restore.csv")
	if r := runOps(t, "", false, nil, "undo", "--snapshot", snapshot, "--names", names, "--out", restore); r.code != exitOK {
		t.Fatalf("undo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runOps(t, "", false, nil, "undo", "--snapshot", in, "--out", restore)
	if _, err := os.Stat(restore); r.code != exitUsage || err == nil {
		t.Errorf("undo of no snapshot: exit %d, RESTORE.csv left: %v; want 2 and none", r.code, err == nil)
	}
}
