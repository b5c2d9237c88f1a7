package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/internal/syncstate"
	"github.com/kapture-bulk/kapture-bulk/internal/tokenfile"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// The ranges of run's numeric flags: far beyond what a run against the
// API needs (its rate limit is a few requests a second), so a value
// outside them is a typo; and small enough that no combination of them
// can exhaust memory or stall a run for hours.
const (
	maxBatchSize        = 1000 // items a payload may carry
	maxWorkers          = 64   // payloads in flight
	maxRate             = 1000 // requests per second
	maxBurst            = 1000
	maxMaxRetries       = 100
	minTimeout          = 100 * time.Millisecond
	maxTimeout          = 10 * time.Minute
	minProgressInterval = 100 * time.Millisecond
	maxReadBatch        = 500 // ticket ids a Get Ticket request asks for
)

// check refuses flag values no run can use.
func (f *runFlags) check() error {
	switch {
	case f.resume && f.overwrite:
		return usagef("--resume and --overwrite contradict each other: choose one")
	case f.batchSize < 1 || f.batchSize > maxBatchSize:
		return usagef("--batch-size %d: want 1 to %d", f.batchSize, maxBatchSize)
	case f.limit < 0:
		return usagef("--limit %d: want 0 (all) or more", f.limit)
	case f.rowsFailedExit < 0 || f.rowsFailedExit > 125 || f.rowsFailedExit == exitUsage || f.rowsFailedExit == exitAborted || f.rowsFailedExit == exitInputStopped:
		return usagef("--rows-failed-exit-code %d: want 0 to 125, but not 2, 3 or 4 (they mean other things)", f.rowsFailedExit)
	}
	if _, err := batch.ParseObjectReplies(f.objectReplies); err != nil {
		return usagef("--object-replies %q: want auto, whole or single", f.objectReplies)
	}
	if err := checkReadBatch(f.readBatch); err != nil {
		return err
	}
	return f.apiFlags.check()
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
	if err := f.checkSync(input); err != nil {
		return run.Config{}, err
	}
	resultsPath := f.results
	switch {
	case resultsPath != "":
	case f.syncState != "":
		if resultsPath, err = syncResults(f.syncState, time.Now()); err != nil {
			return run.Config{}, err
		}
	case !fromStdin:
		resultsPath = defaultResults(input)
	case !f.dryRun || f.resume:
		return run.Config{}, usagef("reading stdin: give --results PATH for the results CSV")
	}
	cfg := run.Config{
		Input: input, Stdin: e.stdin, Reader: ropts,
		Results: resultsPath, Mode: f.mode(),
		Limit:  f.limit,
		Strict: f.strict, InvalidOut: e.stderr,
		DryRun: f.dryRun, DryRunOut: hidingWriter{w: e.stdout, s: e.secrets},
		// All a dry run needs: to cut payloads, and to estimate the time.
		Engine: batch.Config{BatchSize: f.batchSize, Rate: f.rate, AutoRate: f.rateAuto, Burst: f.burst, Workers: f.workers},
		Log:    log,
		Sync:   run.Sync{State: f.syncState, Full: f.full, MakeResultsDir: f.syncState != "" && f.results == ""},
	}
	cfg.AllowEmpty = f.allowEmpty
	cfg.Backup = f.backup
	if !f.dryRun {
		if cfg.Engine, err = f.engineConfig(e, log); err != nil {
			return run.Config{}, err
		}
	} else {
		f.learnToken(e)
		if base, err := f.apiRoot(e.getenv); err == nil {
			// Only to say where a run would send: a dry run needs no address.
			cfg.Engine.BaseURL, cfg.Engine.AllowInsecureHTTP = base, f.allowInsecure
		}
	}
	api, _ := batch.APIRoot(cfg.Engine) // a bad address is the run's to refuse
	if cfg.Names, err = loadBook("", f.names, api); err != nil {
		return run.Config{}, err
	}
	return cfg, nil
}

