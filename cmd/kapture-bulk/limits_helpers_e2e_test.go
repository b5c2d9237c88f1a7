//go:build linux

package main

// Helpers of the input-limit tests: a finished command's peak memory, a
// process that must end in time, large generated inputs, an endless pipe
// and a workbook.

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// highWater is a running process's peak resident memory so far: Linux's
// VmHWM, which exec resets, so it is the program's own. (A child's rusage
// maxrss is not: it starts at its parent's resident memory when it forks,
// and the test binary's own memory grows with the tests it has run.) 0 once
// the process has ended.
func highWater(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0 // it has ended
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// hwmEvery is how often the tests read a child's high-water mark: what a
// child adds in its last moments before it exits is missed, a few MiB at
// most.
const hwmEvery = 2 * time.Millisecond

// runPeak runs cmd to its end and returns its peak resident memory (see
// highWater) and cmd's error.
func runPeak(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // ends when the child does
	tick := time.NewTicker(hwmEvery)
	defer tick.Stop()
	var peak int64
	for {
		select {
		case err := <-done:
			return peak, err
		case <-tick.C:
			peak = max(peak, highWater(cmd.Process.Pid))
		}
	}
}

// endWithin waits for p to end by itself within d, and returns its peak
// resident memory (see highWater). A process that runs longer, or whose
// memory passes twice maxPeakRSS on the way (a limit that stopped
// working), is killed and fails the test, before it can exhaust the
// machine.
func endWithin(t *testing.T, p *proc, d time.Duration) int64 {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(hwmEvery)
	defer tick.Stop()
	var peak int64
	for {
		select {
		case <-p.done:
			return peak
		case <-deadline.C:
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Fatalf("%v still running after %v", p.cmd.Args[1:], d)
		case <-tick.C:
			peak = max(peak, highWater(p.cmd.Process.Pid))
			if peak > 2*maxPeakRSS {
				_ = p.cmd.Process.Kill()
				<-p.done
				t.Fatalf("%v killed at %d MiB resident", p.cmd.Args[1:], peak>>20)
			}
		}
	}
}

// genFile streams a file into dir: gen writes it through a buffer, so a
// file of hundreds of megabytes never sits in memory.
func genFile(t *testing.T, dir, name string, gen func(w *bufio.Writer)) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	gen(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeBytes is the space left for an unprivileged user under dir.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// endlessPipe is a pipe the test writes text into, without a line feed,
// until the binary stops reading it.
func endlessPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	// The writer ends when the binary has exited and the read end is
	// closed on both sides (EPIPE): the cleanups close ours and wait.
	go func() {
		defer close(done)
		defer w.Close()
		chunk := bytes.Repeat([]byte("ticket_id "), 6554)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { <-done })
	t.Cleanup(func() { r.Close() })
	return r
}

// xlsxBytes is a workbook as Excel lays it out: its parts' names are in
// the clear, its contents deflated.
func xlsxBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, `<?xml version="1.0"?><part name="%s"/>`, name)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
