package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
)

// apiFlags are the flags of every command that talks to the API (run,
// snapshot, verify, probe): where it is, the token, TLS, the pace and
// retries of requests, and the logs. One struct, so that each command
// takes them with the same names, defaults, ranges and environment
// variables.
type apiFlags struct {
	baseURL          string
	subdomain        string
	tokenFile        string
	caCert           string
	allowInsecure    bool
	workers          int
	rate             float64
	rateAuto         bool // --rate auto
	burst            int
	maxRetries       int
	timeout          time.Duration
	logFormat        string
	logLevel         string
	quiet            bool
	progressInterval time.Duration
}

// register adds the flags to fs. sends says the command sends updates
// (run): its help speaks of payloads; the others' of read requests.
func (f *apiFlags) register(fs *flag.FlagSet, sends bool) {
	per, inFlight, perRetry := "Get Ticket requests per second", "read requests in flight", "retries per read request"
	if sends {
		per, inFlight, perRetry = "payloads (requests) per second", "payloads in flight", "retries per payload"
	}
	fs.StringVar(&f.baseURL, "base-url", "", withEnv("API root (default: https://SUBDOMAIN.kapturecrm.com)", "KAPTURE_BASE_URL"))
	fs.StringVar(&f.subdomain, "subdomain", "", withEnv("Kapture subdomain", "KAPTURE_SUBDOMAIN"))
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the API token (default: env KAPTURE_API_TOKEN)")
	fs.StringVar(&f.caCert, "ca-cert", "", "PEM file of certificate authorities to trust besides the system's (an API behind a private CA or a TLS-inspecting proxy)")
	fs.BoolVar(&f.allowInsecure, "allow-insecure-http", false, "allow plain http:// to a non-loopback host (sends the token in the clear)")
	fs.IntVar(&f.workers, "workers", batch.DefaultWorkers, inFlight+", 1 to 64")
	f.rate = 5
	fs.Var(rateValue{&f.rate, &f.rateAuto}, "rate", per+", `R` from 0 to 1000 (0 = unlimited), or auto: find the API's limit and hold just under it")
	fs.IntVar(&f.burst, "burst", batch.DefaultBurst, "requests that may go out at once after a quiet spell, 1 to 1000")
	fs.IntVar(&f.maxRetries, "max-retries", 5, perRetry+" for network errors, timeouts, 429 and 5xx, 0 to 100")
	fs.DurationVar(&f.timeout, "timeout", batch.DefaultTimeout, "per request, 100ms to 10m")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar or progress lines (warnings and the summary still print)")
	fs.DurationVar(&f.progressInterval, "progress-interval", 10*time.Second, "how often to log a progress line when stderr is not a terminal, and at most how often a repeated warning is logged; 100ms or more")
}

// check refuses values no command can use.
func (f *apiFlags) check() error {
	switch {
	case f.workers < 1 || f.workers > maxWorkers:
		return usagef("--workers %d: want 1 to %d", f.workers, maxWorkers)
	case !f.rateAuto && !(f.rate >= 0 && f.rate <= maxRate): // NaN too
		return usagef("--rate %v: want 0 (unlimited) to %d", f.rate, maxRate)
	case f.burst < 1 || f.burst > maxBurst:
		return usagef("--burst %d: want 1 to %d", f.burst, maxBurst)
	case f.maxRetries < 0 || f.maxRetries > maxMaxRetries:
		return usagef("--max-retries %d: want 0 to %d", f.maxRetries, maxMaxRetries)
	case f.timeout < minTimeout || f.timeout > maxTimeout:
		return usagef("--timeout %v: want %v to %v", f.timeout, minTimeout, maxTimeout)
	case f.progressInterval < minProgressInterval:
		return usagef("--progress-interval %v: want %v or more", f.progressInterval, minProgressInterval)
	}
	return nil
}

// apiRoot resolves where to send: the flags first (--base-url or
// --subdomain, not both), then the environment (KAPTURE_BASE_URL, then
// KAPTURE_SUBDOMAIN). A flag always beats the environment, so a variable
// left in a cron environment cannot redirect a run that names its tenant.
func (f *apiFlags) apiRoot(getenv func(string) string) (string, error) {
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
	if strings.Contains(sub, "@") { // a user name or password: not printed
		return "", usagef("--subdomain: give the name only, e.g. acme for https://acme.kapturecrm.com, without a user name or password")
	}
	if sub == "" {
		return "", usagef("no API address: give --base-url or --subdomain (or set KAPTURE_BASE_URL or KAPTURE_SUBDOMAIN)")
	}
	if strings.ContainsAny(sub, "/:.") {
		return "", usagef("--subdomain %q: give the name only, e.g. acme for https://acme.kapturecrm.com", sub)
	}
	return "https://" + sub + ".kapturecrm.com", nil
}

// engineConfig is the engine's configuration for the API the flags and
// the environment name, with the token; the command adds what is its own
// (batch size, reply forms, the reply check, the read batch).
func (f *apiFlags) engineConfig(e *env, log *slog.Logger) (batch.Config, error) {
	base, err := f.apiRoot(e.getenv)
	if err != nil {
		return batch.Config{}, err
	}
	token, err := loadToken(f.tokenFile, e.getenv)
	if err != nil {
		return batch.Config{}, err
	}
	e.secrets.add(token)
	warnTokenFile(f.tokenFile, log)
	roots, err := loadCACert(f.caCert)
	if err != nil {
		return batch.Config{}, err
	}
	return batch.Config{
		RootCAs:           roots,
		BaseURL:           base,
		Token:             token,
		AllowInsecureHTTP: f.allowInsecure,
		UserAgent:         "kapture-bulk/" + version,
		Workers:           f.workers,
		Rate:              f.rate,
		AutoRate:          f.rateAuto,
		Burst:             f.burst,
		MaxRetries:        f.maxRetries,
		Timeout:           f.timeout,
		Logger:            log,
	}, nil
}

// files are the files the flags name that a command reads.
func (f *apiFlags) files() []file {
	return append(secretInput("--token-file", f.tokenFile), input("--ca-cert", f.caCert)...)
}

// logger is the command's logger on stderr; on a terminal (unless
// --quiet) it shares stderr with a status line, lines non-nil.
func (f *apiFlags) logger(e *env) (log *slog.Logger, lines *termLines, err error) {
	var out io.Writer = e.stderr
	if !f.quiet && e.isTerminal != nil && e.isTerminal() {
		lines = &termLines{w: e.stderr}
		out = lines
	}
	log, err = newLogger(out, f.logFormat, f.logLevel, f.progressInterval)
	return log, lines, err
}

// readBatchFlag registers --read-batch into n: ticket ids per Get Ticket
// request.
func readBatchFlag(fs *flag.FlagSet, n *int) {
	fs.IntVar(n, "read-batch", batch.DefaultReadBatch, fmt.Sprintf("ticket ids per Get Ticket request, 1 to %d", maxReadBatch))
}

// checkReadBatch refuses a --read-batch out of its range.
func checkReadBatch(n int) error {
	if n < 1 || n > maxReadBatch {
		return usagef("--read-batch %d: want 1 to %d", n, maxReadBatch)
	}
	return nil
}
