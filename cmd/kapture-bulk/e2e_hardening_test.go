package main

// End-to-end tests of the hardening (the built binary for the closed pipe,
// SIGHUP and HTTPS_PROXY; the rest in process): a closed pipe does not
// kill a run; SIGHUP stops it as SIGTERM does; a CSV syntax error
// in stdin after rows were sent exits 4 and --resume goes on; a wrong
// address or certificate exits 2 at the first request; redirects are not
// followed; HTTPS_PROXY and --ca-cert work; and the token never comes back
// out, whatever the server echoes.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestClosedPipeDoesNotKillTheRun: with stdout and stderr a pipe whose
// reader goes away after the first line (`2>&1 | head -1`), the run goes
// on to the end: every row recorded, the summary file written, exit 0.
func TestClosedPipeDoesNotKillTheRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		outcome string
	}{
		// Progress lines every 100ms and the summary come after the
		// first line, into the closed pipe.
		{"run", []string{"--rate", "0", "--workers", "2", "--batch-size", "5", "--progress-interval", "100ms"}, "finished"},
		// A payload of 1,000 indented items is far more than a pipe holds.
		{"dry run", []string{"--dry-run", "--batch-size", "1000"}, "dry_run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t, kapturetest.Options{Latency: 10 * time.Millisecond})
			dir := t.TempDir()
			rows := validRows(1000)
			in := writeInput(t, dir, "in.csv", rows)
			results, summary := filepath.Join(dir, "in.results.csv"), filepath.Join(dir, "summary.json")
			args := append([]string{"run", "--base-url", s.URL, "--summary-json", summary}, tt.args...)
			ctx, cancel := context.WithTimeout(context.Background(), maxRun)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary(t), append(args, in)...)
			cmd.Env = append(cleanEnv(), "KAPTURE_API_TOKEN="+e2eToken, "GORACE=halt_on_error=1 exitcode=66")
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = pw, pw
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close() // the child holds the only write end
			first, _ := bufio.NewReader(pr).ReadString('\n')
			pr.Close() // `head -1` is done
			_ = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("%s after the first line %q; want exit 0", cmd.ProcessState, first)
			}
			sum := readSummary(t, summary)
			if sum.Outcome != tt.outcome || sum.ExitCode != 0 {
				t.Errorf("summary %+v, want %s with exit 0", sum, tt.outcome)
			}
			if tt.outcome == "finished" {
				checkEveryLine(t, rows, readResults(t, results))
			}
		})
	}
}

// TestSIGHUPStopsLikeSIGTERM: a hangup (an SSH session dropped) lets the
// requests in flight finish, writes their results and the summary, exits
// 130; --resume then finishes the run.
func TestSIGHUPStopsLikeSIGTERM(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{Latency: 40 * time.Millisecond})
	dir := t.TempDir()
	rows := faultyRows(300)
	in := writeInput(t, dir, "in.csv", rows)
	results, summary := filepath.Join(dir, "in.results.csv"), filepath.Join(dir, "summary.json")
	args := []string{"run", "--base-url", s.URL, "--rate", "0", "--workers", "2", "--batch-size", "5", "--summary-json", summary, in}
	p := startBin(t, runOpts{}, args...)
	waitFor(t, "results rows", 30*time.Second, func() bool { return dataRows(results) >= 20 })
	p.signal(t, syscall.SIGHUP)
	if code := p.wait(t); code != exitInterrupted {
		t.Fatalf("exit %d, want 130\nstderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "signal=hangup") {
		t.Errorf("stderr does not name the hangup:\n%s", p.stderr.String())
	}
	sum := readSummary(t, summary)
	if sum.Outcome != "interrupted" || sum.NotSent == 0 {
		t.Errorf("summary %+v, want interrupted with rows not sent", sum)
	}
	first := latest(readResults(t, results))
	// Every row the fake received has its result: in-flight requests
	// finished and were written.
	if got := s.Stats().Items; got != len(first) {
		t.Errorf("the fake received %d items, the results record %d", got, len(first))
	}
	p2 := runCmd(t, runOpts{}, append([]string{"run", "--resume"}, args[1:]...)...)
	wantCode(t, p2, 0)
	checkEveryLine(t, rows, readResults(t, results))
	checkFinalState(t, s, rows)
}

