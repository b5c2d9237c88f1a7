//go:build unix

package report

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestBuildRefusesFIFOInput: a report with an input that is a FIFO is
// refused at once (it reads the input twice), not blocked on the open.
func TestBuildRefusesFIFOInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	results := filepath.Join(dir, "r.csv")
	keys := keysOf(t, writeFile(t, filepath.Join(dir, "copy.csv"), orderCSV))
	writeResults(t, results, result(keys, 2, writer.StatusSuccess, ""))
	done := make(chan error, 1)
	go func() { // ends when Build returns
		_, err := Build(Options{Results: results, Input: fifo, Reader: reader.Options{Name: fifo}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, reader.ErrNotFile) {
			t.Errorf("Build(input fifo) = %v, want reader.ErrNotFile", err)
		}
	case <-time.After(5 * time.Second):
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close() // releases the blocked open
		}
		t.Fatal("Build(input fifo) blocked")
	}
}
