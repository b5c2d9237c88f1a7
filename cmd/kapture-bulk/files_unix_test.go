//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestResultsFIFORefused: a FIFO as the results file is refused at once
// (exit 2), named, by report and by every kind of run that reads it.
func TestResultsFIFORefused(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	writeTestFile(t, in, "ticket_id,sub_status\n713516551148,CL\n")
	fifo := filepath.Join(dir, "r.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, args := range [][]string{
		{"report", fifo},
		{"report", "--input", in, fifo},
		{"run", "--base-url", srv.URL, "--resume", "--results", fifo, in},
		{"run", "--base-url", srv.URL, "--dry-run", "--resume", "--results", fifo, in},
	} {
		p := start(t, runOpts{token: kapturetest.DefaultToken}, args...)
		select {
		case <-p.done:
			if code := p.wait(t); code != exitUsage || !strings.Contains(p.stderr.String(), fifo) || !strings.Contains(p.stderr.String(), "FIFO") {
				t.Errorf("%q: exit %d, stderr %q; want 2, naming the FIFO", args, code, p.stderr.String())
			}
		case <-time.After(10 * time.Second):
			if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil { // releases the blocked open
				f.Close()
			}
			t.Fatalf("%q blocked on the FIFO", args)
		}
	}
}