// TestStdinSyntaxErrorAfterRowsWereSent: a CSV syntax error in stdin after
// rows went out exits 4, saying they were sent and that --resume goes on;
// the resume with the input fixed sends only the rest. Before anything
// was sent, the same error is exit 2.
func TestStdinSyntaxErrorAfterRowsWereSent(t *testing.T) {
	t.Parallel()
	const (
		broken = `713516000999,CL,Q1,"the quote of this comment is never closed,,,,` + "\n"
		fixed  = `713516000999,CL,Q1,the quote of this comment is closed,,,,` + "\n"
	)
	t.Run("after rows were sent", func(t *testing.T) {
		t.Parallel()
		s := newFake(t, kapturetest.Options{})
		dir := t.TempDir()
		rows := validRows(40)
		good := csvBytes(t, rows)
		results, summary := filepath.Join(dir, "out.csv"), filepath.Join(dir, "summary.json")
		args := []string{"run", "--base-url", s.URL, "--rate", "0", "--batch-size", "5", "--results", results, "--summary-json", summary, "-"}
		p := runCmd(t, runOpts{stdin: bytes.NewReader(append(good, broken...))}, args...)
		wantCode(t, p, exitInputStopped)
		for _, want := range []string{"stdin:42", "quote", "were sent", "--resume"} {
			if !strings.Contains(p.stderr.String(), want) {
				t.Errorf("stderr does not say %q:\n%s", want, p.stderr.String())
			}
		}
		if sum := readSummary(t, summary); sum.ExitCode != exitInputStopped || sum.Outcome != "aborted" || sum.Success != len(rows) {
			t.Errorf("summary %+v, want aborted, exit 4, %d success", sum, len(rows))
		}
		checkEveryLine(t, rows, readResults(t, results))

		p2 := runCmd(t, runOpts{stdin: bytes.NewReader(append(good, fixed...))}, append([]string{"run", "--resume"}, args[1:]...)...)
		wantCode(t, p2, 0)
		if sum := readSummary(t, summary); sum.SkippedResume != len(rows) || sum.Success != 1 {
			t.Errorf("resume summary %+v, want %d skipped and the fixed row sent", sum, len(rows))
		}
	})
	t.Run("before anything was sent", func(t *testing.T) {
		t.Parallel()
		s := newFake(t, kapturetest.Options{})
		dir := t.TempDir()
		p := runCmd(t, runOpts{stdin: strings.NewReader(inputHeader + "\n" + broken)},
			"run", "--base-url", s.URL, "--results", filepath.Join(dir, "out.csv"), "-")
		wantCode(t, p, exitUsage)
		if n := s.Stats().Requests; n != 0 {
			t.Errorf("%d requests, want none", n)
		}
	})
}

// tlsFake serves the fake API over TLS with httptest's certificate (valid
// for 127.0.0.1 and example.com), written as PEM into dir. It returns the
// API root, the PEM file and the server.
func tlsFake(t *testing.T, dir string, opts kapturetest.Options) (root, caPEM string, ts *httptest.Server) {
	t.Helper()
	opts.Token, opts.Prefix = e2eToken, e2ePrefix
	h := kapturetest.NewHandler(opts)
	ts = httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes a client refuses
	ts.StartTLS()
	t.Cleanup(func() {
		h.Close()
		ts.Close()
	})
	caPEM = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return ts.URL + e2ePrefix, caPEM, ts
}

// countingServer counts the requests that reach it.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, `{"status":"success","message":"ok"}`)
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

