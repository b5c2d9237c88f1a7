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

// peakRSS is the peak resident memory of a finished command, in bytes. It
// is an upper bound: Linux starts a child's high-water mark at its
// parent's resident memory when it forks (Go forks with vfork), so the
// tests keep their own memory small by streaming what they generate.
func peakRSS(t *testing.T, cmd *exec.Cmd) int64 {
	t.Helper()
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no rusage for %v", cmd.Args)
	}
	return ru.Maxrss << 10
}

// residentBytes is a running process's resident memory, from /proc.
func residentBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0 // it has ended
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// endWithin waits for p to end by itself within d. A process that runs
// longer, or whose memory passes twice maxPeakRSS on the way (a limit
// that stopped working), is killed and fails the test, before it can
// exhaust the machine.
func endWithin(t *testing.T, p *proc, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-deadline.C:
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Fatalf("%v still running after %v", p.cmd.Args[1:], d)
		case <-tick.C:
			if rss := residentBytes(p.cmd.Process.Pid); rss > 2*maxPeakRSS {
				_ = p.cmd.Process.Kill()
				<-p.done
				t.Fatalf("%v killed at %d MiB resident", p.cmd.Args[1:], rss>>20)
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
