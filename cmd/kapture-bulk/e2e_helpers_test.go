package main

// Helpers of the end-to-end tests: they run the command against a
// kapturetest fake on loopback with real files, in process through cli
// (with buffers, an environment of its own and a signal channel), and wait
// for it. The built binary (with -race, so it is race-checked too) is for
// what only a process shows: signal delivery, SIGKILL, exit codes of the
// process, a closed pipe, a terminal, the README's shell blocks. The files
// they write and read back are in e2e_files_test.go.

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
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
)

// What the test binary stamps into the binary, as the Makefile does.
const (
	testVersion = "v0.0.0-test"
	testCommit  = "abc1234"
	testDate    = "2026-01-02T03:04:05Z"
)

// built is the binary, built once by the first test that needs a process,
// into the folder TestMain removes at the end.
var built struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kapture-bulk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	built.dir = dir
	return m.Run()
}

// binary is the built binary; the first call builds it.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		path := filepath.Join(built.dir, "kapture-bulk")
		build := exec.Command("go", "build", "-race", "-o", path, "-ldflags",
			"-X main.version="+testVersion+" -X main.commit="+testCommit+" -X main.date="+testDate, ".")
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build -race: %w\n%s", err, out)
			return
		}
		built.path = path
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// e2eToken is the token the fakes accept: distinctive, so a test can look
// for it in everything the binary writes.
const e2eToken = "e2e-Secret-Token-7f3a9c1d5b"

// e2ePrefix mounts the fake under a path, so a client that drops or
// doubles the base URL's path gets 404s.
const e2ePrefix = "/kapture/api"

// maxRun bounds every run of the command.
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

// proc is a run of the command: in process (cmd nil, signals reach it
// through sigs as main would pass them on) or of the built binary.
type proc struct {
	args   []string
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	code   int
	err    error
	cmd    *exec.Cmd
	sigs   chan os.Signal
}

// syncBuffer is a bytes.Buffer safe to read while the command writes it.
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

func (s *syncBuffer) Bytes() []byte { return []byte(s.String()) }

// runOpts are how a test starts the command.
type runOpts struct {
	token   string    // KAPTURE_API_TOKEN; "" means e2eToken
	noToken bool      // or KAPTURE_API_TOKEN unset
	stdin   io.Reader // nil: empty
	env     []string  // more environment variables, KEY=value
	// In process only: tune adjusts a run's configuration (see
	// quickRetries); stderr is a terminal; signals, when set, is the
	// channel the command listens on instead of the proc's own.
	tune     func(*run.Config)
	terminal bool
	signals  <-chan os.Signal
}

// quickRetries retries after milliseconds, not the default backoff's
// seconds: for tests of what faults do to the rows, not of how long a
// run waits for them. A 429's Retry-After is still honoured.
func quickRetries(cfg *run.Config) {
	cfg.Engine.BackoffBase, cfg.Engine.BackoffMax = time.Millisecond, 20*time.Millisecond
}

func (o runOpts) environ() []string {
	if o.noToken {
		return o.env
	}
	token := o.token
	if token == "" {
		token = e2eToken
	}
	return append([]string{"KAPTURE_API_TOKEN=" + token}, o.env...)
}

// start runs the command with args in process; wait collects it.
func start(t *testing.T, o runOpts, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	p := &proc{args: args, done: make(chan struct{}), sigs: make(chan os.Signal, 2)}
	vars := map[string]string{}
	for _, kv := range o.environ() {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	stdin := o.stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var sigs <-chan os.Signal = p.sigs
	if o.signals != nil {
		sigs, p.sigs = o.signals, nil
	}
	e := &env{stdin: stdin, stdout: &p.stdout, stderr: &p.stderr, getenv: func(k string) string { return vars[k] },
		signals: sigs, isTerminal: func() bool { return o.terminal }}
	go func() { // ends when cli returns: at the latest when ctx ends it
		defer cancel()
		defer close(p.done)
		if o.tune != nil && len(args) > 0 && args[0] == "run" {
			// cli's run, with the configuration tuned.
			p.code = report(cmdRun(ctx, args[1:], e, func(ctx context.Context, ro *runOptions) error {
				ro.tune = o.tune
				return runRun(ctx, ro)
			}), e.stderr)
		} else {
			p.code = cli(ctx, args, e)
		}
		if ctx.Err() != nil {
			p.err = fmt.Errorf("stopped after %v: %w", maxRun, ctx.Err())
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

// startBin starts the built binary with args; wait collects it.
func startBin(t *testing.T, o runOpts, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	if o.tune != nil || o.terminal || o.signals != nil {
		t.Fatal("runOpts.tune, terminal and signals are for runs in process")
	}
	p := &proc{args: args, cmd: exec.CommandContext(ctx, binary(t), args...), done: make(chan struct{})}
	p.cmd.Env = append(append(cleanEnv(), "GORACE=halt_on_error=1 exitcode=66"), o.environ()...)
	p.cmd.Stdin = o.stdin
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %v: %v", args, err)
	}
	go func() { // ends when the process does: at the latest when ctx kills it
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

// signal sends sig to the process, or in process passes it on as main
// does (dropped when two are pending). SIGKILL needs a process.
func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if p.cmd != nil {
		if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		return
	}
	if sig == syscall.SIGKILL || p.sigs == nil {
		t.Fatal("SIGKILL in process, or signals on the test's own channel: start the binary, or send on it")
	}
	select {
	case p.sigs <- sig:
	default:
	}
}

// wait waits for the command and returns its exit code; it fails the
// test when the binary's race detector spoke or the command could not be
// run to its end.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	<-p.done
	if p.err != nil {
		t.Fatalf("%v: %v\nstderr:\n%s", p.args, p.err, p.stderr.String())
	}
	if p.cmd != nil && (p.code == 66 || strings.Contains(p.stderr.String(), "WARNING: DATA RACE")) {
		t.Fatalf("%v: data race in the binary:\n%s", p.args, p.stderr.String())
	}
	return p.code
}

// runCmd runs the command to the end in process.
func runCmd(t *testing.T, o runOpts, args ...string) *proc {
	t.Helper()
	p := start(t, o, args...)
	p.wait(t)
	return p
}

// runBin runs the built binary to the end.
func runBin(t *testing.T, o runOpts, args ...string) *proc {
	t.Helper()
	p := startBin(t, o, args...)
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
		t.Fatalf("%v: exit code %d, want %d\nstderr:\n%s", p.args, p.code, want, p.stderr.String())
	}
}

// skipShort skips a test of a memory or time bound, or one too slow for
// every change, under -short (make test); make test-long runs it.
func skipShort(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s: make test-long", what)
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
