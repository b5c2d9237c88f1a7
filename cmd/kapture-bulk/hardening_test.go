package main

// Tests of the hardening of the commands alone: numeric flag ranges, the
// exit codes of a wrong configuration and of an input that breaks off
// after rows were sent, the token file's permissions, --ca-cert, and the
// writers that outlive a closed pipe.

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/internal/tokenfile/tokenfiletest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// TestNumericFlagsHaveRanges: every numeric flag of run and mock takes the
// values of its documented range and refuses the others at once (exit 2,
// naming the flag), NaN and values that would overflow included.
func TestNumericFlagsHaveRanges(t *testing.T) {
	tests := []struct {
		cmd, flag string
		ok, bad   []string
	}{
		{"run", "batch-size", []string{"1", "1000"}, []string{"0", "1001", "1000000000", "9223372036854775807", "-1"}},
		{"run", "workers", []string{"1", "64"}, []string{"0", "65", "10000000"}},
		{"run", "rate", []string{"0", "0.5", "1000"}, []string{"-1", "1000.5", "NaN", "Inf", "-Inf"}},
		{"run", "burst", []string{"1", "1000"}, []string{"0", "1001"}},
		{"run", "max-retries", []string{"0", "100"}, []string{"-1", "101"}},
		{"run", "timeout", []string{"100ms", "10m"}, []string{"0s", "99ms", "-1s", "10m1s", "2562047h"}},
		{"run", "limit", []string{"0", "9223372036854775807"}, []string{"-1"}},
		{"run", "progress-interval", []string{"100ms", "24h"}, []string{"0s", "99ms", "-1s"}},
		{"mock", "latency", []string{"0s", "10m"}, []string{"-1ms", "10m1s"}},
		{"mock", "fail-rate", []string{"0", "1"}, []string{"-0.1", "1.5", "NaN"}},
		{"mock", "rate-limit", []string{"0", "100000"}, []string{"-1", "100001", "NaN", "Inf"}},
		{"mock", "rate-burst", []string{"1", "1000"}, []string{"0", "1001"}},
		{"mock", "keep-sub-status", []string{"0", "0.03", "1"}, []string{"-0.1", "1.5", "NaN", "Inf"}},
	}
	check := func(cmd string, args []string) error {
		e := testEnv(nil)
		if cmd == "mock" {
			o, err := parseMock(args, e)
			if err != nil {
				return err
			}
			_, err = o.options()
			return err
		}
		o, err := parseRun(append(args, "in.csv"), e)
		if err != nil {
			return err
		}
		return o.flags.check()
	}
	for _, tt := range tests {
		t.Run(tt.cmd+"/"+tt.flag, func(t *testing.T) {
			for _, v := range tt.ok {
				if err := check(tt.cmd, []string{"--" + tt.flag, v}); err != nil {
					t.Errorf("--%s %s: %v, want it taken", tt.flag, v, err)
				}
			}
			for _, v := range tt.bad {
				err := check(tt.cmd, []string{"--" + tt.flag, v})
				if exitCode(err) != exitUsage || !strings.Contains(fmt.Sprint(err), "--"+tt.flag) {
					t.Errorf("--%s %s: %v (exit %d), want exit 2 naming the flag", tt.flag, v, err, exitCode(err))
				}
			}
		})
	}
}

