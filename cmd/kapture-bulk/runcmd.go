package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

type runFlags struct {
	input             inputFlags
	results           string
	resume, overwrite bool
	baseURL           string
	subdomain         string
	tokenFile         string
	batchSize         int
	workers           int
	rate              float64
	burst             int
	maxRetries        int
	timeout           time.Duration
	limit             int
	dryRun            bool
	strict            bool
	summaryJSON       string
	allowInsecure     bool
	logFormat         string
	logLevel          string
	quiet             bool
	progressInterval  time.Duration
}

func (f *runFlags) register(fs *flag.FlagSet) {
	f.input.register(fs)
	fs.StringVar(&f.results, "results", "", "results CSV (default: INPUT minus .csv plus .results.csv)")
	fs.BoolVar(&f.resume, "resume", false, "continue the run recorded in --results: skip rows already done, append")
	fs.BoolVar(&f.overwrite, "overwrite", false, "start afresh although --results exists")
	fs.StringVar(&f.baseURL, "base-url", "", withEnv("API root (default: https://SUBDOMAIN.kapturecrm.com)", "KAPTURE_BASE_URL"))
	fs.StringVar(&f.subdomain, "subdomain", "", withEnv("Kapture subdomain", "KAPTURE_SUBDOMAIN"))
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the API token (default: env KAPTURE_API_TOKEN)")
	fs.IntVar(&f.batchSize, "batch-size", 50, "items per payload")
	fs.IntVar(&f.workers, "workers", 4, "payloads in flight")
	fs.Float64Var(&f.rate, "rate", 5, "payloads (requests) per second; 0 = unlimited")
	fs.IntVar(&f.burst, "burst", 1, "requests that may go out at once after a quiet spell")
	fs.IntVar(&f.maxRetries, "max-retries", 5, "retries per payload for network errors, timeouts, 429 and 5xx")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "per request")
	fs.IntVar(&f.limit, "limit", 0, "process only the first N data rows (a canary run); 0 = all")
	fs.BoolVar(&f.dryRun, "dry-run", false, "validate, print the first payload, send nothing")
	fs.BoolVar(&f.strict, "strict", false, "send nothing if any row is invalid")
	fs.StringVar(&f.summaryJSON, "summary-json", "", "also write the summary as JSON to this file")
	fs.BoolVar(&f.allowInsecure, "allow-insecure-http", false, "allow plain http:// to a non-loopback host (sends the token in the clear)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar or progress lines")
	fs.DurationVar(&f.progressInterval, "progress-interval", 10*time.Second, "how often to log progress when stderr is not a terminal")
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// defaultResults derives the results path from the input path.
func defaultResults(input string) string {
	base := input
	if strings.HasSuffix(strings.ToLower(base), ".csv") {
		base = base[:len(base)-len(".csv")]
	}
	return base + ".results.csv"
}

// loadToken reads the token from --token-file or KAPTURE_API_TOKEN. The
// token never appears in an error.
func loadToken(path string, getenv func(string) string) (string, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", usagef("read --token-file: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", usagef("--token-file %s is empty", path)
		}
		return t, nil
	}
	if t := strings.TrimSpace(getenv("KAPTURE_API_TOKEN")); t != "" {
		return t, nil
	}
	return "", usagef("no API token: set KAPTURE_API_TOKEN or give --token-file")
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// counts are the run's row counters. The writer goroutine updates the
// result counts from what it wrote; progress reads them concurrently.
type counts struct {
	read, skipped, success, failed, invalid atomic.Int64
}

