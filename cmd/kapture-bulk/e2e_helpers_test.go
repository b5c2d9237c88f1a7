package main

// Helpers of the end-to-end tests: they build the binary once (with -race,
// so the binary is race-checked too), run it against a kapturetest fake on
// loopback with real files, and read back the results CSV.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// resultRow is one row of a results CSV.
type resultRow struct {
	TicketID, Status, Message string
	Line                      int
	HTTPStatus                string
	Attempts                  int
	FinishedAt, Fingerprint   string
}

const resultsHeader = "ticket_id,status,message,line,http_status,attempts,finished_at,fingerprint"

// readResults parses a results CSV strictly: the contract's header, eight
// cells a row, numeric line and attempts.
func readResults(t *testing.T, path string) []resultRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read results: %v", err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("results file %s does not end with a newline (torn last line)", path)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = 8
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse results %s: %v\n%s", path, err, b)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != resultsHeader {
		t.Fatalf("results header %v, want %s", recs[:min(1, len(recs))], resultsHeader)
	}
	var out []resultRow
	for i, c := range recs[1:] {
		line, err1 := strconv.Atoi(c[3])
		att, err2 := strconv.Atoi(c[5])
		if err1 != nil || err2 != nil {
			t.Fatalf("results row %d: bad line or attempts: %q", i+2, c)
		}
		if _, err := time.Parse(time.RFC3339, c[6]); err != nil {
			t.Errorf("results row %d: finished_at %q: %v", i+2, c[6], err)
		}
		out = append(out, resultRow{c[0], c[1], c[2], line, c[4], att, c[6], c[7]})
	}
	return out
}

// latest is the final result per line: the last row for it wins.
func latest(rows []resultRow) map[int]resultRow {
	m := make(map[int]resultRow, len(rows))
	for _, r := range rows {
		m[r.Line] = r
	}
	return m
}

// summaryJSON reads a --summary-json file.
type summaryFile struct {
	Outcome       string  `json:"outcome"`
	ExitCode      int     `json:"exit_code"`
	Error         string  `json:"error"`
	RowsRead      int     `json:"rows_read"`
	Success       int     `json:"success"`
	Failed        int     `json:"failed"`
	Invalid       int     `json:"invalid"`
	SkippedResume int     `json:"skipped_resume"`
	NotSent       int     `json:"not_sent"`
	Requests      int     `json:"requests"`
	Retries       int     `json:"retries"`
	Splits        int     `json:"splits"`
	FinalRate     float64 `json:"final_rate"`
	Elapsed       float64 `json:"elapsed_seconds"`
	ReplyForm     string  `json:"reply_form"`
	BatchSize     int     `json:"batch_size"`
}

func readSummary(t *testing.T, path string) summaryFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read summary: %v", err)
	}
	var s summaryFile
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("parse summary %s: %v", b, err)
	}
	return s
}

// row is one data row of a generated input file.
type row struct {
	TicketID, SubStatus, Queue, Comment, CallbackTime, Disposition string
	Priority, AgentNotes                                           string
	blank                                                          bool // an all-empty row: skipped, no result
	want                                                           string
	line                                                           int // set by writeInput
}

// Expected outcomes of a row.
const (
	wantSuccess = "success"
	wantFailed  = "failed" // unknown ticket: the server's message
	wantInvalid = "invalid"
)

const inputHeader = "Ticket ID,Sub Status,Queue,Comment,Callback Time,Disposition,Priority,Agent Notes"

// csvBytes renders rows under inputHeader and sets each row's physical
// start line (header = 1; a quoted comment with a newline spans two).
func csvBytes(t *testing.T, rows []row) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(inputHeader + "\n")
	line := 2
	w := csv.NewWriter(&buf)
	for i := range rows {
		r := &rows[i]
		before := buf.Len()
		cells := []string{r.TicketID, r.SubStatus, r.Queue, r.Comment, r.CallbackTime, r.Disposition, r.Priority, r.AgentNotes}
		if r.blank {
			cells = make([]string, 8)
		}
		if err := w.Write(cells); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		r.line = line
		line += bytes.Count(buf.Bytes()[before:], []byte("\n"))
	}
	return buf.Bytes()
}

// writeInput writes rows as a CSV file in dir and returns its path.
func writeInput(t *testing.T, dir, name string, rows []row) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, csvBytes(t, rows), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lastByTicket is each ticket's last row expected to succeed, in file
// order: what a one-row-at-a-time run leaves on the server.
func lastByTicket(rows []row) map[string]row {
	m := map[string]row{}
	for _, r := range rows {
		if r.want == wantSuccess {
			m[r.TicketID] = r
		}
	}
	return m
}

// checkFinalState asserts that every ticket's state on the fake is its
// last successful row, every documented key included.
func checkFinalState(t *testing.T, s *kapturetest.Server, rows []row) {
	t.Helper()
	for id, r := range lastByTicket(rows) {
		st, ok := s.State(id)
		if !ok {
			t.Errorf("ticket %s: never updated, want the row of line %d", id, r.line)
			continue
		}
		want := map[string]string{"ticket_id": r.TicketID, "sub_status": r.SubStatus, "queue": r.Queue,
			"comment": r.Comment, "callback_time": r.CallbackTime, "disposition": r.Disposition}
		for k, v := range want {
			if st[k] != v {
				t.Errorf("ticket %s: state %s = %q, want %q (line %d)", id, k, st[k], v, r.line)
			}
		}
	}
	if st := s.Stats(); st.OrderViolations != 0 {
		t.Errorf("%d order violations, want 0: %v", st.OrderViolations, st.ViolationExamples)
	}
}

// checkEveryLine asserts that every non-blank input row has a final
// result with the expected status, and no result names another line.
func checkEveryLine(t *testing.T, rows []row, res []resultRow) map[int]resultRow {
	t.Helper()
	fin := latest(res)
	lines := map[int]bool{}
	for _, r := range rows {
		if r.blank {
			if got, ok := fin[r.line]; ok {
				t.Errorf("blank line %d has a result: %+v", r.line, got)
			}
			continue
		}
		lines[r.line] = true
		got, ok := fin[r.line]
		if !ok {
			t.Errorf("line %d (ticket %q): no result", r.line, r.TicketID)
			continue
		}
		if got.Status != r.want {
			t.Errorf("line %d (ticket %q): status %q (%s), want %q", r.line, r.TicketID, got.Status, got.Message, r.want)
		}
	}
	for l := range fin {
		if !lines[l] {
			t.Errorf("result for line %d, which is no input row", l)
		}
	}
	return fin
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

// dataRows counts the complete data rows in a results file being written.
func dataRows(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return max(0, bytes.Count(b, []byte("\n"))-1)
}
