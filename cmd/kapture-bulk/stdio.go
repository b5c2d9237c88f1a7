package main

import (
	"io"
	"sync/atomic"
)

// droppingWriter is stdout or stderr for a run: once a write fails (the
// reader of a pipe went away, as `| head -1` does; a terminal hung up) it
// drops everything after, and it never reports a failure. What goes there
// is commentary: losing it must not stop a run, nor hold back its results
// and summary file. main also ignores SIGPIPE, without which the first
// write to a closed pipe would kill the process.
type droppingWriter struct {
	w      io.Writer
	broken atomic.Bool
}

func (d *droppingWriter) Write(p []byte) (int, error) {
	if d.broken.Load() {
		return len(p), nil
	}
	if _, err := d.w.Write(p); err != nil {
		d.broken.Store(true)
	}
	return len(p), nil
}
