//go:build unix

package reader

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenFileRefusesFIFO: a FIFO that no one writes to is refused at
// once, naming it, rather than blocking the open; so is a FIFO with a
// writer, whose rows the first of the input's reads would take.
func TestOpenFileRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, stdin := range []bool{false, true} {
		err := within(t, path, func() error { f, err := OpenFile(path, stdin); closeIf(f); return err })
		var nf *NotFileError
		if !errors.As(err, &nf) || !errors.Is(err, ErrNotFile) {
			t.Fatalf("OpenFile(fifo) = %v, want a *NotFileError", err)
		}
		msg := err.Error()
		for _, want := range []string{path, "FIFO", "cp " + path} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not say %q", msg, want)
			}
		}
		if strings.Contains(msg, "stdin as -") != stdin {
			t.Errorf("message %q: offers stdin %v, want %v", msg, !stdin, stdin)
		}
	}
}

// TestOpenFileRegular: a regular file opens and reads as usual.
func TestOpenFileRegular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte("ticket_id\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 64)
	if n, err := f.Read(b); err != nil || string(b[:n]) != "ticket_id\n1\n" {
		t.Errorf("read %q, %v", b[:n], err)
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "nope.csv"), true); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

func closeIf(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// within runs open, failing t if it has not returned within 5 seconds (a
// FIFO's open waiting for a writer); it then opens the FIFO for writing,
// which releases the blocked open.
func within(t *testing.T, fifo string, open func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- open() }() // ends when open returns
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("the open blocked on the FIFO")
		return nil
	}
}

func TestNotFileErrorNamesProcessSubstitution(t *testing.T) {
	err := &NotFileError{Path: "/dev/fd/63", Mode: os.ModeNamedPipe, Stdin: true}
	msg := err.Error()
	for _, want := range []string{"/dev/fd/63", "<(…)", "> FILE.csv", "stdin as -"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "cp /dev/fd") {
		t.Errorf("message %q: copying /dev/fd/63 later makes no sense", msg)
	}
}
