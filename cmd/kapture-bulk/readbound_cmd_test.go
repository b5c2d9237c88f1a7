package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// A ticket whose Get Ticket reply alone is over the size bound (a long
// history) is not "the API looks down": snapshot lists it, writes every
// other ticket and leaves it out (it is not "not found"), exit 1, and the
// same command tries it again; verify says it unknown with the reason,
// grouped with the byte count as <n>, exit 1; probe says it cannot be
// read, exit 1. Nothing is retried.
func TestReadsOfATicketOverTheBound(t *testing.T) {
	dir := t.TempDir()
	in, ids := readInput(t, dir, 6, "CL")
	long := ids[3]
	srv := kapturetest.NewServer(t, kapturetest.Options{LongHistory: func(id string) int {
		if id == long {
			return 4 << 20
		}
		return 0
	}})
	const why = "the API's reply for this ticket is larger than 1310720 bytes"
	out := filepath.Join(dir, "snap.csv")
	r := kb(t, srv, "snapshot", "--read-batch", "6", "--out", out, in)
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "5 tickets read (5 found, 0 not found)") ||
		!strings.Contains(r.stdout, "1 ticket could not be read") || !strings.Contains(r.stdout, "ticket "+long+": "+why) {
		t.Fatalf("snapshot: exit %d, want 1, the ticket listed\n%s%s", r.code, r.stdout, r.stderr)
	}
	rows := csvRows(t, out)
	if len(rows) != 6 || strings.Contains(fileText(t, out), long) {
		t.Errorf("snapshot holds %d rows, want the 5 read, not %s:\n%s", len(rows)-1, long, fileText(t, out))
	}
	if st := srv.Stats(); st.Reads != 5 {
		t.Errorf("%d reads, want 5 (6 ids over the bound, then halves of 3, 1 and 2), none retried", st.Reads)
	}
	r = kb(t, srv, "snapshot", "--out", out, in)
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "0 tickets read") || !strings.Contains(r.stdout, long) {
		t.Errorf("snapshot again: exit %d, want 1 and the long ticket tried again\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = kb(t, srv, "verify", "--names", catalogueNames(t, dir), in)
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "1  unknown  the API's reply for this ticket is larger than <n> bytes") {
		t.Errorf("verify: exit %d, want 1, the ticket unknown with the reason\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = kb(t, srv, "probe", long)
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "not read: "+why) || !strings.Contains(r.stderr, "cannot be read: "+why) {
		t.Errorf("probe: exit %d, want 1 and the ticket not read\n%s%s", r.code, r.stdout, r.stderr)
	}
}
