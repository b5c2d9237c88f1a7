package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportOfNothing: report on a results file that records no row says
// so and exits 1, not "every row is done".
func TestReportOfNothing(t *testing.T) {
	dir := t.TempDir()
	for name, tt := range map[string]struct{ content, says string }{
		"empty":                       {"", "records no rows (it is empty or holds only its header)"},
		"header only":                 {resultsHeader + "\n", "records no rows (it is empty or holds only its header)"},
		"torn header":                 {resultsHeader[:20], "holds no whole header line"},
		"a BOM alone":                 {"\ufeff", "holds no whole header line"},
		"a BOM and a torn header":     {"\ufeff" + resultsHeader[:20], "holds no whole header line"},
		"header and a torn first row": {resultsHeader + "\n713516000001,succ", "records no whole row: it holds its header and a torn line"},
	} {
		t.Run(name, func(t *testing.T) {
			results := filepath.Join(dir, name+".csv")
			writeTestFile(t, results, tt.content)
			r := runOps(t, "", false, nil, "report", results)
			if r.code != exitRowsFailed || strings.Contains(r.stdout, "every row is done") || !strings.Contains(r.stdout, tt.says) || strings.Contains(r.stdout, "ends in a torn line") {
				t.Errorf("exit %d, stdout:\n%s\nwant 1, saying it %s", r.code, r.stdout, tt.says)
			}
			r = runOps(t, "", false, nil, "report", "--json", results)
			if r.code != exitRowsFailed || !strings.Contains(r.stdout, `"done": false`) {
				t.Errorf("--json: exit %d, stdout:\n%s\nwant 1, not done", r.code, r.stdout)
			}
		})
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
