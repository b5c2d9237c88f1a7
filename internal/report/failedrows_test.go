package report

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestFailedRowsFormulaCells: cells a spreadsheet would run as a formula
// reach the failed rows file with a leading ', and running that file, not
// edited, sends the API the original values.
func TestFailedRowsFormulaCells(t *testing.T) {
	var unknown atomic.Bool // the tickets fail in the first run only
	unknown.Store(true)
	srv := kapturetest.NewServer(t, kapturetest.Options{Known: func(id string) bool {
		return !unknown.Load() && kapturetest.DefaultKnown(id)
	}})
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.csv"), "ticket_id,sub_status,comment,queue,disposition\n"+
		"713516551148,CL,\"=HYPERLINK(\"\"http://x\"\")\",+q,@d\n"+
		"713516551149,-P,\"\tindented\",'=quoted,plain\n")
	results := filepath.Join(dir, "in.results.csv")
	runOnce(t, in, results, srv.URL, false)

	var out bytes.Buffer
	if _, err := Build(Options{Results: results, Input: in, FailedRows: &out}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out.String(), "\ufeff"))).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("failed rows file: %v\n%s", err, out.String())
	}
	for _, cells := range recs[1:] {
		for i, c := range cells[:5] {
			if c != "" && strings.IndexByte("=+-@\t\r", c[0]) >= 0 {
				t.Errorf("column %d: cell %q reaches the failed rows file as a formula", i+1, c)
			}
		}
	}
	if got := strings.Join(recs[1][2:5], "|"); got != `'=HYPERLINK("http://x")|'+q|'@d` {
		t.Errorf("row 1's cells: %q", got)
	}

	unknown.Store(false)
	failed := writeFile(t, filepath.Join(dir, "failed.csv"), out.String())
	runOnce(t, failed, filepath.Join(dir, "failed.results.csv"), srv.URL, false)
	for id, want := range map[string]kapturetest.Item{
		"713516551148": {"sub_status": "CL", "comment": `=HYPERLINK("http://x")`, "queue": "+q", "disposition": "@d"},
		"713516551149": {"sub_status": "-P", "comment": "\tindented", "queue": "'=quoted", "disposition": "plain"},
	} {
		h := srv.History(id)
		if len(h) != 1 {
			t.Fatalf("ticket %s: %d updates, want 1", id, len(h))
		}
		for k, v := range want {
			if got := h[0].Item[k]; got != v {
				t.Errorf("ticket %s: %s = %q, want the input's %q", id, k, got, v)
			}
		}
	}
	rep, err := Build(Options{Results: filepath.Join(dir, "failed.results.csv"), Input: failed})
	if err != nil || !rep.Done() {
		t.Errorf("report on the run of the failed rows file: %+v, %v; want done", rep, err)
	}
}
