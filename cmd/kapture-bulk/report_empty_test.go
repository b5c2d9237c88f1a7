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
	for name, content := range map[string]string{
		"empty":       "",
		"header only": resultsHeader + "\n",
		"torn header": resultsHeader[:20],
	} {
		t.Run(name, func(t *testing.T) {
			results := filepath.Join(dir, name+".csv")
			writeTestFile(t, results, content)
			r := runOps(t, "", false, nil, "report", results)
			if r.code != exitRowsFailed || strings.Contains(r.stdout, "every row is done") || !strings.Contains(r.stdout, "records no rows") {
				t.Errorf("exit %d, stdout:\n%s\nwant 1, saying it records no rows", r.code, r.stdout)
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
