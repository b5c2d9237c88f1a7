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

func cmdMock(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("kapture-bulk mock", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0: a free port)")
	reply := fs.String("reply", "array", "reply form for a payload: array (one result per item) or object (one for all)")
	atomic := fs.Bool("atomic", false, "when an item of a payload fails, apply none of it")
	latency := fs.Duration("latency", 0, "added to every request")
	failRate := fs.Float64("fail-rate", 0, "share of requests (0..1) that get a fault: 500 page, 429, dropped connection, non-JSON 200 or a stall")
	rateLimit := fs.Float64("rate-limit", 0, "requests per second served; over it 429 with Retry-After (0 = unlimited)")
	rateBurst := fs.Int("rate-burst", 1, "requests the rate limit lets through back to back (1: strict spacing)")
	seed := fs.Uint64("seed", 1, "seed of the fault draws")
	urlFile := fs.String("url-file", "", "write the API root URL to this file once listening (for scripts)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kapture-bulk mock [flags]\n\nServes a local fake of the Update Ticket API for rehearsals and demos.\nIt accepts the token in KAPTURE_API_TOKEN (default %q); tickets exist\nwhen their id is 12 digits starting with 7. It prints what it received\nwhen stopped (Ctrl-C).\n\nFlags:\n", kapturetest.DefaultToken)
		printFlags(fs.Output(), fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("mock takes no arguments, got %q", pos)
	}
	form, err := kapturetest.ParseReply(*reply)
	if err != nil {
		return usagef("--reply: %w", err)
	}
	if *failRate < 0 || *failRate > 1 {
		return usagef("--fail-rate %v: want 0..1", *failRate)
	}
	opts := kapturetest.Options{
		Token:     strings.TrimSpace(e.getenv("KAPTURE_API_TOKEN")),
		Reply:     form,
		Atomic:    *atomic,
		Latency:   *latency,
		RateLimit: *rateLimit,
		RateBurst: *rateBurst,
		Faults:    kapturetest.Spread(*failRate),
		Seed:      *seed,
		// A stall outlasts any sane client timeout, then answers 504.
		StallFor: 2 * time.Minute,
	}
	if err := opts.Validate(); err != nil {
		return usagef("mock: %w", err)
	}
	h := kapturetest.NewHandler(opts)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usagef("mock: listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // ends at Shutdown below
	fmt.Fprintf(e.stderr, "mock Kapture API listening on %s (reply form %s); stop with Ctrl-C\n", url, form)
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(url+"\n"), 0o644); err != nil {
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
