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
	"github.com/kapture-bulk/kapture-bulk/internal/tokenfile"
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

// TestTokenFromAPipe: a --token-file that is a pipe is read when something
// writes it (a secrets agent: --token-file <(pass show acme)), and one
// nothing writes is an error within the wait, not a command that hangs
// where a signal cannot end it (break-test 3, B1).
func TestTokenFromAPipe(t *testing.T) {
	dir := t.TempDir()
	silent, written := filepath.Join(dir, "silent"), filepath.Join(dir, "written")
	for _, p := range []string{silent, written} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	start := time.Now()
	_, err := readWritten(silent, 200*time.Millisecond, tokenfile.Read)
	if err == nil || !strings.Contains(err.Error(), "nothing was written to it") || time.Since(start) > 5*time.Second {
		t.Fatalf("a pipe nothing writes: %v after %v, want the wait's error at once", err, time.Since(start))
	}
	// The reader left waiting in its open ends once a writer comes and goes.
	if f, err := os.OpenFile(silent, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
	go func() { // the writer; its open waits for the reader below
		if f, err := os.OpenFile(written, os.O_WRONLY, 0); err == nil {
			_, _ = f.WriteString("kapturetest-token\n")
			f.Close()
		}
	}()
	tok, err := readWritten(written, 5*time.Second, tokenfile.Read)
	if err != nil || tok != "kapturetest-token" {
		t.Fatalf("a pipe written: %q, %v", tok, err)
	}
}
