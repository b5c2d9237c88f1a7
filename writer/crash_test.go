package writer

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestResumeFromEveryCut cuts a results file at every byte, as a crash or
// power cut could, and resumes from it: always accepted, whole rows read
// back, the torn rest left alone until the first Write cuts it off.
func TestResumeFromEveryCut(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	mustWrite(t, w, payload(3, 2)...)
	mustWrite(t, w,
		Result{TicketID: "=1", Status: StatusFailed, Message: `say "no", twice`, Line: 5, Attempts: 6, FinishedAt: t0, Key: fp(5)},
		Result{TicketID: "x", Status: StatusInvalid, Message: "ticket_id is empty", Line: 6, FinishedAt: t0},
	)
	mustClose(t, w)
	full := readFile(t, path)
	next := Result{TicketID: "9", Status: StatusSuccess, Message: "ok", Line: 9, FinishedAt: t0, Key: fp(9)}

	for n := 0; n <= len(full); n++ {
		prefix := full[:n]
		kept := prefix[:strings.LastIndexByte(prefix, '\n')+1]
		for _, write := range []bool{false, true} {
			writeFile(t, path, prefix)
			w, err := Open(path, Resume)
			if err != nil {
				t.Fatalf("cut at %d (%q): Open: %v", n, prefix[max(0, n-20):], err)
			}
			back := readBack(t, w)
			if got, want := len(back), max(strings.Count(kept, "\n")-1, 0); got != want {
				t.Errorf("cut at %d: read back %d rows, want %d", n, got, want)
			}
			if got, want := w.TornBytes(), int64(n-len(kept)); kept != "" && got != want {
				t.Errorf("cut at %d: TornBytes() = %d, want %d", n, got, want)
			}
			if write {
				mustWrite(t, w, next)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			want := prefix // a resume that wrote nothing changed nothing...
			if kept == "" {
				want = Header + "\n" // ...but a torn header, which is replaced
			}
			if write {
				want = kept
				if kept == "" {
					want = Header + "\n"
				}
				want += readCSVLine(t, next)
			}
			if got := readFile(t, path); got != want {
				t.Fatalf("cut at %d, write %v: file %q, want %q", n, write, got, want)
			}
		}
	}
}

// readCSVLine is the line Write writes for r.
func readCSVLine(t *testing.T, r Result) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "one.csv")
	w := mustOpen(t, path, Create)
	mustWrite(t, w, r)
	mustClose(t, w)
	return strings.TrimPrefix(readFile(t, path), Header+"\n")
}

// The helper writes payloads as fast as it can until it is killed.
const writeHelperEnv = "WRITER_TEST_WRITE_HELPER"

func TestWriteHelperProcess(t *testing.T) {
	path := os.Getenv(writeHelperEnv)
	if path == "" {
		t.Skip("helper for TestKillMidRunThenResume")
	}
	w, err := Open(path, Create)
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	for line := 2; ; line += 100 {
		if err := w.Write(payload(100, line)); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		if line == 2 {
			os.Stdout.WriteString("writing\n")
		}
	}
}

// TestKillMidRunThenResume kills a writing process (SIGKILL on unix) and
// resumes its file: every row that reached the file is whole and counted,
// and the lock died with the process.
func TestKillMidRunThenResume(t *testing.T) {
	path := tempPath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteHelperProcess$")
	cmd.Env = append(os.Environ(), writeHelperEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "writing\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q", line)
	}
	time.Sleep(50 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	size := int64(len(readFile(t, path)))
	w := mustOpen(t, path, Resume)
	back := readBack(t, w)
	if len(back) < 100 {
		t.Fatalf("read back %d rows after a run killed mid-write, want at least the first payload", len(back))
	}
	// Every row the file holds is whole, as the helper wrote it.
	for i, got := range back {
		l := i + 2
		r := payload(100, l-(l-2)%100)[(l-2)%100]
		if got.Damaged != "" || got.Line != l || got.Status != r.Status || got.Key != r.Key {
			t.Fatalf("row %d read back as %+v, want line %d %s %s", i, got, l, r.Status, r.Key)
		}
	}
	t.Logf("killed after %d rows (%d bytes), torn bytes %d", len(back), size, w.TornBytes())
	next := payload(1, len(back)+2)
	mustWrite(t, w, next...)
	mustClose(t, w)
	if got := len(readCSV(t, path)); got != len(back)+2 {
		t.Errorf("after resume and one more row: %d records, want %d", got, len(back)+2)
	}
}
