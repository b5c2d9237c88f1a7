package writer

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestLockSameProcess(t *testing.T) {
	for name, second := range map[string]Mode{"create": Create, "overwrite": Overwrite, "resume": Resume} {
		t.Run(name, func(t *testing.T) {
			path := tempPath(t)
			w := mustOpen(t, path, Create)
			mustWrite(t, w, Result{TicketID: "1", Status: StatusSuccess, Message: "ok", Line: 2, FinishedAt: t0, Key: fp(1)})
			before := readFile(t, path)

			_, err := Open(path, second)
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("second Open: err = %v, want ErrLocked", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if got := readFile(t, path); got != before {
				t.Errorf("a refused Open changed the file:\n%q", got)
			}

			// The first Writer is unaffected, and Close frees the file.
			mustWrite(t, w, Result{TicketID: "2", Status: StatusSuccess, Message: "ok", Line: 3, FinishedAt: t0, Key: fp(2)})
			mustClose(t, w)
			w2 := mustOpen(t, path, Resume)
			if got := len(readBack(t, w2)); got != 2 {
				t.Errorf("Rows() = %d, want 2", got)
			}
		})
	}
}

// The helper process holds the lock until its stdin closes. It is this
// test binary run again with only this test selected.
const lockHelperEnv = "WRITER_TEST_LOCK_HELPER"

func TestLockHelperProcess(t *testing.T) {
	path := os.Getenv(lockHelperEnv)
	if path == "" {
		t.Skip("helper for TestLockAcrossProcesses")
	}
	w, err := Open(path, Resume)
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes it
	w.Close()
	os.Exit(0)
}

func TestLockAcrossProcesses(t *testing.T) {
	path := tempPath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})

	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		if line != "locked\n" {
			t.Fatalf("helper: %q", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not take the lock within 30s")
	}

	for _, mode := range []Mode{Create, Overwrite, Resume} {
		_, err := Open(path, mode)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("Open(%v) while another process holds the lock: err = %v, want ErrLocked", mode, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	w := mustOpen(t, path, Resume) // free once the holder is gone
	mustClose(t, w)
}

func TestLockReleasedWhenHolderIsKilled(t *testing.T) {
	path := tempPath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil { // kept open: the helper waits
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q", line)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	w := mustOpen(t, path, Resume) // no stale lock after kill -9
	mustClose(t, w)
}
