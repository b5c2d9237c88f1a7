//go:build darwin || freebsd || linux || netbsd || openbsd

package writer

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
