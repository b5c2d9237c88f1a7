//go:build linux

package main

// End-to-end tests of the input limits with the built binary: hostile
// inputs (endless zeros, a line of hundreds of megabytes, a million
// columns, a workbook) end at once with exit 2 and a short message, and
// the process's peak memory stays bounded. Linux only: the peak is read
// from the child's rusage, whose ru_maxrss Linux gives in KiB.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// hostileInputs generates the inputs in dir. The 600 MB line (a memory
// bound: reader's tests refuse a line one byte over the limit) is left out
// under -short, and when dir has less than 2 GB free.
func hostileInputs(t *testing.T, dir string) []hostile {
	t.Helper()
	book := filepath.Join(dir, "book.xlsx")
	if err := os.WriteFile(book, xlsxBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	wide := genFile(t, dir, "wide.csv", func(w *bufio.Writer) {
		w.WriteString("ticket_id,sub_status")
		for i := range 1_000_000 {
			w.WriteString(",c" + strconv.Itoa(i))
		}
		w.WriteString("\n713517204455,CL\n")
	})
	inputs := []hostile{
		{name: "/dev/zero", path: "/dev/zero", want: []string{"input /dev/zero is a device, not a regular file"}},
		{name: "/dev/zero on stdin", stdin: fromFile("/dev/zero"), want: []string{"stdin: this is not a text file"}},
		{name: "endless line on stdin", stdin: endlessPipe, want: []string{"stdin:1: the header is longer than 1 MiB"}},
		{name: "a million columns", path: wide, want: []string{"wide.csv:1: the header has more than 1000 columns"}},
		{name: "a million columns on stdin", stdin: fromFile(wide), want: []string{"stdin:1: the header has more than 1000 columns"}},
		{name: "an Excel workbook", path: book, want: []string{"book.xlsx: this is an Excel workbook (.xlsx)", "CSV UTF-8"}},
		{name: "an Excel workbook on stdin", stdin: fromFile(book), want: []string{"stdin: this is an Excel workbook (.xlsx)"}},
	}
	const lineBytes = 600 << 20
	if testing.Short() {
		return inputs
	}
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
	t.Parallel()
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
				p := startBin(t, o, args...)
				peak := endWithin(t, p, refuseWithin)
				p.wait(t)
				wantCode(t, p, 2)
				wantRefusal(t, p.stderr.String(), in.want)
				if got := s.Stats().Requests - before; got != 0 {
					t.Errorf("%d requests sent, want none", got)
				}
				if peak > maxPeakRSS {
					t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, maxPeakRSS>>20)
				} else {
					t.Logf("peak RSS %d MiB", peak>>20)
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
	skipShort(t, "a memory bound")
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
	peak, err := runPeak(cmd)
	if err != nil {
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
	if peak > maxPeakRSS {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, maxPeakRSS>>20)
	} else {
		t.Logf("peak RSS %d MiB", peak>>20)
	}
}
