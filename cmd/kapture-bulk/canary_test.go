package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestCanaryAfterAFinishedRunMovesNoTicketBack is the break-test finding
// of a --limit canary: after a full run (ticket 1 holds CL, its last
// row), `--resume --limit 1` sent row 1 again and left the ticket in P,
// exit 0; a later full resume, had the canary's results been lost, would
// have left it there. The canary must send nothing; and a row it would
// send whose ticket has a later row with a result is held back (exit 1).
func TestCanaryAfterAFinishedRunMovesNoTicketBack(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("ticket_id,sub_status\n713516000001,P\n713516000002,P\n713516000001,CL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := testEnv(map[string]string{"KAPTURE_API_TOKEN": kapturetest.DefaultToken})
	run := func(args ...string) int {
		return cli(context.Background(), append([]string{"run", "--base-url", srv.URL, "--rate", "0", "--quiet"}, args...), e)
	}
	if code := run(in); code != exitOK {
		t.Fatalf("full run: exit %d\n%s", code, e.stderr)
	}
	requests := srv.Stats().Requests
	if code := run("--resume", "--limit", "1", in); code != exitOK {
		t.Fatalf("canary after the full run: exit %d\n%s", code, e.stderr)
	}
	if st, _ := srv.State("713516000001"); st["sub_status"] != "CL" || srv.Stats().Requests != requests {
		t.Fatalf("after the canary ticket 1 holds %q and %d requests were made; want CL and none", st["sub_status"], srv.Stats().Requests-requests)
	}

	// Row 1 edited (to PS): the canary would send it, but row 3 of its
	// ticket, past the limit, has a result: held back.
	if err := os.WriteFile(in, []byte("ticket_id,sub_status\n713516000001,PS\n713516000002,P\n713516000001,CL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run("--resume", "--limit", "1", in); code != exitRowsFailed {
		t.Fatalf("canary with a row held back: exit %d, want %d\n%s", code, exitRowsFailed, e.stderr)
	}
	if st, _ := srv.State("713516000001"); st["sub_status"] != "CL" {
		t.Fatalf("the canary moved ticket 1 to %q", st["sub_status"])
	}
	if code := run("--resume", in); code != exitOK {
		t.Fatalf("full resume: exit %d\n%s", code, e.stderr)
	}
	if st, _ := srv.State("713516000001"); st["sub_status"] != "CL" {
		t.Fatalf("after the full resume ticket 1 holds %q, want CL (its last row)", st["sub_status"])
	}
}
