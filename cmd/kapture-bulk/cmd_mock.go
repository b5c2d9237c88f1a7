package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
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
	env                         *env
	addr, reply, urlFile        string
	atomic, refuseUnlisted      bool
	readKeys, readQueue         bool
	latency                     time.Duration
	failRate, rateLimit, keepSS float64
	rateBurst                   int
	seed                        uint64
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
	o := &mockOptions{env: e}
	fs := mockFlagSet(o)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("mock takes no arguments, got %q %s", pos, helpHint(fs.Name()))
	}
	return o, nil
}

// mockFlagSet is the mock command's flags, parsed into o, with its help
// as Usage.
func mockFlagSet(o *mockOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("kapture-bulk mock", flag.ContinueOnError)
	fs.SetOutput(o.env.stdout) // help is asked for: stdout
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (port 0: a free port)")
	fs.StringVar(&o.reply, "reply", "array", "reply form for a payload: array (one result per item), object (one for all: the success of the last item, or the first failure) or last (one object about the last item; the others applied or refused without a word)")
	fs.BoolVar(&o.atomic, "atomic", false, "when an item of a payload fails, apply none of it")
	fs.DurationVar(&o.latency, "latency", 0, "added to every request, 0 to 10m")
	fs.Float64Var(&o.failRate, "fail-rate", 0, "share of requests (0 to 1) that get a fault: 500 page, 429, dropped connection, non-JSON 200 or a stall")
	fs.Float64Var(&o.rateLimit, "rate-limit", 0, "requests per second served, updates and reads together, 0 to 100000; over it 429 with Retry-After (0 = unlimited)")
	fs.IntVar(&o.rateBurst, "rate-burst", 1, "requests the rate limit lets through back to back, 1 to 1000 (1: strict spacing)")
	fs.Float64Var(&o.keepSS, "keep-sub-status", 0, "share of sub-status changes (0 to 1) the tenant's workflow silently refuses: the reply says success and shows the old sub-status")
	fs.BoolVar(&o.refuseUnlisted, "refuse-unlisted", false, "fail an update whose sub_status or queue key is not in the list above (default: apply it, named \"Unlisted KEY\")")
	fs.BoolVar(&o.readKeys, "read-keys", false, "Get Ticket shows status, sub-status and queue as keys (default: names, as the vendor's examples)")
	fs.BoolVar(&o.readQueue, "read-queue", false, "Get Ticket shows the ticket's queue (the vendor's examples show none)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the fault draws and of which sub-status changes --keep-sub-status refuses")
	fs.StringVar(&o.urlFile, "url-file", "", "write the API root URL to this file once listening (for scripts)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kapture-bulk mock [flags]\n\nServes a local fake of the Update Ticket and Get Ticket APIs for rehearsals\nand demos. It accepts the token in KAPTURE_API_TOKEN (default %q);\ntickets exist when their id is 12 digits starting with 7, and each starts\nin a sub-status, queue and disposition drawn from its id (the same in\nevery run). It prints what it received when stopped (Ctrl-C).\n\n", kapturetest.DefaultToken)
		fmt.Fprint(fs.Output(), "The tenant's keys and names:\n")
		printCatalogue(fs.Output(), kapturetest.DefaultCatalogue())
		fmt.Fprint(fs.Output(), "\nFlags:\n")
		printFlags(fs.Output(), fs)
	}
	return fs
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
	case !(o.keepSS >= 0 && o.keepSS <= 1): // NaN too
		return kapturetest.Options{}, usagef("--keep-sub-status %v: want 0 to 1", o.keepSS)
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
		StallFor:       2 * time.Minute,
		KeepSubStatus:  o.keepSS,
		RefuseUnlisted: o.refuseUnlisted,
		ReadKeys:       o.readKeys,
		ReadQueue:      o.readQueue,
	}
	if err := opts.Validate(); err != nil {
		return kapturetest.Options{}, usagef("mock: %w", err)
	}
	return opts, nil
}

// printCatalogue lists the tenant's keys, for an operator writing a
// rehearsal input.
func printCatalogue(w io.Writer, c kapturetest.Catalogue) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  sub_status\tname\tparent status")
	for _, s := range c.SubStatuses {
		fmt.Fprintf(tw, "  %s\t%s\t%s (%s)\n", s.Key, s.Name, s.Status.Key, s.Status.Name)
	}
	fmt.Fprintln(tw, "  queue\tname")
	for _, q := range c.Queues {
		fmt.Fprintf(tw, "  %s\t%s\n", q.Key, q.Name)
	}
	_ = tw.Flush() // to the help output: nothing to do about an error
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
	fmt.Fprintf(e.stderr, "mock Kapture API listening on %s (reply form %s; Get Ticket at %s); stop with Ctrl-C\n", url, opts.Reply, h.ReadPath())
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