// TestHardeningExitCodes: a wrong configuration found by the first
// requests is exit 2; an input that breaks off after rows were sent is
// exit 4 with a message that says so and how to go on, and exit 2 when
// nothing was sent.
func TestHardeningExitCodes(t *testing.T) {
	syntax := &reader.FileError{Name: "stdin", Line: 302, Column: 2, Msg: "CSV syntax error: quote never closed"}
	tests := []struct {
		name string
		err  error
		snap run.Snapshot
		code int
		msg  []string
	}{
		{"configuration", fmt.Errorf("%w: no such host acme.invalid", batch.ErrConfig), run.Snapshot{Sending: true, Requests: 2},
			exitUsage, []string{"configuration error: no such host acme.invalid"}},
		{"input broke off after rows were sent", syntax, run.Snapshot{Sending: true, Requests: 6, Success: 300},
			exitInputStopped, []string{"stdin:302:2", "rows before it were sent", "--resume"}},
		{"input broke off before anything was sent", syntax, run.Snapshot{Sending: true},
			exitUsage, []string{"stdin:302:2"}},
		{"input refused up front", fmt.Errorf("%w: %w", run.ErrRefused, syntax), run.Snapshot{},
			exitUsage, []string{"stdin:302:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := exitStatus(tt.err, tt.snap, exitRowsFailed)
			if code := report(err, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, m := range tt.msg {
				if !strings.Contains(stderr.String(), m) {
					t.Errorf("stderr %q, want %q", stderr.String(), m)
				}
			}
			s := &summary{}
			s.finish(err)
			if s.ExitCode != tt.code || s.Outcome != "aborted" {
				t.Errorf("summary exit %d outcome %q, want %d aborted", s.ExitCode, s.Outcome, tt.code)
			}
		})
	}
}

// TestTokenFileReadableByOthersIsWarned: a token file others may read
// gets a warning naming it; one only its owner reads gets none.
func TestTokenFileReadableByOthersIsWarned(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits on Windows")
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o400, false}, {0o640, true}, {0o604, true}, {0o644, true}} {
		path := filepath.Join(dir, fmt.Sprintf("token-%04o", tt.mode))
		if err := os.WriteFile(path, []byte("a-token-value\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		warnTokenFile(path, slog.New(slog.NewTextHandler(&logs, nil)))
		if got := strings.Contains(logs.String(), "can be read by other users") && strings.Contains(logs.String(), path); got != tt.warn {
			t.Errorf("mode %04o: warned %v, want %v: %q", tt.mode, got, tt.warn, logs.String())
		}
		if strings.Contains(logs.String(), "a-token-value") {
			t.Errorf("the warning shows the token: %q", logs.String())
		}
	}
}

// TestTokenFileOfKubernetesSecretIsNotWarned: a Secret mounted the usual
// ways (its defaultMode left at 0644, or 0440 through fsGroup) gets no
// warning: only the pod sees the volume, and no chmod inside could change
// the mode. The same file outside such a volume still gets one.
func TestTokenFileOfKubernetesSecretIsNotWarned(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits on Windows")
	}
	for _, mode := range []os.FileMode{0o644, 0o440} {
		path, err := tokenfiletest.KubeletSecret(t.TempDir(), "token", []byte("a-token-value\n"), mode)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		warnTokenFile(path, slog.New(slog.NewTextHandler(&logs, nil)))
		if logs.Len() != 0 {
			t.Errorf("Secret file of mode %04o: %q, want no warning", mode, logs.String())
		}
	}
	plain := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(plain, []byte("a-token-value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(plain, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	warnTokenFile(plain, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "can be read by other users") {
		t.Errorf("0644 outside a Secret volume: %q, want a warning", logs.String())
	}
}

// TestCACertFile: --ca-cert adds a PEM file's certificates to the system's
// pool; a file without one, or none at all, is exit 2.
func TestCACertFile(t *testing.T) {
	dir := t.TempDir()
	ts := httptest.NewTLSServer(nil)
	ts.Close()
	good := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	pool, err := loadCACert(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Certificate().Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.com"}); err != nil {
		t.Errorf("the pool does not trust the file's certificate: %v", err)
	}
	notPEM := filepath.Join(dir, "ca.der")
	if err := os.WriteFile(notPEM, ts.Certificate().Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{notPEM, filepath.Join(dir, "missing.pem")} {
		if _, err := loadCACert(path); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--ca-cert") {
			t.Errorf("loadCACert(%s) = %v, want exit 2 naming --ca-cert", path, err)
		}
	}
	if pool, err := loadCACert(""); pool != nil || err != nil {
		t.Errorf(`loadCACert("") = %v, %v; want the system's pool (nil)`, pool, err)
	}
}

// failingWriter fails every write, as a pipe whose reader has gone does.
type failingWriter struct{ writes int }

func (f *failingWriter) Write([]byte) (int, error) {
	f.writes++
	return 0, syscall.EPIPE
}

// TestDroppingWriterOutlivesAClosedPipe: a failed write is not reported,
// and nothing more is tried.
func TestDroppingWriterOutlivesAClosedPipe(t *testing.T) {
	f := &failingWriter{}
	d := &droppingWriter{w: f}
	for range 3 {
		if n, err := fmt.Fprint(d, "progress line\n"); n != len("progress line\n") || err != nil {
			t.Fatalf("write = %d, %v; want all written, no error", n, err)
		}
	}
	if f.writes != 1 {
		t.Errorf("%d writes reached the broken pipe, want 1", f.writes)
	}
	var ok bytes.Buffer
	d = &droppingWriter{w: &ok}
	fmt.Fprint(d, "a", "b")
	if ok.String() != "ab" {
		t.Errorf("wrote %q, want ab", ok.String())
	}
}
