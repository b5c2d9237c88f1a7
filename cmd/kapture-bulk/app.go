package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	snap "github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/internal/undo"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Set by -ldflags at build time (see the Makefile).
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// env is the process's OS state, passed in so that run is testable with
// buffers and a fake signal channel.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	signals        <-chan os.Signal
	isTerminal     func() bool
	// secrets are the tokens the invocation knows, hidden in what it
	// prints (see withSecrets).
	secrets *secrets
}

// withSecrets returns a copy of e whose stderr hides the tokens the
// invocation knows, and learns those it reads.
func (e *env) withSecrets() *env {
	c := *e
	c.secrets = newSecrets(e.getenv)
	c.stderr = hidingWriter{w: e.stderr, s: c.secrets}
	return &c
}

// Exit codes: a contract with the scripts and schedulers that run the
// command (README, Exit codes); a code never changes meaning.
const (
	exitOK          = 0
	exitRowsFailed  = 1
	exitUsage       = 2
	exitAborted     = 3
	exitInterrupted = 130
)

// exitInputStopped: the input turned out unreadable (a CSV syntax error in
// stdin) after rows had been sent. Not 2, which says nothing was sent; not
// 3, which says try later: a person must fix the input, and --resume then
// sends the rest.
const exitInputStopped = 4

// exitError carries an exit code chosen where the failure is understood.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

func usagef(format string, a ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, a...))
}

// errSilent marks an error already reported to the user (the summary or
// the list of invalid rows said it all): only its exit code matters.
var errSilent = errors.New("reported")

// cli is the whole program: it returns the exit code.
func cli(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	e = e.withSecrets()
	return report(dispatch(ctx, "kapture-bulk", commands(), args, e), e.stderr)
}

// report prints err (once) and maps it to the exit code: the one place
// where errors become codes.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if !errors.Is(err, errSilent) && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "kapture-bulk: %s\n", message(err))
	}
	return code
}

// message is err for a person: a file error that the packages below
// wrapped as it came ("open results: open r.csv: no such file or
// directory") names the file once, without the system call.
func message(err error) string {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = strings.Replace(msg, pe.Error(), pe.Path+": "+pe.Err.Error(), 1)
	}
	if ce, ok := batch.AsConfigError(err); ok {
		if advice := configAdvice(ce); advice != "" {
			msg += ": " + advice
		}
	}
	return msg
}

// configAdvice says, in the command line's terms, what to change to mend
// a configuration error the engine found (the engine's messages name no
// flag).
func configAdvice(ce *batch.ConfigError) string {
	switch ce.Fix {
	case batch.FixAddress:
		if ce.Suggest != "" {
			return "if you trust that address, set --base-url " + ce.Suggest
		}
		return "check --base-url or --subdomain (or KAPTURE_BASE_URL, KAPTURE_SUBDOMAIN)"
	case batch.FixProxy:
		return "check the proxy in HTTPS_PROXY"
	case batch.FixTrust:
		return "check the host in --base-url; if the API sits behind a private certificate authority, give its certificate with --ca-cert FILE"
	case batch.FixPlainHTTP:
		return "or give --allow-insecure-http"
	}
	return ""
}

// exitCode maps an error to the exit code: the command's own choice first
// (exitError), then what the run and the packages under it returned.
func exitCode(err error) int {
	var ee *exitError
	var fe *reader.FileError
	var invalid *run.InvalidRowsError
	var foreign *run.ForeignResultsError
	var shape *batch.ReadShapeError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &invalid): // --strict found invalid rows: nothing sent
		return exitRowsFailed
	case errors.Is(err, run.ErrInterrupted):
		return exitInterrupted
	case errors.Is(err, batch.ErrAuth), errors.Is(err, batch.ErrAPIDown), errors.Is(err, writer.ErrLocked):
		return exitAborted
	case errors.Is(err, run.ErrRefused), errors.Is(err, run.ErrNoRows), errors.As(err, &foreign), errors.As(err, &fe), errors.Is(err, reader.ErrOptions),
		errors.Is(err, writer.ErrExists), errors.Is(err, writer.ErrNotResults), errors.Is(err, batch.ErrConfig):
		return exitUsage
	case errors.As(err, &shape), isReadSideRefusal(err):
		// A reply no read can take asks a person to look (probe shows
		// it), as a wrong file does: trying later changes nothing.
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	default:
		return exitAborted
	}
}

// isReadSideRefusal reports whether err refuses a file of the read side:
// a snapshot or names file of another tenant, a file that is no
// snapshot, a snapshot of other tickets than the results'.
func isReadSideRefusal(err error) bool {
	for _, target := range []error{snap.ErrOtherAPI, snap.ErrNotSnapshot, snap.ErrNoRaw,
		keynames.ErrOtherAPI, undo.ErrOtherTickets, undo.ErrOtherTenant} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// parseArgs parses flags that come before or after the positional
// arguments (the flag package stops at the first positional one). A bad
// flag is a usage error, explained (explainFlagError) without the usage;
// -h gives flag.ErrHelp (exit 0) once fs.Usage has printed the help.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	usage, out := fs.Usage, fs.Output()
	// The flag package prints an error and the whole usage itself; the
	// error is reported once, by report, and the usage only when asked.
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				usage()
				return nil, err
			}
			return nil, withCode(exitUsage, explainFlagError(fs, err))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
