//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// TestRunMemoryAtTheFlagExtremes: at the largest --workers and
// --batch-size, against an API slower than the file, the process stays
// under the memory bound, whether the rows are the largest the reader
// lets through (the queues and payloads are bounded by bytes too) or
// small (the queues' count bound). Built without -race, as users get it.
func TestRunMemoryAtTheFlagExtremes(t *testing.T) {
	skipShort(t, "a memory bound")
	dir := t.TempDir()
	bin := filepath.Join(dir, "kapture-bulk")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fat := strings.Repeat("c", reader.MaxObjectBytes-len(`{"ticket_id":"713517204455","sub_status":"CL","queue":"","comment":"","callback_time":"","disposition":""}`))
	tests := []struct {
		name    string
		rows    int
		comment func(i int) string
	}{
		// More than 64 workers' full payloads and queues hold.
		{"rows of 16 KiB", 12000, func(int) string { return fat }},
		// More than the queues' count bound (64 × 4,000).
		{"small rows", 300000, func(i int) string { return fmt.Sprintf("row %d", i) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := genFile(t, dir, "in.csv", func(w *bufio.Writer) {
				w.WriteString("ticket_id,sub_status,comment\n")
				for i := range tt.rows {
					fmt.Fprintf(w, "%d,CL,%s\n", 713517204455+i, tt.comment(i))
				}
			})
			s := newFake(t, kapturetest.Options{Latency: 200 * time.Millisecond, NoRecord: true})
			results := filepath.Join(dir, tt.name+".results.csv")
			cmd := exec.Command(bin, "run", "--base-url", s.URL, "--rate", "0", "--quiet",
				"--workers", fmt.Sprint(maxWorkers), "--batch-size", fmt.Sprint(maxBatchSize), "--results", results, in)
			cmd.Env = append(cleanEnv(), "KAPTURE_API_TOKEN="+e2eToken)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			peak, err := runPeak(cmd)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			if got := s.Stats().Items; got != tt.rows {
				t.Errorf("%d rows reached the API, want %d", got, tt.rows)
			}
			if peak > maxPeakRSS {
				t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, maxPeakRSS>>20)
			} else {
				t.Logf("peak RSS %d MiB", peak>>20)
			}
		})
	}
}