// TestWrongAddressExits2: a name that does not exist, an untrusted
// certificate, a 404 page or a redirect stop the run at the first
// requests with exit 2, naming the host and what to check; their rows are
// recorded failed with the reason. With --ca-cert the same TLS server is
// trusted.
func TestWrongAddressExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root, caPEM, tlsSrv := tlsFake(t, dir, kapturetest.Options{})
	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<html><head><title>404 Not Found</title></head><body>nginx</body></html>")
	}))
	t.Cleanup(notFound.Close)
	target, reached := countingServer(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL+"/v2"+kapturetest.Path, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	tests := []struct {
		name string
		args []string
		code int
		says []string
	}{
		{"name under .invalid", []string{"--base-url", "https://acme.invalid"}, exitUsage,
			[]string{"no such host acme.invalid", "--subdomain"}},
		{"unknown certificate authority", []string{"--base-url", root}, exitUsage,
			[]string{tlsSrv.Listener.Addr().String(), "certificate", "--ca-cert"}},
		{"404 page", []string{"--base-url", notFound.URL}, exitUsage,
			[]string{notFound.Listener.Addr().String(), "404 Not Found", "--base-url"}},
		{"redirect", []string{"--base-url", redirect.URL}, exitUsage,
			[]string{"redirect", target.URL + "/v2" + kapturetest.Path, "--base-url " + target.URL + "/v2"}},
		{"trusted with --ca-cert", []string{"--base-url", root, "--ca-cert", caPEM}, exitOK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			rows := validRows(60)
			in := writeInput(t, dir, "in.csv", rows)
			results, summary := filepath.Join(dir, "in.results.csv"), filepath.Join(dir, "summary.json")
			args := append([]string{"run", "--batch-size", "5", "--rate", "0", "--summary-json", summary}, tt.args...)
			p := runCmd(t, runOpts{}, append(args, in)...)
			wantCode(t, p, tt.code)
			if tt.code == exitOK {
				checkEveryLine(t, rows, readResults(t, results))
				return
			}
			for _, want := range tt.says {
				if !strings.Contains(p.stderr.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, p.stderr.String())
				}
			}
			if sum := readSummary(t, summary); sum.ExitCode != exitUsage || sum.Outcome != "aborted" || sum.Success != 0 {
				t.Errorf("summary %+v, want aborted, exit 2, nothing succeeded", sum)
			}
			res := readResults(t, results)
			if len(res) == 0 || len(res) > 4*5 {
				t.Errorf("%d results, want those of the first requests (4 workers, 5 rows each)", len(res))
			}
			for _, r := range res {
				if r.Status != wantFailed || r.Attempts != 1 || !strings.HasPrefix(r.Message, "configuration error: ") {
					t.Errorf("result %+v, want failed at the first attempt with the reason", r)
				}
			}
		})
	}
	t.Cleanup(func() {
		if n := reached.Load(); n != 0 {
			t.Errorf("the redirect's target got %d requests: the redirect was followed", n)
		}
	})
}

// connectProxy is an HTTP proxy that tunnels every CONNECT to target,
// whatever host the client asked for, and records what was asked.
type connectProxy struct {
	target string
	mu     sync.Mutex
	asked  []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.asked = append(p.asked, r.Method+" "+r.Host)
	p.mu.Unlock()
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer up.Close()
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() { // ends when the client closes its side
		defer close(done)
		_, _ = io.Copy(up, buf)
		up.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(conn, up)
	conn.Close()
	<-done
}

// TestProxyAndPrivateCA: HTTPS_PROXY is honoured (the request for
// https://example.com goes through the proxy, which alone knows where the
// API is), and --ca-cert makes the API's certificate trusted.
func TestProxyAndPrivateCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, caPEM, tlsSrv := tlsFake(t, dir, kapturetest.Options{})
	proxy := &connectProxy{target: tlsSrv.Listener.Addr().String()}
	proxySrv := httptest.NewServer(proxy)
	t.Cleanup(proxySrv.Close)
	rows := validRows(30)
	in := writeInput(t, dir, "in.csv", rows)
	env := []string{"HTTPS_PROXY=" + proxySrv.URL, "https_proxy=" + proxySrv.URL, "NO_PROXY=", "no_proxy=", "ALL_PROXY=", "all_proxy="}
	p := runBin(t, runOpts{env: env}, "run", "--base-url", "https://example.com"+e2ePrefix, "--ca-cert", caPEM, "--rate", "0", in)
	wantCode(t, p, exitOK)
	checkEveryLine(t, rows, readResults(t, filepath.Join(dir, "in.results.csv")))
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if len(proxy.asked) == 0 || proxy.asked[0] != "CONNECT example.com:443" {
		t.Errorf("the proxy was asked %q, want CONNECT example.com:443", proxy.asked)
	}
}

