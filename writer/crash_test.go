package writer

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestResumeFromEveryCut cuts a results file at every byte, as a crash or
// power cut could, and resumes from it: always accepted, whole rows kept,
// the torn rest cut off.
func TestResumeFromEveryCut(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	mustWrite(t, w, payload(3, 2)...)
	mustWrite(t, w,
		Result{TicketID: "=1", Status: StatusFailed, Message: `say "no", twice`, Line: 5, Attempts: 6, FinishedAt: t0, Fingerprint: fp(5)},
		Result{TicketID: "x", Status: StatusInvalid, Message: "ticket_id is empty", Line: 6, FinishedAt: t0},
	)
	mustClose(t, w)
	full := readFile(t, path)

	for n := 0; n <= len(full); n++ {
		prefix := full[:n]
		writeFile(t, path, prefix)
		w, err := Open(path, Resume)
		if err != nil {
			t.Fatalf("cut at %d (%q): Open: %v", n, prefix[max(0, n-20):], err)
		}
		kept := prefix[:strings.LastIndexByte(prefix, '\n')+1]
		d := w.Done()
		if got, want := d.Rows(), max(strings.Count(kept, "\n")-1, 0); got != want {
			t.Errorf("cut at %d: Rows() = %d, want %d", n, got, want)
		}
		if got, want := d.TornBytes(), int64(n-len(kept)); got != want {
			t.Errorf("cut at %d: TornBytes() = %d, want %d", n, got, want)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if kept == "" {
			kept = Header + "\n"
		}
		if got := readFile(t, path); got != kept {
			t.Fatalf("cut at %d: file %q, want %q", n, got, kept)
		}
	}
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
	if testing.Short() {
		t.Skip("starts a process")
	}
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
	d := w.Done()
	if d.Rows() < 100 {
		t.Fatalf("Rows() = %d after a run killed mid-write, want at least the first payload", d.Rows())
	}
	// Every row the file holds is whole: each line is done or failed as
	// payload made it.
	for l := 2; l < d.Rows()+2; l++ {
		r := payload(100, l-(l-2)%100)[(l-2)%100] // as the helper wrote it
		if got, want := d.Skip(l, r.Fingerprint), r.Status == StatusSuccess; got != want {
			t.Fatalf("Skip(%d) = %v, want %v", l, got, want)
		}
	}
	if d.Matched() != d.Rows() {
		t.Errorf("Matched() = %d, want Rows() = %d", d.Matched(), d.Rows())
	}
	t.Logf("killed after %d rows (%d bytes), torn bytes %d", d.Rows(), size, d.TornBytes())
	next := payload(1, d.Rows()+2)
	mustWrite(t, w, next...)
	mustClose(t, w)
	if got := len(readCSV(t, path)); got != d.Rows()+2 {
		t.Errorf("after resume and one more row: %d records, want %d", got, d.Rows()+2)
	}
}
