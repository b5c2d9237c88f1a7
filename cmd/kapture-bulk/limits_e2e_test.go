//go:build linux

package main

// End-to-end tests of the input limits with the built binary: hostile
// inputs (endless zeros, a line of hundreds of megabytes, a million
// columns, a workbook) end at once with exit 2 and a short message, and
// the process's peak memory stays bounded. Linux only: the peak is read
// from the child's rusage, whose ru_maxrss Linux gives in KiB.

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

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

const (
	// maxPeakRSS is the memory any input may make the process use.
	maxPeakRSS = 256 << 20
	// refuseWithin bounds how long a refusal may take: it must come from
	// the limits, not from a kill.
	refuseWithin = 30 * time.Second
	// maxLine bounds the line that says why an input is refused.
	maxLine = 300
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

// hostile is an input given as a file (INPUT is its path) or on stdin
// (INPUT is -), and what its refusal must say.
type hostile struct {
	name  string
	path  string                    // a file
	stdin func(*testing.T) *os.File // or what stdin gets
	want  []string                  // fragments of the refusal
}

// fromFile gives a file as stdin.
func fromFile(path string) func(*testing.T) *os.File {
	return func(t *testing.T) *os.File {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
}

// hostileInputs generates the inputs in dir. The 600 MB line is left out
// when dir has less than 2 GB free.
func hostileInputs(t *testing.T, dir string) []hostile {
	t.Helper()
	book := filepath.Join(dir, "book.xlsx")
	if err := os.WriteFile(book, xlsxBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	wide := genFile(t, dir, "wide.csv", func(w *bufio.Writer) {
		w.WriteString("ticket_id,sub_status")
		for i := range 1_000_000 {
			fmt.Fprintf(w, ",c%d", i)
		}
		w.WriteString("\n713517204455,CL\n")
	})
	inputs := []hostile{
		{name: "/dev/zero", path: "/dev/zero", want: []string{"/dev/zero: this is not a text file"}},
		{name: "/dev/zero on stdin", stdin: fromFile("/dev/zero"), want: []string{"stdin: this is not a text file"}},
		{name: "endless line on stdin", stdin: endlessPipe, want: []string{"stdin:1: the header is longer than 1 MiB"}},
		{name: "a million columns", path: wide, want: []string{"wide.csv:1: the header has more than 1000 columns"}},
		{name: "a million columns on stdin", stdin: fromFile(wide), want: []string{"stdin:1: the header has more than 1000 columns"}},
		{name: "an Excel workbook", path: book, want: []string{"book.xlsx: this is an Excel workbook (.xlsx)", "CSV UTF-8"}},
		{name: "an Excel workbook on stdin", stdin: fromFile(book), want: []string{"stdin: this is an Excel workbook (.xlsx)"}},
	}
	const lineBytes = 600 << 20
	if free := freeBytes(t, dir); free < 2<<30 {
		t.Logf("the %d MB line is left out: %d MB free in %s, want 2 GB", lineBytes>>20, free>>20, dir)
		return inputs
	}
	long := genFile(t, dir, "long-line.csv", func(w *bufio.Writer) {
		w.WriteString("ticket_id,sub_status,comment\n713517204455,CL,")
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range lineBytes >> 20 {
			w.Write(chunk)
		}
		w.WriteString("\n713517204456,CL,ok\n")
	})
	return append(inputs,
		hostile{name: "a 600 MB line", path: long, want: []string{"long-line.csv:2: the row starting here is longer than 1 MiB"}},
		hostile{name: "a 600 MB line on stdin", stdin: fromFile(long), want: []string{"stdin:2: the row starting here is longer than 1 MiB"}},
	)
}

// TestHostileInputs: whatever the input, validate and run end by
// themselves, at once, with exit 2, one short line saying why and naming
// the limit, nothing sent, and a bounded peak memory.
func TestHostileInputs(t *testing.T) {
	s := newFake(t, kapturetest.Options{})
	for _, in := range hostileInputs(t, t.TempDir()) {
		for _, command := range []string{"validate", "run"} {
			t.Run(in.name+"/"+command, func(t *testing.T) {
				args := []string{command}
				if command == "run" {
					args = append(args, "--base-url", s.URL, "--rate", "0", "--results", filepath.Join(t.TempDir(), "results.csv"))
				}
				o := runOpts{}
				if in.stdin != nil {
					o.stdin = in.stdin(t)
					args = append(args, "-")
				} else {
					args = append(args, in.path)
				}
				before := s.Stats().Requests
				p := start(t, o, args...)
				endWithin(t, p, refuseWithin)
				p.wait(t)
				wantCode(t, p, 2)
				wantRefusal(t, p.stderr.String(), in.want)
				if got := s.Stats().Requests - before; got != 0 {
					t.Errorf("%d requests sent, want none", got)
				}
				if got := peakRSS(t, p.cmd); got > maxPeakRSS {
					t.Errorf("peak RSS %d MiB, want at most %d MiB", got>>20, maxPeakRSS>>20)
				} else {
					t.Logf("peak RSS %d MiB", got>>20)
				}
			})
		}
	}
}

// wantRefusal checks the line of stderr that says why the input was
// refused (the last "kapture-bulk: " line that is not the summary's).
func wantRefusal(t *testing.T, stderr string, want []string) {
	t.Helper()
	var refusal string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "kapture-bulk: ") && !strings.Contains(l, " rows read:") {
			refusal = l
		}
	}
	for _, w := range want {
		if !strings.Contains(refusal, w) {
			t.Errorf("refusal %q does not say %q\nstderr:\n%.2000s", refusal, w, stderr)
		}
	}
	if len(refusal) > maxLine {
		t.Errorf("refusal is %d bytes, want at most %d: %.300q…", len(refusal), maxLine, refusal)
	}
	if len(stderr) > 4<<10 {
		t.Errorf("stderr is %d bytes: %.500q…", len(stderr), stderr)
	}
}

// TestRunMemoryWithRowsAtTheLimit runs the worst case of valid input for
// memory: every row's request object at reader.MaxObjectBytes, and an API
// slower than the file, so that every queue between the reader and the
// workers fills. The race detector multiplies memory, so this builds the
// binary as users get it.
func TestRunMemoryWithRowsAtTheLimit(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kapture-bulk")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// 6,000 rows are more than the queues hold with the default flags
	// (the producer's 256 and 1,024 a worker).
	const rows = 6000
	comment := strings.Repeat("c", reader.MaxObjectBytes-len(`{"ticket_id":"713517204455","sub_status":"CL","queue":"","comment":"","callback_time":"","disposition":""}`))
	in := genFile(t, dir, "big-rows.csv", func(w *bufio.Writer) {
		w.WriteString("ticket_id,sub_status,comment\n")
		for i := range rows {
			fmt.Fprintf(w, "%d,CL,%s\n", 713517204455+i, comment)
		}
	})
	s := newFake(t, kapturetest.Options{Latency: 200 * time.Millisecond})
	results := filepath.Join(dir, "results.csv")
	cmd := exec.Command(bin, "run", "--base-url", s.URL, "--rate", "0", "--quiet", "--results", results, in)
	cmd.Env = append(cleanEnv(), "KAPTURE_API_TOKEN="+e2eToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	res := readResults(t, results)
	success := 0
	for _, r := range res {
		if r.Status == wantSuccess {
			success++
		}
	}
	if success != rows {
		t.Errorf("%d rows succeeded, want %d", success, rows)
	}
	if got := peakRSS(t, cmd); got > maxPeakRSS {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", got>>20, maxPeakRSS>>20)
	} else {
		t.Logf("peak RSS %d MiB", got>>20)
	}
}