// TestEchoedTokenNeverWritten: a server that echoes the Authorization
// header in its failures (JSON per item, HTML error pages) gets the token
// into neither the results CSV, the logs, nor the summary.
func TestEchoedTokenNeverWritten(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		if n.Add(1)%3 == 0 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html><head><title>upstream refused %s</title></head></html>", auth)
			return
		}
		items := make([]string, bytes.Count(body, []byte(`"ticket_id"`)))
		for i := range items {
			items[i] = fmt.Sprintf(`{"status":"failed","message":"no access with header %s"}`, auth)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "["+strings.Join(items, ",")+"]")
	}))
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	in := writeInput(t, dir, "in.csv", validRows(20))
	results, summary := filepath.Join(dir, "in.results.csv"), filepath.Join(dir, "summary.json")
	p := runCmd(t, runOpts{token: "Basic " + e2eToken, tune: quickRetries}, "run", "--base-url", ts.URL, "--rate", "0", "--batch-size", "4",
		"--max-retries", "2", "--log-level", "debug", "--summary-json", summary, in)
	if p.code != exitRowsFailed && p.code != exitAborted {
		t.Fatalf("exit %d, want 1 (rows failed) or 3\nstderr:\n%s", p.code, p.stderr.String())
	}
	res, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(res, []byte("[redacted]")) {
		t.Errorf("no message was redacted: the test proved nothing:\n%s", res)
	}
	for name, out := range map[string]string{"results": string(res), "stderr": p.stderr.String(), "stdout": p.stdout.String(), "summary": string(sum)} {
		if strings.Contains(out, e2eToken) {
			t.Errorf("the token is in the %s:\n%s", name, out)
		}
	}
}

// TestSecretsInTheConfigurationAreRefused: a base URL with user info and
// a token with control characters are refused (exit 2) before any request,
// and the error shows no part of them.
func TestSecretsInTheConfigurationAreRefused(t *testing.T) {
	t.Parallel()
	srv, reached := countingServer(t)
	hostPort := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	in := writeInput(t, dir, "in.csv", validRows(5))
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("tok-first-half\x01second-half\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		o      runOpts
		args   []string
		hidden []string
	}{
		{"host hidden as user info", runOpts{}, []string{"--base-url", "http://acme.kapturecrm.com@" + hostPort}, []string{"acme.kapturecrm.com"}},
		{"password in --subdomain", runOpts{}, []string{"--subdomain", "ops:pa55-w0rd@acme"}, []string{"ops:", "pa55-w0rd"}},
		{"password in KAPTURE_BASE_URL", runOpts{env: []string{"KAPTURE_BASE_URL=http://ops:pa55-w0rd@" + hostPort}}, nil, []string{"ops:", "pa55-w0rd"}},
		{"control character in the token file", runOpts{}, []string{"--base-url", srv.URL, "--token-file", tokenFile}, []string{"first-half", "second-half"}},
		{"line break in the token variable", runOpts{token: "tok-first-half\nsecond-half"}, []string{"--base-url", srv.URL}, []string{"first-half", "second-half"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"run", "--results", filepath.Join(t.TempDir(), "r.csv")}, tt.args...), in)
			p := runCmd(t, tt.o, args...)
			wantCode(t, p, exitUsage)
			for _, h := range tt.hidden {
				if strings.Contains(p.stderr.String(), h) {
					t.Errorf("stderr shows %q:\n%s", h, p.stderr.String())
				}
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("%d requests reached the server, want none", n)
	}
}
