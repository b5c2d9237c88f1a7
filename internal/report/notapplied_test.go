package report

import (
	"path/filepath"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// TestNotAppliedCounted: the rows the reply check failed are counted
// apart among the failed, with the input and without, as the run's
// summary counts them.
func TestNotAppliedCounted(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{KeepSubStatus: 1})
	dir := t.TempDir()
	// 713516551148 starts in another sub-status than CL and keeps it;
	// 999999999991 does not exist: failed, but not "not applied".
	in := writeFile(t, filepath.Join(dir, "in.csv"), "ticket_id,sub_status\n713516551148,CL\n999999999991,CL\n")
	if kt, _ := srv.Ticket("713516551148"); kt.SubStatus.Key == "CL" {
		t.Fatal("the test needs a ticket that does not start in CL")
	}
	results := filepath.Join(dir, "in.results.csv")
	runOnce(t, in, results, srv.URL, false)
	for _, input := range []string{"", in} {
		rep, err := Build(Options{Results: results, Input: input, Reader: reader.Options{Name: input}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Failed != 2 || rep.NotApplied != 1 {
			t.Errorf("input %q: %d failed, %d of them not applied; want 2 and 1", input, rep.Failed, rep.NotApplied)
		}
	}
}
