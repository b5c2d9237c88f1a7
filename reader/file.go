package reader

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ErrNotFile refuses an input that is not a regular file: a FIFO (or the
// pipe that process substitution, <(…), names /dev/fd/N), a device, a
// folder. A run reads its input more than once, a pipe gives its bytes
// only once, and opening a FIFO that no one writes to blocks.
var ErrNotFile = errors.New("not a regular file")

// NotFileError is the refusal of an input that is not a regular file; it
// wraps ErrNotFile. Its message names the file and says what to do.
type NotFileError struct {
	Path string
	Mode fs.FileMode
	// Stdin is set where the command reads "-" as stdin: the message
	// offers it.
	Stdin bool
}

func (e *NotFileError) Error() string {
	if e.Mode.IsDir() {
		return fmt.Sprintf("input %s is a directory, not a CSV file", e.Path)
	}
	what, todo := "not a regular file", fmt.Sprintf("copy it to a file first (cp %s FILE.csv) and give that", e.Path)
	switch t := e.Mode.Type(); {
	case t&fs.ModeNamedPipe != 0 && isFDPath(e.Path):
		what, todo = "a pipe (as process substitution, <(…), gives)", "save what the command prints to a file first (command > FILE.csv) and give that"
	case t&fs.ModeNamedPipe != 0:
		what = "a FIFO (named pipe)"
	case t&fs.ModeSocket != 0:
		what = "a socket"
	case t&fs.ModeDevice != 0:
		what = "a device"
	}
	if e.Stdin {
		todo += ", or give it on stdin as -"
	}
	return fmt.Sprintf("input %s is %s, not a regular file that can be read twice, as kapture-bulk reads its input: %s", e.Path, what, todo)
}

func (e *NotFileError) Unwrap() error { return ErrNotFile }

// isFDPath reports whether path names an open descriptor (/dev/fd/N,
// /proc/self/fd/N), as process substitution gives.
func isFDPath(path string) bool {
	return strings.HasPrefix(path, "/dev/fd/") || strings.HasPrefix(path, "/proc/self/fd/")
}

// OpenFile opens the input file at path for reading. Anything but a
// regular file is refused with a *NotFileError (stdin: whether the
// command offers "-" instead) before any open, and the open itself does
// not wait for a FIFO's writer even if path became one after that check.
// Other errors are os.Open's.
func OpenFile(path string, stdin bool) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotFileError{Path: path, Mode: fi.Mode(), Stdin: stdin}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err == nil && !fi.Mode().IsRegular() {
		err = &NotFileError{Path: path, Mode: fi.Mode(), Stdin: stdin}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
