package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/bench"
)

// input is a generated CSV of rows data rows, every ticket distinct and
// known to the fake, so a run succeeds on every row.
type input struct {
	path string
	rows int
}

// genFile writes (once) a file of rows rows in c.dir. It exits on failure:
// nothing can be measured without input.
func genFile(c config, rows int) input {
	in := input{path: filepath.Join(c.dir, fmt.Sprintf("in-%d.csv", rows)), rows: rows}
	if _, err := os.Stat(in.path); err == nil {
		return in
	}
	f, err := os.Create(in.path)
	if err == nil {
		w := bufio.NewWriterSize(f, 1<<16)
		bench.WriteRows(w, rows)
		err = errors.Join(w.Flush(), f.Close())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: generate input:", err)
		os.Exit(1)
	}
	return in
}

// fake is the fake API served on a loopback port of this process.
type fake struct {
	h   *kapturetest.Handler
	srv *http.Server
	url string

	mu          sync.Mutex
	first, last time.Time   // arrivals at the endpoint
	served      []time.Time // arrivals of the requests not refused (429)
}

// statusWriter notes the status a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController find the connection to hijack.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// servedWithin counts the requests served that arrived within d of the
// first arrival.
func (f *fake) servedWithin(d time.Duration) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.served {
		if t.Sub(f.first) <= d {
			n++
		}
	}
	return n
}

func startFake(opts kapturetest.Options) (*fake, error) {
	opts.NoRecord = true
	f := &fake{h: kapturetest.NewHandler(opts)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.url = "http://" + ln.Addr().String()
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		f.mu.Lock()
		if f.first.IsZero() {
			f.first = now
		}
		f.last = now
		f.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		f.h.ServeHTTP(sw, r)
		if sw.status != http.StatusTooManyRequests {
			f.mu.Lock()
			f.served = append(f.served, now)
			f.mu.Unlock()
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln) // ends at stop
	return f, nil
}

func (f *fake) stop() {
	f.h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
}

// child is what one run of the binary cost.
type child struct {
	start  time.Time
	wall   time.Duration
	cpu    time.Duration // user + sys of the child alone
	maxRSS int64         // bytes
	// hwm is the child's own peak RSS (Linux's VmHWM, polled), free of
	// what rusage charges it for this process's pages at fork; 0 where
	// there is no /proc.
	hwm  int64
	code int
	// first and last are when the fake saw the first and the last
	// request, from start (sendAll only).
	first, last time.Duration
	stderr      string
}

// runBin runs the binary with args and returns its costs.
func runBin(c config, prefix []string, args ...string) (child, error) {
	argv := append(slices.Clone(prefix), c.bin)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "KAPTURE_API_TOKEN="+kapturetest.DefaultToken)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	cmd.Stdout = io.Discard
	start := time.Now()
	err := cmd.Start()
	var hwm int64
	if err == nil {
		done := make(chan struct{})
		polled := make(chan struct{})
		go func() { // polls the child's VmHWM until it has exited
			defer close(polled)
			hwm = pollHWM(cmd.Process.Pid, done)
		}()
		err = cmd.Wait()
		close(done)
		<-polled
	}
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return child{}, err
	}
	ps := cmd.ProcessState
	return child{
		start:  start,
		wall:   wall,
		cpu:    ps.UserTime() + ps.SystemTime(),
		maxRSS: maxRSS(ps),
		hwm:    hwm,
		code:   ps.ExitCode(),
		stderr: errBuf.String(),
	}, nil
}

// sendArgs are the run flags of the throughput scenarios.
func (c config) sendArgs(url, results string, rate float64) []string {
	return []string{"run", "--base-url", url, "--batch-size", strconv.Itoa(c.batch),
		"--workers", strconv.Itoa(c.workers), "--rate", strconv.FormatFloat(rate, 'f', -1, 64),
		"--quiet", "--overwrite", "--results", results}
}

// sendAll runs the binary over in against a fresh fake and checks that
// every row succeeded in order.
func sendAll(c config, in input, opts kapturetest.Options, rate float64, prefix ...string) (child, kapturetest.Stats, error) {
	f, err := startFake(opts)
	if err != nil {
		return child{}, kapturetest.Stats{}, err
	}
	defer f.stop()
	results := strings.TrimSuffix(in.path, ".csv") + ".results.csv"
	args := append(c.sendArgs(f.url, results, rate), in.path)
	ch, err := runBin(c, prefix, args...)
	if err != nil {
		return ch, kapturetest.Stats{}, err
	}
	st := f.h.Stats()
	f.mu.Lock()
	ch.first, ch.last = f.first.Sub(ch.start), f.last.Sub(ch.start)
	f.mu.Unlock()
	if ch.code != 0 || st.Applied != in.rows || st.OrderViolations != 0 {
		return ch, st, fmt.Errorf("run over %d rows: exit %d, %d applied, %d order violations; stderr:\n%s",
			in.rows, ch.code, st.Applied, st.OrderViolations, ch.stderr)
	}
	return ch, st, nil
}

// peak is the child's peak RSS: its VmHWM where polled, else rusage's.
func (ch child) peak() int64 {
	if ch.hwm > 0 {
		return ch.hwm
	}
	return ch.maxRSS
}

// pollHWM reads the VmHWM of process pid every few milliseconds until done
// is closed, and returns the last value read (bytes; 0 without /proc).
func pollHWM(pid int, done <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var hwm int64
	for {
		if b, err := os.ReadFile(path); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
					hwm = max(hwm, kb<<10)
				}
			}
		}
		select {
		case <-done:
			return hwm
		case <-tick.C:
		}
	}
}
