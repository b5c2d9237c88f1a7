package writer

import (
	"errors"
	"fmt"
	"os"
)

// ErrNotRegular refuses a path that is a FIFO, a device or a folder where
// a file is read or written: opening one could block for ever, and it
// holds no results.
var ErrNotRegular = errors.New("not a regular file")

// NotRegular is ErrNotRegular saying what fi is: a folder, a FIFO, ….
func NotRegular(fi os.FileInfo) error {
	what := "not a file"
	switch t := fi.Mode().Type(); {
	case fi.IsDir():
		what = "a folder"
	case t&os.ModeNamedPipe != 0:
		what = "a FIFO (named pipe)"
	case t&os.ModeSocket != 0:
		what = "a socket"
	case t&os.ModeDevice != 0:
		what = "a device"
	}
	return fmt.Errorf("%w: it is %s", ErrNotRegular, what)
}

// OpenRead opens the results file at path for reading, with its FileInfo.
// Anything but a regular file is refused (ErrNotRegular) before it is
// opened, so that a FIFO cannot block the caller; a missing file is an
// error wrapping os.ErrNotExist.
func OpenRead(path string) (*os.File, os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open results: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("results file %q: %w", path, NotRegular(fi))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open results: %w", err)
	}
	// The path may have been replaced since the Stat.
	if got, err := f.Stat(); err != nil || !os.SameFile(fi, got) {
		f.Close()
		return nil, nil, fmt.Errorf("results file %q: it changed while opened", path)
	}
	return f, fi, nil
}

// OpenLocked opens the file at path (what it is, for messages: "results")
// to read and write, creating it with perm, and locks it: exclusive,
// non-blocking, gone with the descriptor, so that a killed process leaves
// no lock. A file another holder has locked fails at once with an error
// wrapping ErrLocked; anything but a regular file with ErrNotRegular. The
// file is opened without O_TRUNC and O_APPEND: nothing is changed before
// the lock is held, and the file can be cut back through the same handle.
// It is how the results file is opened, for any file of rows that must
// have one writer at a time.
func OpenLocked(path, what string, perm os.FileMode) (f *os.File, unlock func() error, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", what, err)
	}
	// A pipe or device cannot be cut back or resumed, and WriteAt fails on
	// it anyway: say so plainly rather than with a seek error.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = NotRegular(fi)
		}
		return nil, nil, fmt.Errorf("%s file %q: %w", what, path, err)
	}
	unlock, err = lockFile(f)
	if err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) && errWouldBlock != nil {
			return nil, nil, fmt.Errorf("%s file %q: %w", what, path, ErrLocked)
		}
		return nil, nil, fmt.Errorf("lock %s file %q: %w", what, path, err)
	}
	return f, unlock, nil
}
