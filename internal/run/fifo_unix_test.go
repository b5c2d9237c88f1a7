//go:build unix

package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// TestRunRefusesFIFOInput: a run and Validate refuse an input that is a
// FIFO at once, before any open that would wait for its writer (a run
// reads its input more than once: a pipe gives its rows once).
func TestRunRefusesFIFOInput(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	calls := map[string]func() error{
		"Run": func() error {
			return Run(context.Background(), config(fifo, filepath.Join(dir, "r.csv"), srv.URL), nil)
		},
		"Validate": func() error {
			_, err := Validate(fifo, nil, reader.Options{Name: fifo}, 0, nil, Grouped)
			return err
		},
	}
	for name, call := range calls {
		done := make(chan error, 1)
		go func() { done <- call() }() // ends when call returns
		select {
		case err := <-done:
			var nf *reader.NotFileError
			if !errors.Is(err, ErrRefused) || !errors.As(err, &nf) {
				t.Errorf("%s(fifo) = %v, want ErrRefused with a *reader.NotFileError", name, err)
			}
		case <-time.After(5 * time.Second):
			if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				w.Close() // releases the blocked open
			}
			t.Fatalf("%s(fifo) blocked", name)
		}
	}
	if srv.Stats().Requests != 0 {
		t.Error("a refused run sent requests")
	}
	if _, err := os.Stat(filepath.Join(dir, "r.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("results file: %v, want none", err)
	}
}
