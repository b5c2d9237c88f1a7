package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"strings"
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
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar or progress lines (warnings and the summary still print)")
	fs.DurationVar(&f.progressInterval, "progress-interval", 10*time.Second, "how often to log a progress line when stderr is not a terminal, and at most how often a repeated warning is logged")
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

// newLogger logs to w; warnings repeated within every are held back and
// counted (see repeatLimiter).
func newLogger(w io.Writer, format, level string, every time.Duration) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usagef("--log-format %q: want text or json", format)
	}
	return slog.New(newRepeatLimiter(h, every)), nil
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
		printFlags(fs.Output(), fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if f.summaryJSON != "" {
		// A scheduler relies on this file: find out now, not after the
		// run, that it cannot be written.
		if err := checkWritable(f.summaryJSON + ".tmp"); err != nil {
			return usagef("--summary-json: %w", err)
		}
	}
	// From here on, however the run ends, the summary says how.
	st := &runState{start: time.Now()}
	if len(pos) == 1 {
		st.input = pos[0]
	}
	err = f.execute(ctx, fs, pos, e, st)
	s := st.summary()
	s.finish(err)
	if st.p != nil {
		s.print(e.stderr)
	}
	if f.summaryJSON != "" {
		if jerr := s.writeJSON(f.summaryJSON); jerr != nil {
			fmt.Fprintf(e.stderr, "kapture-bulk: could not write --summary-json: %v\n", jerr)
		}
	}
	return err
}

// runState is what a run got as far as, for its summary.
type runState struct {
	start       time.Time
	input       string
	resultsPath string
	p           *pipeline     // nil until the pipeline ran
	dry         *dryRunCounts // set by --dry-run
}