func cmdRun(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("kapture-bulk run", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f runFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kapture-bulk run [flags] INPUT\n\nINPUT is a CSV file, or - for stdin.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return withCode(exitUsage, err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("run takes exactly one INPUT (a CSV path, or - for stdin), got %d", len(pos))
	}
	start := time.Now()
	log, err := newLogger(e.stderr, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	switch {
	case f.resume && f.overwrite:
		return usagef("--resume and --overwrite contradict each other: choose one")
	case f.batchSize < 1:
		return usagef("--batch-size %d: want 1 or more", f.batchSize)
	case f.workers < 1:
		return usagef("--workers %d: want 1 or more", f.workers)
	case f.rate < 0:
		return usagef("--rate %v: want 0 (unlimited) or more", f.rate)
	case f.burst < 1:
		return usagef("--burst %d: want 1 or more", f.burst)
	case f.maxRetries < 0:
		return usagef("--max-retries %d: want 0 or more", f.maxRetries)
	case f.timeout <= 0:
		return usagef("--timeout %v: want more than 0", f.timeout)
	case f.limit < 0:
		return usagef("--limit %d: want 0 (all) or more", f.limit)
	}

	input := pos[0]
	fromStdin := input == "-"
	name := input
	if fromStdin {
		name = "stdin"
	}
	ropts, err := f.input.options(name)
	if err != nil {
		return err
	}
	resultsPath := f.results
	if resultsPath == "" {
		if fromStdin {
			return usagef("reading stdin: give --results PATH for the results CSV")
		}
		resultsPath = defaultResults(input)
	}

	if !fromStdin && sameFile(input, resultsPath) {
		return usagef("--results %s is the input file: give another path", resultsPath)
	}
	// A broken file is refused before anything is sent (stdin can only
	// be checked as it streams).
	if !fromStdin {
		if err := checkFile(input, ropts); err != nil {
			return err
		}
	}

	var eng *batch.Engine
	if !f.dryRun {
		cfg, err := f.engineConfig(e.getenv, log)
		if err != nil {
			return err
		}
		if eng, err = batch.New(cfg); err != nil {
			return withCode(exitUsage, err)
		}
	}

	in, closeIn, err := openInput(input, e.stdin)
	if err != nil {
		return err
	}
	defer closeIn()
	rd, err := reader.Open(in, ropts)
	if err != nil {
		return err
	}
	if left := rd.LeftOut(); len(left) > 0 {
		log.Warn("columns not sent (name them in --extra-columns to send them)", "columns", strings.Join(left, ","))
	}

	if f.strict && !fromStdin {
		n, err := listInvalid(input, ropts, f.limit, e.stderr)
		if err != nil {
			return err
		}
		if n > 0 {
			return withCode(exitRowsFailed, fmt.Errorf("--strict: %d invalid rows in %s; nothing sent", n, input))
		}
	}
	if f.dryRun {
		return dryRun(rd, f, e.stdout)
	}

	mode := writer.Create
	switch {
	case f.resume:
		mode = writer.Resume
	case f.overwrite:
		mode = writer.Overwrite
	}
	w, err := writer.Open(resultsPath, mode)
	if err != nil {
		if errors.Is(err, writer.ErrExists) {
			return usagef("%w: use --resume to continue that run or --overwrite to start afresh", err)
		}
		return err
	}
	defer w.Close()
	done := w.Done()
	var records recordSource = rd
	switch {
	case done.Rows() == 0:
	case fromStdin:
		records = &gatedReader{rd: rd, done: done, results: resultsPath}
	default:
		if err := checkResumeMatches(input, ropts, done, resultsPath); err != nil {
			return err
		}
	}

	p := &pipeline{
		rd: rd, records: records, w: w, done: done, eng: eng, log: log, limit: f.limit,
		resultsPath: resultsPath, input: input,
	}
	err = p.run(ctx, e.signals)
	if cerr := w.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close results %s: %w", resultsPath, cerr)
	}
	s := p.summary(start)
	switch {
	case err != nil:
	case p.interrupted.Load():
		err = withCode(exitInterrupted, errSilent)
	case s.Failed+s.Invalid > 0:
		err = withCode(exitRowsFailed, errSilent)
	}
	s.finish(err)
	s.print(e.stderr)
	if f.summaryJSON != "" {
		if jerr := s.writeJSON(f.summaryJSON); jerr != nil {
			log.Error("could not write --summary-json", "err", jerr)
		}
	}
	return err
}

func (f *runFlags) engineConfig(getenv func(string) string, log *slog.Logger) (batch.Config, error) {
	base := f.baseURL
	if base == "" {
		base = getenv("KAPTURE_BASE_URL")
	}
	if base == "" {
		sub := f.subdomain
		if sub == "" {
			sub = getenv("KAPTURE_SUBDOMAIN")
		}
		sub = strings.TrimSpace(sub)
		if sub == "" {
			return batch.Config{}, usagef("no API address: give --base-url or --subdomain (or set KAPTURE_BASE_URL or KAPTURE_SUBDOMAIN)")
		}
		if strings.ContainsAny(sub, "/:.") {
			return batch.Config{}, usagef("--subdomain %q: give the name only, e.g. acme for https://acme.kapturecrm.com", sub)
		}
		base = "https://" + sub + ".kapturecrm.com"
	}
	token, err := loadToken(f.tokenFile, getenv)
	if err != nil {
		return batch.Config{}, err
	}
	return batch.Config{
		BaseURL:           base,
		Token:             token,
		AllowInsecureHTTP: f.allowInsecure,
		UserAgent:         "kapture-bulk/" + version,
		BatchSize:         f.batchSize,
		Workers:           f.workers,
		Rate:              f.rate,
		Burst:             f.burst,
		MaxRetries:        f.maxRetries,
		Timeout:           f.timeout,
		Logger:            log,
	}, nil
}

func openInput(path string, stdin io.Reader) (io.Reader, func(), error) {
	if path == "-" {
		return stdin, func() {}, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, usagef("open input: %w", err)
	}
	return fh, func() { fh.Close() }, nil
}

func checkFile(path string, opts reader.Options) error {
	fh, err := os.Open(path)
	if err != nil {
		return usagef("open input: %w", err)
	}
	defer fh.Close()
	return reader.Check(fh, opts)
}

// recordSource yields the input's records.
type recordSource interface {
	Next() (reader.Record, error)
}

// pipeline is one run: a producer reading records, the engine sending
// them, and one writer goroutine owning the results file.
type pipeline struct {
	rd          *reader.Reader
	records     recordSource // rd, or a gate in front of it
	w           *writer.Writer
	done        *writer.Done
	eng         *batch.Engine
	log         *slog.Logger
	limit       int
	input       string
	resultsPath string

	counts      counts
	interrupted atomic.Bool
	readErr     error // set by the producer before it closes rows
}

func (p *pipeline) run(ctx context.Context, signals <-chan os.Signal) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// stop: no new rows or payloads (first signal); cancel: abort now.
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopNow := func() { stopOnce.Do(func() { close(stop); p.eng.Stop() }) }

	finished := make(chan struct{})
	defer close(finished)
	go func() { // lives until run returns
		n := 0
		for {
			select {
			case <-finished:
				return
			case sig := <-signals:
				n++
				p.interrupted.Store(true)
				if n == 1 {
					p.log.Warn("interrupted: finishing the requests in flight; send the signal again to stop at once", "signal", sig.String())
					stopNow()
					continue
				}
				p.log.Warn("interrupted again: stopping now", "signal", sig.String())
				cancel(context.Canceled)
			}
		}
	}()

	results := make(chan []writer.Result, 64)
	var writeErr error
	writerDone := make(chan struct{})
	go func() { // the only goroutine that touches the results file
		defer close(writerDone)
		for res := range results {
			if writeErr != nil {
				continue // keep draining so senders never block
			}
			if err := p.w.Write(res); err != nil {
				writeErr = fmt.Errorf("write results %s: %w", p.resultsPath, err)
				cancel(writeErr)
				continue
			}
			for _, r := range res {
				switch r.Status {
				case writer.StatusSuccess:
					p.counts.success.Add(1)
				case writer.StatusFailed:
					p.counts.failed.Add(1)
				case writer.StatusInvalid:
					p.counts.invalid.Add(1)
				}
			}
		}
	}()
	send := func(res []writer.Result) error {
		select {
		case results <- res:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}

	rows := make(chan batch.Row, 256)
	prodCtx, stopProd := context.WithCancel(ctx)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		defer close(rows)
		p.readErr = p.produce(prodCtx, stop, rows, send)
		if p.readErr != nil {
			p.eng.Stop()
		}
	}()

	runErr := p.eng.Run(ctx, rows, func(res []batch.Result) error {
		return send(toWriter(res))
	})
	stopProd()
	<-prodDone
	close(results)
	<-writerDone

	switch {
	case writeErr != nil:
		return writeErr
	case runErr != nil && errors.Is(runErr, context.Canceled) && p.interrupted.Load():
		return nil // the summary and exit 130 say it
	case runErr != nil:
		return runErr
	case p.readErr != nil:
		return p.readErr
	}
	return nil
}

