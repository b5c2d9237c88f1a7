package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// The ranges of mock's numeric flags, as for run's: beyond them a value
// is a typo.
const (
	maxMockLatency = 10 * time.Minute // a stall outlasts a client's timeout anyway
	maxMockRate    = 100000           // requests per second served
)

// mockOptions is the mock command as parsed.
type mockOptions struct {
	env                  *env
	addr, reply, urlFile string
	atomic               bool
	latency              time.Duration
	failRate, rateLimit  float64
	rateBurst            int
	seed                 uint64
}

// cmdMock is the mock command. It parses args, then hands the options to
// runF if a test gave one, else to mockRun.
func cmdMock(ctx context.Context, args []string, e *env, runF func(context.Context, *mockOptions) error) error {
	o, err := parseMock(args, e)
	if err != nil {
		return err
	}
	if runF != nil {
		return runF(ctx, o)
	}
	return mockRun(ctx, o)
}

// parseMock parses the mock command's flags.
func parseMock(args []string, e *env) (*mockOptions, error) {
	fs := flag.NewFlagSet("kapture-bulk mock", flag.ContinueOnError)
	fs.SetOutput(e.stdout) // help is asked for: stdout
	o := &mockOptions{env: e}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (port 0: a free port)")
	fs.StringVar(&o.reply, "reply", "array", "reply form for a payload: array (one result per item), object (one for all: the success of the last item, or the first failure) or last (one object about the last item; the others applied or refused without a word)")
	fs.BoolVar(&o.atomic, "atomic", false, "when an item of a payload fails, apply none of it")
	fs.DurationVar(&o.latency, "latency", 0, "added to every request, 0 to 10m")
	fs.Float64Var(&o.failRate, "fail-rate", 0, "share of requests (0 to 1) that get a fault: 500 page, 429, dropped connection, non-JSON 200 or a stall")
	fs.Float64Var(&o.rateLimit, "rate-limit", 0, "requests per second served, 0 to 100000; over it 429 with Retry-After (0 = unlimited)")
	fs.IntVar(&o.rateBurst, "rate-burst", 1, "requests the rate limit lets through back to back, 1 to 1000 (1: strict spacing)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the fault draws")
	fs.StringVar(&o.urlFile, "url-file", "", "write the API root URL to this file once listening (for scripts)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kapture-bulk mock [flags]\n\nServes a local fake of the Update Ticket API for rehearsals and demos.\nIt accepts the token in KAPTURE_API_TOKEN (default %q); tickets exist\nwhen their id is 12 digits starting with 7. It prints what it received\nwhen stopped (Ctrl-C).\n\nFlags:\n", kapturetest.DefaultToken)
		printFlags(fs.Output(), fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("mock takes no arguments, got %q %s", pos, helpHint(fs.Name()))
	}
	return o, nil
}

// options checks the flags and turns them into the fake's options.
func (o *mockOptions) options() (kapturetest.Options, error) {
	form, err := kapturetest.ParseReply(o.reply)
	if err != nil {
		return kapturetest.Options{}, usagef("--reply: %w", err)
	}
	switch {
	case !(o.failRate >= 0 && o.failRate <= 1): // NaN too
		return kapturetest.Options{}, usagef("--fail-rate %v: want 0 to 1", o.failRate)
	case o.latency < 0 || o.latency > maxMockLatency:
		return kapturetest.Options{}, usagef("--latency %v: want 0 to %v", o.latency, maxMockLatency)
	case !(o.rateLimit >= 0 && o.rateLimit <= maxMockRate):
		return kapturetest.Options{}, usagef("--rate-limit %v: want 0 (unlimited) to %d", o.rateLimit, maxMockRate)
	case o.rateBurst < 1 || o.rateBurst > maxBurst:
		return kapturetest.Options{}, usagef("--rate-burst %d: want 1 to %d", o.rateBurst, maxBurst)
	}
	opts := kapturetest.Options{
		Token:     strings.TrimSpace(o.env.getenv("KAPTURE_API_TOKEN")),
		Reply:     form,
		Atomic:    o.atomic,
		Latency:   o.latency,
		RateLimit: o.rateLimit,
		RateBurst: o.rateBurst,
		Faults:    kapturetest.Spread(o.failRate),
		Seed:      o.seed,
		// A stall outlasts any sane client timeout, then answers 504.
		StallFor: 2 * time.Minute,
	}
	if err := opts.Validate(); err != nil {
		return kapturetest.Options{}, usagef("mock: %w", err)
	}
	return opts, nil
}

// mockRun serves the fake API until ctx ends or a signal comes, then
// prints what it received.
func mockRun(ctx context.Context, o *mockOptions) error {
	e := o.env
	opts, err := o.options()
	if err != nil {
		return err
	}
	h := kapturetest.NewHandler(opts)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return usagef("mock: listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // ends at Shutdown below
	fmt.Fprintf(e.stderr, "mock Kapture API listening on %s (reply form %s); stop with Ctrl-C\n", url, opts.Reply)
	if o.urlFile != "" {
		if err := os.WriteFile(o.urlFile, []byte(url+"\n"), 0o644); err != nil {
			srv.Close()
			return usagef("mock: --url-file: %w", err)
		}
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case <-e.signals:
	case serveErr = <-served:
	}
	h.Close() // release stalled requests first, or Shutdown waits for them
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	fmt.Fprintf(e.stderr, "mock stopped. What it received:\n%s", h.Summary())
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("mock: serve: %w", serveErr)
	}
	return nil
}
