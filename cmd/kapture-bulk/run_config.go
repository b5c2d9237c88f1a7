package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// check refuses flag values no run can use.
func (f *runFlags) check() error {
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
	case f.rowsFailedExit < 0 || f.rowsFailedExit > 125 || f.rowsFailedExit == exitUsage || f.rowsFailedExit == exitAborted:
		return usagef("--rows-failed-exit-code %d: want 0 to 125, but not 2 or 3 (they mean other things)", f.rowsFailedExit)
	}
	if _, err := batch.ParseObjectReplies(f.objectReplies); err != nil {
		return usagef("--object-replies %q: want auto, whole or single", f.objectReplies)
	}
	return nil
}

// config turns checked flags into the run's Config: how to read INPUT,
// the results path (derived from INPUT unless given) and, unless for a dry
// run, where the API is and the token, from the flags and the environment.
// Stop and OnStart are the caller's to set.
func (o *runOptions) config(log *slog.Logger) (run.Config, error) {
	f, e := &o.flags, o.env
	input := o.args[0]
	fromStdin := input == "-"
	name := input
	if fromStdin {
		name = "stdin"
	}
	ropts, err := f.input.options(name)
	if err != nil {
		return run.Config{}, err
	}
	if f.strict && fromStdin {
		return run.Config{}, usagef("--strict reads the whole input before sending anything, and stdin cannot be read twice: save it to a file first")
	}
	resultsPath := f.results
	switch {
	case resultsPath != "":
	case !fromStdin:
		resultsPath = defaultResults(input)
	case !f.dryRun || f.resume:
		return run.Config{}, usagef("reading stdin: give --results PATH for the results CSV")
	}
	if !fromStdin && sameFile(input, resultsPath) {
		return run.Config{}, usagef("--results %s is the input file: give another path", resultsPath)
	}
	cfg := run.Config{
		Input: input, Stdin: e.stdin, Reader: ropts,
		Results: resultsPath, Mode: f.mode(),
		Limit:  f.limit,
		Strict: f.strict, InvalidOut: e.stderr,
		DryRun: f.dryRun, DryRunOut: e.stdout,
		Engine: batch.Config{BatchSize: f.batchSize}, // all a dry run needs
		Log:    log,
	}
	cfg.AllowEmpty = f.allowEmpty
	if !f.dryRun {
		if cfg.Engine, err = f.engineConfig(e.getenv, log); err != nil {
			return run.Config{}, err
		}
	} else if base, err := f.apiRoot(e.getenv); err == nil {
		// Only to say where a run would send: a dry run needs no address.
		cfg.Engine.BaseURL, cfg.Engine.AllowInsecureHTTP = base, f.allowInsecure
	}
	return cfg, nil
}

// mode is how the run opens an existing results file.
func (f *runFlags) mode() writer.Mode {
	switch {
	case f.resume:
		return writer.Resume
	case f.overwrite:
		return writer.Overwrite
	}
	return writer.Create
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
	objects, _ := batch.ParseObjectReplies(f.objectReplies) // checked by check
	return batch.Config{
		ObjectReplies:     objects,
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
