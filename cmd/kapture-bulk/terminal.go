package main

import (
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/term"
)

func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }

// termLines serialises stderr between the bar and log lines: a log line
// first wipes the bar's partial line; the bar redraws itself below it on
// its next show.
type termLines struct {
	mu      sync.Mutex
	w       io.Writer
	partial int // width of the bar's text on the current line; 0: at a line start
}

func (t *termLines) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.wipe()
	return t.w.Write(p)
}

func (t *termLines) clearBar() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.wipe()
}

func (t *termLines) wipe() {
	if t.partial > 0 {
		io.WriteString(t.w, "\r"+strings.Repeat(" ", t.partial)+"\r")
		t.partial = 0
	}
}

type barWriter struct{ t *termLines }

func (t *termLines) barWriter() io.Writer { return barWriter{t} }

func (b barWriter) Write(p []byte) (int, error) {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	if i := strings.LastIndexAny(string(p), "\r\n"); i >= 0 {
		b.t.partial = utf8.RuneCount(p[i+1:])
	} else {
		b.t.partial += utf8.RuneCount(p)
	}
	return b.t.w.Write(p)
}
