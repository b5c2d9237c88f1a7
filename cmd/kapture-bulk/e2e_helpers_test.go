package main

// Helpers of the end-to-end tests: they build the binary once (with -race,
// so the binary is race-checked too), run it against a kapturetest fake on
// loopback with real files, and wait for it. The files they write and
// read back are in e2e_files_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// binPath is the binary built by TestMain.
var binPath string

// What TestMain stamps into the binary, as the Makefile does.
const (
	testVersion = "v0.0.0-test"
	testCommit  = "abc1234"
	testDate    = "2026-01-02T03:04:05Z"
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kapture-bulk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "kapture-bulk")
	build := exec.Command("go", "build", "-race", "-o", binPath, "-ldflags",
		"-X main.version="+testVersion+" -X main.commit="+testCommit+" -X main.date="+testDate, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build -race:", err)
		return 1
	}
	return m.Run()
}

// e2eToken is the token the fakes accept: distinctive, so a test can look
// for it in everything the binary writes.
const e2eToken = "e2e-Secret-Token-7f3a9c1d5b"

// e2ePrefix mounts the fake under a path, so a client that drops or
// doubles the base URL's path gets 404s.
const e2ePrefix = "/kapture/api"

// maxRun bounds every run of the binary.
const maxRun = 90 * time.Second

// newFake starts a fake API with the e2e token and prefix unless opts say
// otherwise.
func newFake(t *testing.T, opts kapturetest.Options) *kapturetest.Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = e2eToken
	}
	if opts.Prefix == "" {
		opts.Prefix = e2ePrefix
	}
	return kapturetest.NewServer(t, opts)
}

// recorder records every item of every request that reached the fake's
// Fail hook (all requests that passed its rate limit), with the request's
// sequence number and arrival time. It chains to next, if any.
type recorder struct {
	mu    sync.Mutex
	reqs  []recordedReq
	next  func(n int, items []kapturetest.Item) *kapturetest.Fault
	epoch int // requests before this index belong to earlier runs
}

type recordedReq struct {
	n     int
	at    time.Time
	items []kapturetest.Item
}

func (r *recorder) fail(n int, items []kapturetest.Item) *kapturetest.Fault {
	r.mu.Lock()
	r.reqs = append(r.reqs, recordedReq{n: n, at: time.Now(), items: items})
	r.mu.Unlock()
	if r.next != nil {
		return r.next(n, items)
	}
	return nil
}

// mark starts a new epoch: since returns only what arrives after it.
func (r *recorder) mark() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch = len(r.reqs)
}

// since returns the requests recorded since the last mark.
func (r *recorder) since() []recordedReq {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedReq(nil), r.reqs[r.epoch:]...)
}

// items returns every item recorded since the last mark.
func (r *recorder) items() []kapturetest.Item {
	var out []kapturetest.Item
	for _, q := range r.since() {
		out = append(out, q.items...)
	}
	return out
}

// proc is a run of the binary.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr syncBuffer
	done   chan struct{}
	code   int
	err    error
}

// syncBuffer is a bytes.Buffer safe to read while the process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runOpts are how a test starts the binary.
type runOpts struct {
	token string    // KAPTURE_API_TOKEN; "" means e2eToken
	stdin io.Reader // nil: no stdin
	dir   string    // working directory; "" means the test's
	env   []string  // more environment variables, KEY=value
}

// start starts the binary with args; wait collects it.
func start(t *testing.T, o runOpts, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	p := &proc{cmd: exec.CommandContext(ctx, binPath, args...), done: make(chan struct{})}
	token := o.token
	if token == "" {
		token = e2eToken
	}
	p.cmd.Env = append(append(cleanEnv(), "KAPTURE_API_TOKEN="+token, "GORACE=halt_on_error=1 exitcode=66"), o.env...)
	p.cmd.Stdin = o.stdin
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.Dir = o.dir
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %v: %v", args, err)
	}
	go func() {
		defer cancel()
		defer close(p.done)
		err := p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			p.err = err
		}
		if ctx.Err() != nil {
			p.err = fmt.Errorf("killed after %v: %w", maxRun, ctx.Err())
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process and returns its exit code; it fails the test
// when the race detector spoke or the process could not be run.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	<-p.done
	if p.err != nil {
		t.Fatalf("%v: %v\nstderr:\n%s", p.cmd.Args, p.err, p.stderr.String())
	}
	if p.code == 66 || strings.Contains(p.stderr.String(), "WARNING: DATA RACE") {
		t.Fatalf("%v: data race in the binary:\n%s", p.cmd.Args, p.stderr.String())
	}
	return p.code
}

// runBin runs the binary to the end.
func runBin(t *testing.T, o runOpts, args ...string) *proc {
	t.Helper()
	p := start(t, o, args...)
	p.wait(t)
	return p
}

// cleanEnv is the test's environment without KAPTURE_ variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KAPTURE_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return env
}

// wantCode fails the test when p did not exit with want.
func wantCode(t *testing.T, p *proc, want int) {
	t.Helper()
	if p.code != want {
		t.Fatalf("%v: exit code %d, want %d\nstderr:\n%s", p.cmd.Args[1:], p.code, want, p.stderr.String())
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
