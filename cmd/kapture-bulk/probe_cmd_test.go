package main

import (
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// probe prints the reply masked, and what is read of it: with a names
// file, whether each value is a key or a name.
func TestProbeShowsTheReplyAndWhatIsRead(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	id := "713516000007"
	if err := srv.SetTicket(id, kapturetest.Holding{SubStatus: "PS", Disposition: "Query|Refund"}); err != nil {
		t.Fatal(err)
	}
	r := kb(t, srv, "probe", id)
	if r.code != exitOK || !strings.Contains(r.stdout, "HTTP 200") || !strings.Contains(r.stdout, `"substatus": "Pending Seller"`) ||
		!strings.Contains(r.stdout, "found: yes") || !strings.Contains(r.stdout, "give --names") {
		t.Fatalf("probe: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantClean(t, r)
	r = kb(t, srv, "probe", "--names", catalogueNames(t, t.TempDir()), id)
	for _, want := range []string{`"Pending Seller": the name of the key PS`, `"Query|Refund"`, "queue:       not in the read"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("probe --names does not say %s:\n%s", want, r.stdout)
		}
	}
	if r := kb(t, srv, "probe", "999999999999"); r.code != exitRowsFailed || !strings.Contains(r.stderr, "not found") {
		t.Errorf("a ticket not found: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := kb(t, srv, "probe", "1,2"); r.code != exitUsage {
		t.Errorf("two ids: exit %d, want 2", r.code)
	}
}

// A read reply in a shape kapture-bulk cannot read is exit 2 for probe,
// snapshot and a run's backup alike, saying what was expected and showing
// the start of what came, the token redacted, customer data masked.
func TestReadReplyInAnUnknownShape(t *testing.T) {
	body := `{"tickets": [{"id": "713516000001", "customerEmail": "a.b@example.com", "key": "` + kapturetest.DefaultToken + `"}]}`
	srv := kapturetest.NewServer(t, kapturetest.Options{FailRead: func(int, []string) *kapturetest.Fault {
		return &kapturetest.Fault{Kind: kapturetest.FaultReply, Status: 200, Body: body}
	}})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 2, "CL")
	for _, args := range [][]string{
		{"probe", "713516000001"},
		{"snapshot", "--out", dir + "/snap.csv", in},
		{"run", "--backup", dir + "/backup.csv", in},
	} {
		r := kb(t, srv, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "want a JSON array") || !strings.Contains(r.stderr, `{"tickets"`) {
			t.Errorf("%s: exit %d, want 2 saying what was expected and what came\n%s%s", args[0], r.code, r.stdout, r.stderr)
		}
		wantClean(t, r)
	}
	if srv.Stats().Requests != 0 {
		t.Errorf("%d updates sent without a backup", srv.Stats().Requests)
	}
}