// execute is a run after its flags parsed: checks, then the pipeline,
// recording in st how far it got.
func (f *runFlags) execute(ctx context.Context, fs *flag.FlagSet, pos []string, e *env, st *runState) error {
	if len(pos) != 1 {
		fs.Usage()
		return usagef("run takes exactly one INPUT (a CSV path, or - for stdin), got %d", len(pos))
	}
	showBar := !f.quiet && e.isTerminal != nil && e.isTerminal()
	var logOut io.Writer = e.stderr
	var lines *termLines
	if showBar {
		lines = &termLines{w: e.stderr}
		logOut = lines
	}
	log, err := newLogger(logOut, f.logFormat, f.logLevel, f.progressInterval)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ir := watchSignals(e.signals, cancel, log)
	defer ir.close()
	// early is what a run stopped by a signal before it sent anything says.
	early := func() error {
		if ir.interrupted() {
			return withCode(exitInterrupted, fmt.Errorf("%w before anything was sent", errInterrupted))
		}
		return nil
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
	case f.progressInterval <= 0:
		return usagef("--progress-interval %v: want more than 0", f.progressInterval)
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
	if f.strict && fromStdin {
		return usagef("--strict reads the whole input before sending anything, and stdin cannot be read twice: save it to a file first")
	}
	resultsPath := f.results
	switch {
	case resultsPath != "":
	case !fromStdin:
		resultsPath = defaultResults(input)
	case !f.dryRun || f.resume:
		return usagef("reading stdin: give --results PATH for the results CSV")
	}

	if !fromStdin && sameFile(input, resultsPath) {
		return usagef("--results %s is the input file: give another path", resultsPath)
	}
	// A broken file is refused before anything is sent (stdin can only
	// be checked as it streams).
	if !fromStdin && !f.strict { // --strict's scan checks the syntax too
		if err := checkFile(input, ropts); err != nil {
			return inputError(err)
		}
	}
	if err := early(); err != nil {
		return err
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
	abortInput := func() {}
	if fromStdin {
		// A read of stdin may block for as long as its writer likes: a
		// signal or a fatal error must not wait for it.
		in, abortInput = abortable(in)
		ir.whenStopped(abortInput)
	}
	total := progressTotal{limit: int64(f.limit)}
	if !fromStdin {
		if fi, err := os.Stat(input); err == nil {
			total.size = fi.Size()
		}
	}
	counted := &countingReader{r: in}
	rd, err := reader.Open(counted, ropts)
	if eerr := early(); eerr != nil {
		return eerr // the read of stdin was abandoned for the signal
	}
	if err != nil {
		return inputError(err)
	}
	if left := rd.LeftOut(); len(left) > 0 {
		log.Warn("columns not sent (name them in --extra-columns to send them)", "columns", strings.Join(left, ","))
	}

	if f.strict {
		n, err := listInvalid(input, ropts, f.limit, e.stderr)
		if err != nil {
			return err
		}
		if n > 0 {
			return withCode(exitRowsFailed, fmt.Errorf("--strict: %d invalid rows in %s; nothing sent", n, input))
		}
		if err := early(); err != nil {
			return err
		}
	}
	if f.dryRun {
		var done *writer.Done
		if f.resume {
			// Read, not opened for writing: a dry run changes nothing.
			if done, err = writer.ReadDone(resultsPath); err != nil {
				return withCode(exitUsage, err)
			}
		}
		st.dry = &dryRunCounts{}
		return dryRun(rd, *f, newResumeFilter(done), e.stdout, st.dry)
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
		switch {
		case errors.Is(err, writer.ErrExists):
			return usagef("%w: use --resume to continue that run or --overwrite to start afresh", err)
		case errors.Is(err, writer.ErrLocked):
			return err // exit 3: another run holds it
		}
		return withCode(exitUsage, err) // a bad path, a directory, not a results file: nothing sent
	}
	defer w.Close()
	st.resultsPath = resultsPath
	done := w.Done()
	if n := done.TornBytes(); n > 0 {
		log.Warn("cut a torn last line off the results file (a crash in mid-write); its row is sent again", "results", resultsPath, "bytes", n)
	}
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
	if err := early(); err != nil {
		return err
	}

	p := &pipeline{
		rd: rd, records: records, w: w, done: done, eng: eng, log: log, limit: f.limit,
		resultsPath: resultsPath, input: input,
	}
	st.p = p

	// Progress: a bar on a terminal, a log line every --progress-interval
	// elsewhere, nothing with --quiet (retries are still summarised).
	var sink progressSink
	tick := f.progressInterval
	switch {
	case showBar:
		sink = newBarSink(lines, total)
		tick = min(250*time.Millisecond, f.progressInterval)
	case !f.quiet:
		sink = &logSink{log: log, total: total}
	}
	log.Info("run started", "input", name, "results", resultsPath, "api", eng.URL(), "batch_size", f.batchSize,
		"workers", f.workers, "rate", f.rate, "limit", f.limit, "resume", f.resume)
	monCtx, stopMonitor := context.WithCancel(ctx)
	monDone := make(chan struct{})
	go func() { // stopped below, before the summary
		defer close(monDone)
		monitor(monCtx, func() progressSnap { return p.snapshot(st.start, counted) }, sink, tick, f.progressInterval, log)
	}()

	err = p.run(ctx, ir, abortInput)
	stopMonitor()
	<-monDone
	if sink != nil {
		sink.finish()
	}
	if cerr := w.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close results %s: %w", resultsPath, cerr)
	}
	if err == nil {
		switch {
		case ir.interrupted():
			err = withCode(exitInterrupted, errSilent)
		case p.counts.failed.Load()+p.counts.invalid.Load() > 0:
			err = withCode(exitRowsFailed, errSilent)
		}
	}
	return err
}

// snapshot reads the run's counters; safe while it runs.
func (p *pipeline) snapshot(start time.Time, in *countingReader) progressSnap {
	now := time.Now()
	s := progressSnap{
		at: now, elapsed: now.Sub(start),
		read: p.counts.read.Load(), success: p.counts.success.Load(), failed: p.counts.failed.Load(),
		invalid: p.counts.invalid.Load(), skipped: p.counts.skipped.Load(),
		bytes: in.n.Load(),
	}
	if p.eng != nil {
		es := p.eng.Stats()
		s.requests, s.retries, s.rate = es.Requests, es.Retries, es.Rate
	}
	return s
}

// apiRoot resolves where to send: the flags first (--base-url or
// --subdomain, not both), then the environment (KAPTURE_BASE_URL, then
// KAPTURE_SUBDOMAIN). A flag always beats the environment, so a variable
// left in a cron environment cannot redirect a run that names its tenant.
func (f *runFlags) apiRoot(getenv func(string) string) (string, error) {
	if f.baseURL != "" && f.subdomain != "" {
		return "", usagef("give --base-url or --subdomain, not both")
	}
	base, sub := f.baseURL, f.subdomain
	if base == "" && sub == "" {
		base, sub = getenv("KAPTURE_BASE_URL"), getenv("KAPTURE_SUBDOMAIN")
	}
	if base = strings.TrimSpace(base); base != "" {
		return base, nil
	}
	sub = strings.TrimSpace(sub)
	if sub == "" {
		return "", usagef("no API address: give --base-url or --subdomain (or set KAPTURE_BASE_URL or KAPTURE_SUBDOMAIN)")
	}
	if strings.ContainsAny(sub, "/:.") {
		return "", usagef("--subdomain %q: give the name only, e.g. acme for https://acme.kapturecrm.com", sub)
	}
	return "https://" + sub + ".kapturecrm.com", nil
}

func (f *runFlags) engineConfig(getenv func(string) string, log *slog.Logger) (batch.Config, error) {
	base, err := f.apiRoot(getenv)
	if err != nil {
		return batch.Config{}, err
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
	fh, err := openFile(path)
	if err != nil {
		return nil, nil, err
	}
	return fh, func() { fh.Close() }, nil
}

// openFile opens the input file, refusing a directory up front (its read
// error would come later, and less clearly).
func openFile(path string) (*os.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, usagef("open input: %w", err)
	}
	if fi, err := fh.Stat(); err == nil && fi.IsDir() {
		fh.Close()
		return nil, usagef("input %s is a directory, not a CSV file", path)
	}
	return fh, nil
}

// inputError makes a failure to read the input before anything was sent
// an input error (exit 2), whatever its kind.
func inputError(err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return withCode(exitUsage, err)
}

func checkFile(path string, opts reader.Options) error {
	fh, err := openFile(path)
	if err != nil {
		return err
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

	counts     counts
	readErr    error // set by the producer before it closes rows
	duplicates int64 // set by the producer before it closes rows
}

// duplicates notices rows whose ticket_id appeared earlier in the input,
// for a warning and the summary's figure. Its memory must not grow with the
// file: it keeps 64-bit hashes (not ids) of the most recent distinct
// tickets, in two generations of dupWindow each, so a repeat further back
// than dupWindow distinct tickets may go uncounted: on larger files n is a
// lower bound. A hash collision would only miscount the figure.
type duplicates struct {
	cur, prev map[uint64]struct{}
	seed      maphash.Seed
	n         int64
}

const dupWindow = 1 << 15

func (d *duplicates) seen(ticketID string) bool {
	if d.cur == nil {
		d.cur = map[uint64]struct{}{}
		d.seed = maphash.MakeSeed()
	}
	h := maphash.String(d.seed, ticketID)
	if _, ok := d.cur[h]; ok {
		d.n++
		return true
	}
	if _, ok := d.prev[h]; ok {
		d.n++
		d.cur[h] = struct{}{}
		return true
	}
	if len(d.cur) >= dupWindow {
		d.prev, d.cur = d.cur, make(map[uint64]struct{}, dupWindow)
	}
	d.cur[h] = struct{}{}
	return false
}

// run sends the input. The first signal (ir.stop) stops it taking new
// rows and payloads; the second cancels ctx. abortInput unblocks a read of
// stdin the run no longer wants.
func (p *pipeline) run(ctx context.Context, ir *interrupts, abortInput func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := ir.stop
	ir.whenStopped(p.eng.Stop)

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
		// On an input error (a CSV syntax error in stdin) the rows
		// already read still go out: closing rows lets the engine drain.
		p.readErr = p.produce(prodCtx, stop, rows, send)
	}()

	runErr := p.eng.Run(ctx, rows, func(res []batch.Result) error {
		return send(toWriter(res))
	})
	abortInput() // the producer may be blocked reading stdin
	stopProd()
	<-prodDone
	close(results)
	<-writerDone

	switch {
	case writeErr != nil:
		return writeErr
	case runErr != nil && ir.interrupted() && (errors.Is(runErr, errInterrupted) || errors.Is(runErr, context.Canceled)):
		return nil // the summary and exit 130 say it
	case runErr != nil:
		return runErr
	case p.readErr != nil && !(errors.Is(p.readErr, errInputAborted) && ir.interrupted()):
		return p.readErr
	}
	return nil
}

// produce reads records until the end, stop, or an input error, and hands
// them on: invalid rows straight to the results, rows already done (by
// --resume) counted and skipped, the rest to the engine.
func (p *pipeline) produce(ctx context.Context, stop <-chan struct{}, rows chan<- batch.Row, send func([]writer.Result) error) error {
	var dups duplicates
	defer func() { p.duplicates = dups.n }()
	resume := newResumeFilter(p.done)
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
		if dups.seen(rec.TicketID) && dups.n == 1 {
			p.log.Warn("a ticket_id appears more than once: its rows go out in file order, one at a time (the summary counts them)",
				"ticket_id", rec.TicketID, "line", rec.Line)
		}
		row := batch.NewRow(rec)
		if resume.skip(row) {
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

// resumeFilter decides which rows a resumed run skips: those whose line's
// latest result is success with the same fingerprint, unless an earlier
// row of the same ticket is being sent again. A row sent again after a
// result makes its ticket's later rows, even those done, follow it again,
// or the ticket would end in that row's state instead of the file's last
// one. It remembers only such tickets. A nil done skips nothing.
type resumeFilter struct {
	done   *writer.Done
	resent map[string]bool
}

func newResumeFilter(done *writer.Done) *resumeFilter {
	return &resumeFilter{done: done, resent: map[string]bool{}}
}

func (f *resumeFilter) skip(row batch.Row) bool {
	if f.done.Skip(row.Line, row.Fingerprint) && !f.resent[row.TicketID] {
		return true
	}
	if f.done.Recorded(row.Line) {
		f.resent[row.TicketID] = true
	}
	return false
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