// registerReads adds the flags of what a run reads of the tickets.
func (f *runFlags) registerReads(fs *flag.FlagSet) {
	fs.StringVar(&f.backup, "backup", "", "snapshot file (mode 0600): read each ticket's state before its first row is sent, and append it here; a ticket it holds already keeps its first state, across resumes; one job's: a run that is not a --resume refuses a file holding its tickets; a ticket the read does not show is not sent (kapture-bulk undo turns it back into an input)")
	registerNames(fs, &f.names, "the names the backup's reads show that no reply has shown yet")
	fs.BoolVar(&f.replyCheck, "reply-check", true, "hold every success reply's ticket against its row: a row whose reply shows the ticket in another sub-status (or another queue than the row sent) is failed, \"not applied: …\". "+
		"Turn it off (--reply-check=false) only for a tenant whose workflows move tickets on by design: a canary (--limit) whose report shows \"not applied\" rows for tickets that Kapture shows moved on by its rules, not left where they were")
	readBatchFlag(fs, &f.readBatch)
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

// files lists every file the run reads or writes, as its flags name
// them, for checkFiles. A sync run's own results file, named afresh when
// the run starts, is none of them.
func (o *runOptions) files() []file {
	f := &o.flags
	in := ""
	if len(o.args) == 1 {
		in = o.args[0]
	}
	results := f.results
	if results == "" && f.syncState == "" && in != "" && in != "-" {
		results = defaultResults(in)
	}
	return slices.Concat(
		input("INPUT", in),
		f.apiFlags.files(),
		f.names.files(),
		// In order of their worth: a clash is blamed on the later one.
		output("--sync-state", f.syncState, sidecar{"compaction copy", syncstate.CompactPath}),
		output("--results", results, sidecar{"in-flight journal", writer.JournalPath}, namesSidecar, namesTmpSidecar,
			sidecar{"API record", writer.APIPath}),
		output("--backup", f.backup),
		output("--summary-json", f.summaryJSON, tmpFile),
		output("--metrics-file", f.metricsFile, tmpFile),
	)
}

// The files a run keeps the key-name pairs in beside its results.
var (
	namesSidecar    = sidecar{"key-name pairs", keynames.ResultsPath}
	namesTmpSidecar = sidecar{"key-name pairs' temporary file", func(p string) string { return keynames.ResultsPath(p) + ".tmp" }}
)

// defaultResults derives the results path from the input path.
func defaultResults(input string) string {
	base := input
	if strings.HasSuffix(strings.ToLower(base), ".csv") {
		base = base[:len(base)-len(".csv")]
	}
	return base + ".results.csv"
}

// engineConfig is the engine's configuration for a run that sends.
func (f *runFlags) engineConfig(e *env, log *slog.Logger) (batch.Config, error) {
	cfg, err := f.apiFlags.engineConfig(e, log)
	if err != nil {
		return batch.Config{}, err
	}
	cfg.ObjectReplies, _ = batch.ParseObjectReplies(f.objectReplies) // checked by check
	cfg.BatchSize = f.batchSize
	cfg.ReadBatch = f.readBatch
	cfg.AcceptMoved = !f.replyCheck
	return cfg, nil
}

// loadToken reads the token from --token-file or KAPTURE_API_TOKEN. The
// token never appears in an error.
func loadToken(path string, getenv func(string) string) (string, error) {
	if path != "" {
		t, err := readWritten(path, pipeWait, tokenfile.Read)
		if err != nil {
			return "", fileError("--token-file", path, err)
		}
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

// learnToken makes the token of --token-file known to e's secrets for a
// command that does not need it (a dry run): a file it quotes may hold a
// copy. Only a regular file is read, as a FIFO could block.
func (f *apiFlags) learnToken(e *env) {
	if fi, err := os.Stat(f.tokenFile); err != nil || !fi.Mode().IsRegular() {
		return
	}
	if t, err := loadToken(f.tokenFile, e.getenv); err == nil {
		e.secrets.add(t)
	}
}

// tokenSource names where the token came from, for a person to fix once
// the API refused it.
func (f *apiFlags) tokenSource() string {
	if f.tokenFile != "" {
		return "--token-file " + f.tokenFile
	}
	return "KAPTURE_API_TOKEN"
}

// refusedToken adds to err, the API's refusal of the token, what looks
// wrong in the token file: a value copied with its quotes, or a line of
// an env file (NAME=value). Neither is the token, and both read as a
// token; the token itself is never shown. Only a regular file is read
// again, as learnToken does.
func (f *apiFlags) refusedToken(err error) error {
	if f.tokenFile == "" {
		return err
	}
	if fi, serr := os.Stat(f.tokenFile); serr != nil || !fi.Mode().IsRegular() {
		return err
	}
	t, lerr := tokenfile.Read(f.tokenFile)
	switch {
	case lerr != nil:
	case strings.HasPrefix(t, `"`), strings.HasPrefix(t, "'"):
		return fmt.Errorf("%w; the token file starts with a quote: it should hold the token alone", err)
	case envLine(t):
		return fmt.Errorf("%w; the token file holds NAME=: it should hold the token alone", err)
	}
	return err
}

// envLine reports whether t has the shape NAME=value of a line of an env
// file (a base64 token's trailing = padding has not: nothing follows it).
func envLine(t string) bool {
	name, value, ok := strings.Cut(t, "=")
	if !ok || name == "" || value == "" || value[0] == '=' {
		return false
	}
	return strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == "" && (name[0] < '0' || name[0] > '9')
}

// warnTokenFile warns when the token file can be read by users the job
// did not mean to share it with (internal/tokenfile has the rule: a
// Kubernetes Secret or a file its owner lets the job's group read is
// fine), saying what whoever can change the file should do.
func warnTokenFile(path string, log *slog.Logger) {
	if path == "" {
		return
	}
	if e, exposed := tokenfile.Check(path); exposed {
		log.Warn("the token file can be read by other users: "+e.Advice,
			"token_file", path, "mode", fmt.Sprintf("%04o", e.Mode), "owner", e.UID, "group", e.GID)
	}
}

// loadCACert is the system's certificate pool plus the certificates of
// the PEM file path ("" : nil, the system's pool alone).
func loadCACert(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := readWritten(path, pipeWait, os.ReadFile)
	if err != nil {
		return nil, fileError("--ca-cert", path, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system pool here: the file's alone
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, usagef("--ca-cert %s: no PEM certificate in it (want a -----BEGIN CERTIFICATE----- block)", path)
	}
	return pool, nil
}