// produce reads records until the end, stop, or an input error, and hands
// them on: invalid rows straight to the results, rows already done (by
// --resume) counted and skipped, the rest to the engine.
func (p *pipeline) produce(ctx context.Context, stop <-chan struct{}, rows chan<- batch.Row, send func([]writer.Result) error) error {
	for n := 0; p.limit == 0 || n < p.limit; n++ {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		default:
		}
		rec, err := p.records.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p.counts.read.Add(1)
		if rec.Invalid != "" {
			if err := send([]writer.Result{{
				TicketID: rec.TicketID, Status: writer.StatusInvalid, Message: rec.Invalid,
				Line: rec.Line, FinishedAt: time.Now(),
			}}); err != nil {
				return nil // the run is ending; its cause is reported elsewhere
			}
			continue
		}
		row := batch.NewRow(rec)
		if p.done != nil && p.done.Skip(row.Line, row.Fingerprint) {
			p.counts.skipped.Add(1)
			continue
		}
		select {
		case rows <- row:
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

func toWriter(res []batch.Result) []writer.Result {
	out := make([]writer.Result, len(res))
	for i, r := range res {
		st := writer.StatusFailed
		if r.Status == batch.Success {
			st = writer.StatusSuccess
		}
		out[i] = writer.Result{
			TicketID: r.TicketID, Status: st, Message: r.Message, Line: r.Line,
			HTTPStatus: r.HTTPStatus, Attempts: r.Attempts, FinishedAt: r.FinishedAt,
			Fingerprint: r.Fingerprint,
		}
	}
	return out
}
