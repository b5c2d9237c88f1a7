package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// run --summary-json and --metrics-file replace only a file they wrote
// (break-test 3, B4): another job's results CSV, its backup, its input or
// its names file named by mistake is refused, exit 2, naming it, before
// anything is sent, and left as it was; the run's own earlier file is
// replaced.
func TestEndFilesReplaceOnlyTheirOwn(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 2, "CL")
	backup := filepath.Join(dir, "in.snap.csv")
	if r := kb(t, srv, "run", "--backup", backup, in); r.code != exitOK {
		t.Fatalf("job 1: exit %d\n%s", r.code, r.stderr)
	}
	job2 := filepath.Join(dir, "job2.csv")
	const ticket = "713516000003"
	if err := os.WriteFile(job2, []byte("ticket_id,sub_status\n"+ticket+",CL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A package.json has a "version" key too (break-test 4, C5).
	pkg := filepath.Join(dir, "package.json")
	if err := os.WriteFile(pkg, []byte(`{"name": "app", "version": "1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	others := []string{filepath.Join(dir, "in.results.csv"), backup, in, filepath.Join(dir, "in.results.names.csv"), pkg}
	for i, path := range others {
		for _, flag := range []string{"--summary-json", "--metrics-file"} {
			t.Run(flag+" "+filepath.Base(path), func(t *testing.T) {
				before := fileText(t, path)
				results := filepath.Join(dir, fmt.Sprintf("job2-%d%s.results.csv", i, flag))
				r := kb(t, srv, "run", "--results", results, flag, path, job2)
				if r.code != exitUsage || !strings.Contains(r.stderr, flag+" "+path+" exists and is not a file") {
					t.Errorf("exit %d\n%s\nwant 2, naming %s", r.code, r.stderr, path)
				}
				if fileText(t, path) != before {
					t.Errorf("%s was replaced", path)
				}
				if h := srv.History(ticket); len(h) != 0 {
					t.Errorf("sent: %v", h)
				}
			})
		}
	}
	sum, prom := filepath.Join(dir, "job2.summary.json"), filepath.Join(dir, "job2.prom")
	for i := range 2 {
		results := filepath.Join(dir, fmt.Sprintf("own-%d.results.csv", i))
		if r := kb(t, srv, "run", "--results", results, "--summary-json", sum, "--metrics-file", prom, job2); r.code != exitOK {
			t.Fatalf("run %d with its own summary and metrics files: exit %d\n%s", i+1, r.code, r.stderr)
		}
		if got := fileText(t, sum); !strings.Contains(got, `"results": "`+results+`"`) {
			t.Errorf("run %d: summary %s, want this run's results %s", i+1, got, results)
		}
		if !strings.HasPrefix(fileText(t, prom), "# HELP kapture_bulk_") {
			t.Errorf("run %d: metrics file %q", i+1, fileText(t, prom))
		}
	}
}
