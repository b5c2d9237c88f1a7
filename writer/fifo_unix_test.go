//go:build darwin || freebsd || linux || netbsd || openbsd

package writer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenRefusesNonRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, mode := range []Mode{Create, Overwrite, Resume} {
		_, err := Open(path, mode)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(fifo, %v): err = %v, want %q naming the path", mode, err, "not a regular file")
		}
	}
}

// TestReadRefusesNonRegularFile: ReadFile and TornRowOf (a dry run's and a
// report's look at the results) refuse a FIFO at once, naming it, rather
// than wait for a writer that never comes.
func TestReadRefusesNonRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	reads := map[string]func() error{
		"ReadFile":  func() error { return ReadFile(path, func(Row) error { return nil }) },
		"TornRowOf": func() error { _, _, err := TornRowOf(path); return err },
	}
	for name, read := range reads {
		done := make(chan error, 1)
		go func() { done <- read() }() // ends when read returns
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "FIFO") {
				t.Errorf("%s(fifo): err = %v, want ErrNotRegular naming the path and saying FIFO", name, err)
			}
		case <-time.After(5 * time.Second):
			// Release the blocked open, so that the test can end.
			if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
				f.Close()
			}
			t.Fatalf("%s(fifo) blocked", name)
		}
	}
}
