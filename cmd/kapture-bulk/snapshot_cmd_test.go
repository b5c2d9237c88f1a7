package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	snap "github.com/kapture-bulk/kapture-bulk/internal/snapshot"
)

// snapshot reads every distinct ticket of the input's valid rows once,
// writes one row per ticket (0600, no customer data), keeps a ticket not
// found as such (exit 0), and a second run reads only what the file
// lacks.
func TestSnapshotReadsEveryTicketOnce(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, ids := readInput(t, dir, 12, "CL", "713516000003,P", "999999999999,CL", "abc,CL")
	out := filepath.Join(dir, "snap.csv")
	r := kb(t, srv, "snapshot", "--read-batch", "5", "--workers", "2", "--out", out, in)
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "13 tickets read (12 found, 1 not found)") || !strings.Contains(r.stdout, "1 invalid row skipped") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	wantPrivate(t, out)
	wantClean(t, r)
	rows := csvRows(t, out)
	if strings.Join(rows[0], ",") != snap.Header || len(rows) != 14 {
		t.Fatalf("%d lines, header %q; want the header and 13 rows", len(rows), rows[0])
	}
	if st := srv.Stats(); st.ReadTickets != 13 || st.Reads != 3 || st.Requests != 0 {
		t.Errorf("%d reads asked %d tickets (%d requests); want 3 asking 13, no update", st.Reads, st.ReadTickets, st.Requests)
	}

	// Cut to its first 4 tickets, as a stop leaves it: only the rest is
	// read, and the 4 keep their first read.
	keep := strings.Join(strings.SplitAfter(fileText(t, out), "\n")[:5], "")
	if err := os.WriteFile(out, []byte(keep), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetTicket(rows[1][0], kapturetest.Holding{SubStatus: "RS"}); err != nil {
		t.Fatal(err)
	}
	r = kb(t, srv, "snapshot", "--read-batch", "5", "--out", out, in)
	if r.code != exitOK || !strings.Contains(r.stdout, "9 tickets read (8 found, 1 not found)") {
		t.Fatalf("resumed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := fileText(t, out); !strings.HasPrefix(got, keep) || len(csvRows(t, out)) != 14 {
		t.Errorf("resumed snapshot:\n%s", got)
	}
	if st := srv.Stats(); st.ReadTickets != 13+9 {
		t.Errorf("%d tickets asked in all, want 22", st.ReadTickets)
	}
	_ = ids
}

// A snapshot of another API is refused and left as it was; --raw keeps
// the reads, masked; a snapshot begun without raw cannot take it.
func TestSnapshotRefusesAndRaw(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	other := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 3, "CL")
	out := filepath.Join(dir, "snap.csv")
	if r := kb(t, srv, "snapshot", "--out", out, in); r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	before := fileText(t, out)
	r := kb(t, other, "snapshot", "--out", out, in)
	if r.code != exitUsage || !strings.Contains(r.stderr, "another API") || fileText(t, out) != before {
		t.Errorf("another API's snapshot: exit %d, stderr %q; want 2 and the file as it was", r.code, r.stderr)
	}
	if r := kb(t, srv, "snapshot", "--raw", "--out", out, in); r.code != exitUsage || !strings.Contains(r.stderr, "raw") {
		t.Errorf("--raw on a snapshot without raw: exit %d, stderr %q", r.code, r.stderr)
	}
	raw := filepath.Join(dir, "raw.csv")
	if r := kb(t, srv, "snapshot", "--raw", "--out", raw, in); r.code != exitOK {
		t.Fatalf("--raw: exit %d\n%s", r.code, r.stderr)
	}
	wantPrivate(t, raw)
	if rows := csvRows(t, raw); rows[0][len(rows[0])-1] != snap.RawColumn || !strings.Contains(rows[1][len(rows[1])-1], "task_details") {
		t.Errorf("raw snapshot: %q", rows)
	}
	if r := kb(t, srv, "snapshot", in); r.code != exitUsage || !strings.Contains(r.stderr, "--out") {
		t.Errorf("no --out: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := kb(t, srv, "snapshot", "--out", in, in); r.code != exitUsage || !strings.Contains(r.stderr, "would overwrite") {
		t.Errorf("--out INPUT: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A signal stops a snapshot at once (exit 130) with what was read kept;
// the same command then reads the rest, each ticket once in the file.
func TestSnapshotStopsOnASignal(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	srv := kapturetest.NewServer(t, kapturetest.Options{FailRead: func(n int, _ []string) *kapturetest.Fault {
		if n == 3 {
			sigs <- syscall.SIGINT
		}
		return nil
	}})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 20, "CL")
	out := filepath.Join(dir, "snap.csv")
	r := kbSignals(t, srv, sigs, "snapshot", "--workers", "1", "--read-batch", "2", "--out", out, in)
	kept := len(csvRows(t, out)) - 1
	if r.code != exitInterrupted || kept < 4 || kept >= 20 || !strings.Contains(r.stdout, "the same command reads the rest") {
		t.Fatalf("exit %d with %d tickets kept; want 130 and 4 to 19\n%s%s", r.code, kept, r.stdout, r.stderr)
	}
	if r := kb(t, srv, "snapshot", "--read-batch", "2", "--out", out, in); r.code != exitOK {
		t.Fatalf("the rest: exit %d\n%s", r.code, r.stderr)
	}
	rows := csvRows(t, out)
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		if seen[row[0]] {
			t.Errorf("ticket %s twice", row[0])
		}
		seen[row[0]] = true
	}
	if len(seen) != 20 {
		t.Errorf("%d tickets in the snapshot, want 20", len(seen))
	}
}
