package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestRunRateAuto: --rate auto against an API serving 20 requests/s with
// a bucket of one token: every row lands, in order, with few refusals,
// and the summary (JSON and stderr) reports the rate it settled at, under
// the limit (within the 5% that holding just under the lowest refused rate
// allows).
func TestRunRateAuto(t *testing.T) {
	skipShort(t, "a rate test in real time (batch tests the controller on a simulated clock)")
	t.Parallel()
	const limit = 20.0
	s := newFake(t, kapturetest.Options{RateLimit: limit, RateBurst: 1})
	dir := t.TempDir()
	rows := validRows(300)
	in := writeInput(t, dir, "in.csv", rows)
	summary := filepath.Join(dir, "summary.json")
	p := runCmd(t, runOpts{}, "run", "--base-url", s.URL, "--rate", "auto", "--workers", "4",
		"--batch-size", "1", "--max-retries", "10", "--summary-json", summary, in)
	wantCode(t, p, 0)
	checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
	checkFinalState(t, s, rows)
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var sum map[string]any
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	settled, ok := sum["settled_rate"].(float64)
	st := s.Stats()
	t.Logf("%d requests, %d refused; settled at %v, final rate %v", st.Requests, st.RateLimited, sum["settled_rate"], sum["final_rate"])
	if !ok || settled <= 0 || settled > 1.05*limit {
		t.Errorf("summary settled_rate %v, want a number above 0 and at most %.2f", sum["settled_rate"], 1.05*limit)
	}
	if want := "--rate auto settled at"; ok && settled > 0 && !strings.Contains(p.stderr.String(), want) {
		t.Errorf("the summary on stderr does not say %q:\n%s", want, p.stderr.String())
	}
	if st.RateLimited > 20 {
		t.Errorf("%d requests refused, want at most 20", st.RateLimited)
	}
}
