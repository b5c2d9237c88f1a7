// Command e2e benchmarks the built kapture-bulk binary end to end against
// the fake Kapture API over loopback: throughput and the client's own CPU
// per row, its CPU against a Python script's (py_bulk.py), peak RSS at
// 100k and 1M rows, latency hiding against a 20, 100 and 300 ms API and a
// sequential one-request-per-row baseline, a fixed --rate against a strict
// rate limit, --rate auto against an unknown one, validate against a bare
// encoding/csv read, --resume of a finished 1M-row run, and a nightly
// --sync-state run of 1M rows of which 1% changed.
//
// The fake runs in this process; the client is a child process, so its
// rusage (user+sys CPU, peak RSS) is the client's alone. Every figure is
// the median of -runs runs, except where a scenario says otherwise. `make
// bench` runs it; see BENCHMARKS.md.
//
//	go run ./bench/e2e -bin bin/kapture-bulk [-quick] [-runs 3] [-only e2e,latency]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/bench"
)

type config struct {
	bin     string
	dir     string
	runs    int
	quick   bool
	only    map[string]bool
	perf    string // write a perf profile of one 200k run here
	python  string // the Python baseline script
	workers int
	batch   int
}

func main() {
	var c config
	var only string
	flag.StringVar(&c.bin, "bin", "bin/kapture-bulk", "the built kapture-bulk binary")
	flag.StringVar(&c.dir, "dir", "", "work directory for generated files (default: a temporary one, removed at the end)")
	flag.IntVar(&c.runs, "runs", 3, "runs per measurement; the median is reported")
	flag.BoolVar(&c.quick, "quick", false, "smaller inputs and one run each: a smoke test of the harness, not numbers to quote")
	flag.StringVar(&only, "only", "", "comma-separated scenarios to run: e2e,cpu,memory,latency,rate,auto,validate,resume,sync (default all)")
	flag.StringVar(&c.python, "python", "bench/e2e/py_bulk.py", "the Python baseline script (cpu scenario)")
	flag.StringVar(&c.perf, "perf", "", "also record a CPU profile of one 200k-row run with perf into this file")
	flag.Parse()
	c.workers, c.batch = 8, 100
	if c.quick {
		c.runs = 1
	}
	if only != "" {
		c.only = map[string]bool{}
		for _, s := range strings.Split(only, ",") {
			c.only[strings.TrimSpace(s)] = true
		}
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

func (c config) want(name string) bool { return c.only == nil || c.only[name] }

// size picks the full or the quick size of an input.
func (c config) size(full, quick int) int {
	if c.quick {
		return quick
	}
	return full
}

func run(c config) error {
	if _, err := os.Stat(c.bin); err != nil {
		return fmt.Errorf("binary: %w (run make build first)", err)
	}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "kapture-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		c.dir = d
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	fmt.Printf("# kapture-bulk end-to-end benchmarks\n\n%s\n\n", machine(c.bin))
	fmt.Printf("runs per figure: %d (median)%s\n\n", c.runs, map[bool]string{true: "; QUICK MODE: small inputs, not numbers to quote"}[c.quick])

	small := c.size(100_000, 20_000)
	mid := c.size(200_000, 50_000)
	big := c.size(1_000_000, 100_000)

	var rep report
	if c.want("e2e") {
		if err := e2e(c, genFile(c, mid), &rep); err != nil {
			return fmt.Errorf("e2e: %w", err)
		}
	}
	if c.want("cpu") {
		if err := cpuVersusPython(c, genFile(c, mid), &rep); err != nil {
			return fmt.Errorf("cpu: %w", err)
		}
	}
	if c.want("memory") || c.want("resume") {
		if err := memory(c, genFile(c, small), genFile(c, big), &rep); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	if c.want("latency") {
		if err := latency(c, &rep); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	if c.want("rate") {
		if err := rateAdherence(c, &rep); err != nil {
			return fmt.Errorf("rate: %w", err)
		}
	}
	if c.want("auto") {
		if err := autoRate(c, genFile(c, mid), &rep); err != nil {
			return fmt.Errorf("auto: %w", err)
		}
	}
	if c.want("sync") {
		if err := syncNights(c, genFile(c, big), &rep); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if c.want("validate") {
		if err := validate(c, genFile(c, big), &rep); err != nil {
			return fmt.Errorf("validate: %w", err)
		}
	}
	if c.perf != "" {
		if err := profile(c, genFile(c, mid)); err != nil {
			return fmt.Errorf("perf: %w", err)
		}
	}
	rep.print(os.Stdout)
	return nil
}

// machine names the machine and the toolchain.
func machine(bin string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	ver := "?"
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		ver = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("machine: %d CPUs (%s, %s/%s), %s; binary: %s",
		runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version(), ver)
}

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

func e2e(c config, in input, rep *report) error {
	var rates, cpus, rss []float64
	for i := 0; i < c.runs; i++ {
		ch, st, err := sendAll(c, in, kapturetest.Options{}, 0)
		if err != nil {
			return err
		}
		rates = append(rates, float64(in.rows)/ch.wall.Seconds())
		cpus = append(cpus, float64(ch.cpu.Microseconds())/float64(in.rows))
		rss = append(rss, mib(ch.maxRSS))
		logf("e2e %d rows: %.0f rows/s, client CPU %.2f µs/row, peak RSS %.1f MiB, %d requests",
			in.rows, rates[i], cpus[i], rss[i], st.Requests)
	}
	n := fmt.Sprintf("%dk rows", in.rows/1000)
	rep.add("end to end, no latency ("+n+")", "≥ 100000 rows/s", median(rates), "rows/s", median(rates) >= 100_000)
	rep.add("client CPU per row ("+n+")", "≤ 8 µs/row", median(cpus), "µs/row", median(cpus) <= 8)
	rep.note("peak RSS at %s: %.1f MiB", n, median(rss))
	return nil
}

func memory(c config, small, big input, rep *report) error {
	var rssSmall, rssBig, rateBig []float64
	var resumeWall, resumeRSS []float64
	for i := 0; i < c.runs; i++ {
		if c.want("memory") {
			ch, _, err := sendAll(c, small, kapturetest.Options{}, 0)
			if err != nil {
				return err
			}
			rssSmall = append(rssSmall, mib(ch.maxRSS))
			logf("memory %d rows: peak RSS %.1f MiB", small.rows, mib(ch.maxRSS))
		}
		if c.want("memory") || (c.want("resume") && i == 0) {
			ch, _, err := sendAll(c, big, kapturetest.Options{}, 0)
			if err != nil {
				return err
			}
			rssBig = append(rssBig, mib(ch.maxRSS))
			rateBig = append(rateBig, float64(big.rows)/ch.wall.Seconds())
			logf("memory %d rows: peak RSS %.1f MiB, %.0f rows/s", big.rows, mib(ch.maxRSS), rateBig[len(rateBig)-1])
		}
		if c.want("resume") {
			// The results file of the last run records every row as a
			// success: a resume sends nothing, so its whole run is the
			// time before the first request.
			f, err := startFake(kapturetest.Options{})
			if err != nil {
				return err
			}
			results := strings.TrimSuffix(big.path, ".csv") + ".results.csv"
			ch, err := runBin(c, nil, "run", "--base-url", f.url, "--resume", "--quiet", "--results", results, big.path)
			st := f.h.Stats()
			f.stop()
			if err != nil {
				return err
			}
			if ch.code != 0 || st.Requests != 0 {
				return fmt.Errorf("resume of a finished run: exit %d, %d requests; stderr:\n%s", ch.code, st.Requests, ch.stderr)
			}
			resumeWall = append(resumeWall, ch.wall.Seconds())
			resumeRSS = append(resumeRSS, mib(ch.maxRSS))
			logf("resume %d rows: %.2f s, peak RSS %.1f MiB", big.rows, ch.wall.Seconds(), mib(ch.maxRSS))
		}
	}
	if c.want("memory") {
		nb := fmt.Sprintf("%dk rows", big.rows/1000)
		rep.add("peak RSS, "+nb, "≤ 64 MiB", median(rssBig), "MiB", median(rssBig) <= 64)
		ratio := median(rssBig) / median(rssSmall)
		rep.add(fmt.Sprintf("peak RSS %s / %dk rows", nb, small.rows/1000), "≤ 1.5×", ratio, "×", ratio <= 1.5)
		rep.note("peak RSS at %dk rows: %.1f MiB; throughput at %s: %.0f rows/s", small.rows/1000, median(rssSmall), nb, median(rateBig))
	}
	if c.want("resume") {
		nb := fmt.Sprintf("%dk rows", big.rows/1000)
		rep.add("--resume of a finished "+nb+" run: time", "≤ 3 s", median(resumeWall), "s", median(resumeWall) <= 3)
		rep.add("--resume of a finished "+nb+" run: peak RSS", "≤ 100 MiB", median(resumeRSS), "MiB", median(resumeRSS) <= 100)
	}
	return nil
}

const apiLatency = 20 * time.Millisecond

func latency(c config, rep *report) error {
	in := genFile(c, c.size(100_000, 20_000))
	ideal := float64(c.workers*c.batch) / apiLatency.Seconds()
	var rates []float64
	for i := 0; i < c.runs; i++ {
		ch, _, err := sendAll(c, in, kapturetest.Options{Latency: apiLatency}, 0)
		if err != nil {
			return err
		}
		rates = append(rates, float64(in.rows)/ch.wall.Seconds())
		logf("latency %v, %d rows: %.0f rows/s (ideal %.0f)", apiLatency, in.rows, rates[i], ideal)
	}
	var base []float64
	n := c.size(300, 100)
	for i := 0; i < c.runs; i++ {
		r, err := sequential(n)
		if err != nil {
			return err
		}
		base = append(base, r)
		logf("sequential baseline, %d rows: %.1f rows/s", n, r)
	}
	share := median(rates) / ideal
	rep.add(fmt.Sprintf("20 ms latency: share of workers×batch/latency = %.0f rows/s", ideal), "≥ 85%",
		100*share, "%", share >= 0.85)
	times := median(rates) / median(base)
	rep.add("20 ms latency: vs sequential one-row-per-request", "≥ 100×", times, "×", times >= 100)
	rep.note("20 ms latency: %.0f rows/s; sequential baseline (%d rows): %.1f rows/s", median(rates), n, median(base))

	// Real-world latencies: 30 s of rows at the ideal rate each, so that
	// what a run pays once (starting, the first payloads that go out
	// before a worker's queue has filled, the uneven share of rows
	// hashing gives each worker at the end) weighs as in a migration
	// rather than in a 10-second one.
	for _, lc := range []struct {
		latency time.Duration
		workers int
	}{{100 * time.Millisecond, 8}, {300 * time.Millisecond, 32}} {
		cc := c
		cc.workers = lc.workers
		ideal := float64(cc.workers*cc.batch) / lc.latency.Seconds()
		in := genFile(c, c.size(int(30*ideal)/1000*1000, int(2*ideal)/1000*1000))
		var rates []float64
		for i := 0; i < c.runs; i++ {
			ch, st, err := sendAll(cc, in, kapturetest.Options{Latency: lc.latency}, 0)
			if err != nil {
				return err
			}
			rates = append(rates, float64(in.rows)/ch.wall.Seconds())
			logf("latency %v, %d workers, %d rows: %.0f rows/s (ideal %.0f), %d requests (%.1f rows each); first request at %v, last at %v, exit at %v",
				lc.latency, cc.workers, in.rows, rates[i], ideal, st.Requests, float64(in.rows)/float64(st.Requests),
				ch.first.Round(time.Millisecond), ch.last.Round(time.Millisecond), ch.wall.Round(time.Millisecond))
		}
		share := median(rates) / ideal
		rep.add(fmt.Sprintf("%v latency, %d workers × %d rows, %dk rows: share of the ideal %.0f rows/s", lc.latency, cc.workers, cc.batch, in.rows/1000, ideal),
			"≥ 95%", 100*share, "%", share >= 0.95)
		floor, err := bareConcurrent(lc.latency, cc.workers, cc.batch, 10*time.Second)
		if err != nil {
			return err
		}
		rep.note("%v latency, %d workers: a bare Go client (one goroutine per worker, each posting %d-item payloads in a loop, nothing else) reaches %.1f%% of the ideal against the same fake; kapture-bulk %.1f%%",
			lc.latency, cc.workers, cc.batch, 100*floor, 100*share)
	}
	return nil
}

// bareConcurrent is the floor of the latency scenarios: workers goroutines
// each posting payloads of batch items in a loop for about d, reading and
// discarding the replies, against a fake with latency. It returns the
// share of the ideal workers × batch / latency they reach: what the fake
// and the machine allow, with no reading, checking or results.
func bareConcurrent(latency time.Duration, workers, batchSize int, d time.Duration) (float64, error) {
	f, err := startFake(kapturetest.Options{Latency: latency})
	if err != nil {
		return 0, err
	}
	defer f.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers + 1}}
	url := f.url + batch.Endpoint
	start := time.Now()
	stop := start.Add(d)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		sent   int
		failed error
	)
	for w := range workers {
		wg.Go(func() {
			for n := 0; time.Now().Before(stop); n++ {
				items := make([]map[string]string, batchSize)
				for i := range items {
					items[i] = map[string]string{"ticket_id": strconv.Itoa(700000000000 + (w*1_000_000+n)*batchSize + i),
						"sub_status": "CL", "queue": "", "comment": "bare", "callback_time": "", "disposition": ""}
				}
				body, _ := json.Marshal(items)
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err == nil {
					req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
					req.Header.Set("Content-Type", "application/json")
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				mu.Lock()
				sent++
				if err != nil && failed == nil {
					failed = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if failed != nil {
		return 0, fmt.Errorf("bare client: %w", failed)
	}
	ideal := float64(workers) / latency.Seconds() * time.Since(start).Seconds()
	return float64(sent) / ideal, nil
}

// sequential is the deliberately simple client a quick script would be:
// one request per row, one at a time, against the same 20 ms fake.
func sequential(rows int) (float64, error) {
	f, err := startFake(kapturetest.Options{Latency: apiLatency})
	if err != nil {
		return 0, err
	}
	defer f.stop()
	url := f.url + batch.Endpoint
	start := time.Now()
	for i := 0; i < rows; i++ {
		body, _ := json.Marshal([]map[string]string{{
			"ticket_id": strconv.Itoa(700000000000 + i), "sub_status": "CL", "queue": "Tier 2",
			"comment": "Closed after migration review", "callback_time": "", "disposition": "Resolved",
		}})
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		var reply []struct {
			Status string `json:"status"`
		}
		err = json.NewDecoder(resp.Body).Decode(&reply)
		resp.Body.Close()
		if err != nil || len(reply) != 1 || reply[0].Status != "success" {
			return 0, fmt.Errorf("row %d: %v %+v", i, err, reply)
		}
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}

func rateAdherence(c config, rep *report) error {
	secs := c.size(10, 4)
	// Servers enforcing r requests/s with a token bucket of one token (it
	// refuses a request that arrives even a fraction of a millisecond
	// before 1/r since the previous one), and, for comparison, one of two
	// tokens at 20/s (it lets one request come early: how API gateways
	// are usually configured).
	for _, tc := range []struct {
		rate  float64
		burst int
	}{{20, 2}, {5, 1}, {20, 1}, {50, 1}} {
		in := genFile(c, int(tc.rate)*c.batch*secs)
		var achieved, refused []float64
		for i := 0; i < c.runs; i++ {
			f, err := startFake(kapturetest.Options{RateLimit: tc.rate, RateBurst: tc.burst})
			if err != nil {
				return err
			}
			results := strings.TrimSuffix(in.path, ".csv") + ".results.csv"
			ch, err := runBin(c, nil, append(c.sendArgs(f.url, results, tc.rate), in.path)...)
			f.stop()
			if err != nil {
				return err
			}
			st := f.h.Stats()
			if ch.code != 0 || st.Applied != in.rows {
				return fmt.Errorf("rate run: exit %d, %d applied; stderr:\n%s", ch.code, st.Applied, ch.stderr)
			}
			// The rate of served requests between the first and the last
			// request the fake saw (n requests span n-1 intervals).
			got := float64(st.Requests-st.RateLimited-1) / f.last.Sub(f.first).Seconds()
			achieved = append(achieved, got)
			refused = append(refused, float64(st.RateLimited))
			logf("rate %v/s, server burst %d, for %d s: achieved %.2f requests/s, %d refused (429), %d requests, wall %.1f s",
				tc.rate, tc.burst, secs, got, st.RateLimited, st.Requests, ch.wall.Seconds())
		}
		share := median(achieved) / tc.rate
		rep.add(fmt.Sprintf("--rate %v against a server enforcing %v/s, bucket %d: achieved", tc.rate, tc.rate, tc.burst), "≥ 98%", 100*share, "%", share >= 0.98)
		rep.add(fmt.Sprintf("  refused requests (429), %v/s, bucket %d", tc.rate, tc.burst), "0", median(refused), "", median(refused) == 0)
	}
	return nil
}

// autoRate runs --rate auto against an API limited to 30 requests/s with
// 50 ms of latency, its bucket of one token and of ten, and counts the
// requests served in the first minute after the first arrived, the ramp
// included. The input lasts longer than that minute even at the limit.
func autoRate(c config, in input, rep *report) error {
	const limit = 30.0
	window := time.Duration(c.size(60, 15)) * time.Second
	for _, burst := range []int{1, 10} {
		var shares, refused, settled []float64
		for i := 0; i < c.runs; i++ {
			f, err := startFake(kapturetest.Options{RateLimit: limit, RateBurst: burst, Latency: 50 * time.Millisecond})
			if err != nil {
				return err
			}
			results := strings.TrimSuffix(in.path, ".csv") + ".results.csv"
			summary := strings.TrimSuffix(in.path, ".csv") + ".summary.json"
			args := []string{"run", "--base-url", f.url, "--batch-size", strconv.Itoa(c.batch), "--workers", strconv.Itoa(c.workers),
				"--rate", "auto", "--quiet", "--overwrite", "--results", results, "--summary-json", summary, in.path}
			ch, err := runBin(c, nil, args...)
			f.stop()
			if err != nil {
				return err
			}
			st := f.h.Stats()
			if ch.code != 0 || st.Applied != in.rows || st.OrderViolations != 0 {
				return fmt.Errorf("auto run: exit %d, %d applied, %d order violations; stderr:\n%s", ch.code, st.Applied, st.OrderViolations, ch.stderr)
			}
			var sum struct {
				Settled float64 `json:"settled_rate"`
			}
			if b, err := os.ReadFile(summary); err != nil || json.Unmarshal(b, &sum) != nil {
				return fmt.Errorf("auto run: no summary: %v", err)
			}
			share := float64(f.servedWithin(window)) / window.Seconds() / limit
			shares = append(shares, share)
			refused = append(refused, float64(st.RateLimited))
			settled = append(settled, sum.Settled)
			logf("--rate auto, API %v/s bucket %d: %.1f%% of the limit over the first %v, %d refused in all, settled at %.2f, wall %.1f s",
				limit, burst, 100*share, window, st.RateLimited, sum.Settled, ch.wall.Seconds())
		}
		rep.add(fmt.Sprintf("--rate auto, API at %v/s, bucket %d, 50 ms latency: average over %v, ramp included", limit, burst, window),
			"≥ 85%", 100*median(shares), "%", median(shares) >= 0.85)
		rep.add(fmt.Sprintf("  refused requests (429) in all, bucket %d", burst), "≤ 10", median(refused), "", median(refused) <= 10)
		rep.note("--rate auto, bucket %d: settled at %.2f requests/s (median; %.0f%% of the limit)", burst, median(settled), 100*median(settled)/limit)
	}
	return nil
}

// cpuVersusPython compares the client's CPU with the Python baseline's on
// the same input against the same fake, alternating, best of two each:
// absolute CPU per row varies 2-3x between machines and days, the ratio
// much less.
func cpuVersusPython(c config, in input, rep *report) error {
	py, err := exec.LookPath("python3")
	if err != nil {
		rep.note("no python3: no CPU comparison with the Python baseline")
		return nil
	}
	if _, err := os.Stat(c.python); err != nil {
		return fmt.Errorf("python baseline: %w", err)
	}
	var goCPU, pyCPU []float64
	for i := 0; i < 2; i++ {
		ch, _, err := sendAll(c, in, kapturetest.Options{}, 0)
		if err != nil {
			return err
		}
		goCPU = append(goCPU, float64(ch.cpu.Microseconds())/float64(in.rows))
		pc, err := runPython(c, py, in)
		if err != nil {
			return err
		}
		pyCPU = append(pyCPU, float64(pc.cpu.Microseconds())/float64(in.rows))
		logf("cpu %d rows: kapture-bulk %.2f µs/row (%.1f s), Python %.2f µs/row (%.1f s)",
			in.rows, goCPU[i], ch.wall.Seconds(), pyCPU[i], pc.wall.Seconds())
	}
	g, p := slices.Min(goCPU), slices.Min(pyCPU)
	rep.add(fmt.Sprintf("client CPU: the Python baseline's / kapture-bulk's (%dk rows, alternating, best of 2)", in.rows/1000),
		"≥ 3×", p/g, "×", p/g >= 3)
	rep.note("CPU per row, best of 2: kapture-bulk %.2f µs, Python baseline %.2f µs", g, p)
	return nil
}

// runPython runs the Python baseline over in against a fresh fake and
// checks that every row was applied.
func runPython(c config, py string, in input) (child, error) {
	f, err := startFake(kapturetest.Options{})
	if err != nil {
		return child{}, err
	}
	defer f.stop()
	results := strings.TrimSuffix(in.path, ".csv") + ".py-results.csv"
	cmd := exec.Command(py, c.python, f.url, kapturetest.DefaultToken, in.path, results,
		"--batch", strconv.Itoa(c.batch), "--workers", strconv.Itoa(c.workers))
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	cmd.Stdout = io.Discard
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return child{}, fmt.Errorf("python baseline: %w; stderr:\n%s", err, errBuf.String())
	}
	if st := f.h.Stats(); st.Applied != in.rows {
		return child{}, fmt.Errorf("python baseline: %d applied of %d; stderr:\n%s", st.Applied, in.rows, errBuf.String())
	}
	ps := cmd.ProcessState
	return child{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), maxRSS: maxRSS(ps)}, nil
}

func validate(c config, in input, rep *report) error {
	var walls, bare []float64
	for i := 0; i < c.runs; i++ {
		ch, err := runBin(c, nil, "validate", in.path)
		if err != nil {
			return err
		}
		if ch.code != 0 {
			return fmt.Errorf("validate: exit %d: %s", ch.code, ch.stderr)
		}
		b, err := bareRead(in.path)
		if err != nil {
			return err
		}
		walls = append(walls, ch.wall.Seconds())
		bare = append(bare, b.Seconds())
		logf("validate %d rows: %.3f s; bare encoding/csv read: %.3f s", in.rows, ch.wall.Seconds(), b.Seconds())
	}
	n := fmt.Sprintf("%dk rows", in.rows/1000)
	rep.add("validate, "+n, "≤ 1 s", median(walls), "s", median(walls) <= 1)
	rep.note("validate %s: %.2f× a bare encoding/csv read of the same file (%.3f s)", n, median(walls)/median(bare), median(bare))
	return nil
}

// bareRead is the floor: encoding/csv reading every record of the file.
func bareRead(path string) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	r.ReuseRecord = true
	for {
		_, err := r.Read()
		if err == io.EOF {
			return time.Since(start), nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// profile records a CPU profile of the client alone during one run.
func profile(c config, in input) error {
	if _, err := exec.LookPath("perf"); err != nil {
		return err
	}
	_, _, err := sendAll(c, in, kapturetest.Options{}, 0,
		"perf", "record", "-q", "-F", "1999", "--call-graph", "fp", "-o", c.perf, "--")
	if err == nil {
		logf("perf profile of one %d-row run written to %s (perf report -i %s --no-children)", in.rows, c.perf, c.perf)
	}
	return err
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "  "+format+"\n", a...) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// report is the table printed at the end.
type report struct {
	rows  [][]string
	notes []string
}

func (r *report) add(what, target string, v float64, unit string, pass bool) {
	verdict := "miss"
	if pass {
		verdict = "pass"
	}
	r.rows = append(r.rows, []string{what, target, format(v) + " " + unit, verdict})
}

func (r *report) note(format string, a ...any) { r.notes = append(r.notes, fmt.Sprintf(format, a...)) }

func format(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func (r *report) print(w io.Writer) {
	fmt.Fprintln(w, "| measure | target | measured | |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, row := range r.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w)
	for _, n := range r.notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}

// changedCopy writes a copy of in where every 100th data row has another
// disposition: 1% of the rows changed.
func changedCopy(in input) (input, error) {
	out := input{path: strings.TrimSuffix(in.path, ".csv") + "-changed.csv", rows: in.rows}
	b, err := os.ReadFile(in.path)
	if err != nil {
		return out, err
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i := 1; i < len(lines); i += 100 {
		lines[i] = bytes.Replace(lines[i], []byte(",Resolved"), []byte(",Reopened"), 1)
	}
	return out, os.WriteFile(out.path, bytes.Join(lines, nil), 0o644)
}

// syncNights runs a nightly job: a first night sends every
// row into a new sync state; each later night's export differs from the
// night before in 1% of its rows (the two files take turns), so only those
// are sent and the rest are checked against the state.
func syncNights(c config, in input, rep *report) error {
	changed, err := changedCopy(in)
	if err != nil {
		return err
	}
	state := filepath.Join(c.dir, "sync", "job.state")
	if err := os.RemoveAll(filepath.Dir(state)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(state), 0o755); err != nil {
		return err
	}
	night := func(in input, want int) (child, error) {
		f, err := startFake(kapturetest.Options{})
		if err != nil {
			return child{}, err
		}
		defer f.stop()
		// On Linux a child's rusage peak RSS starts from this process's
		// RSS when it forks (before exec), and this process held a fake
		// of a million tickets: the child's own VmHWM (reset by exec) is
		// its peak; see peak.
		debug.FreeOSMemory()
		ch, err := runBin(c, nil, "run", "--base-url", f.url, "--batch-size", strconv.Itoa(c.batch),
			"--workers", strconv.Itoa(c.workers), "--rate", "0", "--quiet", "--sync-state", state, in.path)
		if err != nil {
			return ch, err
		}
		if st := f.h.Stats(); ch.code != 0 || st.Applied != want {
			return ch, fmt.Errorf("sync night: exit %d, %d applied, want %d; stderr:\n%s", ch.code, st.Applied, want, ch.stderr)
		}
		return ch, nil
	}
	first, err := night(in, in.rows)
	if err != nil {
		return err
	}
	logf("sync night 1, %d rows all sent: %.2f s, peak RSS %.1f MiB", in.rows, first.wall.Seconds(), mib(first.peak()))
	var rates, rss, walls, cpus []float64
	sent := (in.rows + 99) / 100
	for i := 0; i < c.runs; i++ {
		export := changed
		if i%2 == 1 {
			export = in
		}
		ch, err := night(export, sent)
		if err != nil {
			return err
		}
		rates = append(rates, float64(in.rows)/ch.wall.Seconds())
		rss = append(rss, mib(ch.peak()))
		walls = append(walls, ch.wall.Seconds())
		cpus = append(cpus, ch.cpu.Seconds())
		logf("sync night %d, %d rows, %d changed: %.2f s = %.0f rows/s, client CPU %.2f s, peak RSS %.1f MiB", i+2, in.rows, sent, ch.wall.Seconds(), rates[i], cpus[i], rss[i])
	}
	st, err := os.Stat(state)
	if err != nil {
		return err
	}
	n := fmt.Sprintf("%dk rows", in.rows/1000)
	rep.add("--sync-state, "+n+", 1% changed: rows/s (only the 1% sent)", "≥ 200000 rows/s", median(rates), "rows/s", median(rates) >= 200_000)
	rep.add("--sync-state, "+n+", 1% changed: peak RSS", "≤ 160 MiB", median(rss), "MiB", median(rss) <= 160)
	rep.note("sync: night 1 (%s, every row sent into a new state): %.2f s, peak RSS %.1f MiB; later nights %.2f s, client CPU (user+sys) %.2f s; state file %.1f MiB",
		n, first.wall.Seconds(), mib(first.peak()), median(walls), median(cpus), mib(st.Size()))
	return nil
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
