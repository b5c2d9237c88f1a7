package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/failedrows"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/verify"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// verifyOptions is the verify command as parsed.
type verifyOptions struct {
	env       *env
	api       apiFlags
	input     inputFlags
	results   string
	names     namesFlag
	out       string
	differs   string
	readBatch int
	args      []string // INPUT, if the user gave exactly one
}

// cmdVerify is the verify command. It parses args, then hands the options
// to runF if a test gave one, else to verifyRun.
func cmdVerify(ctx context.Context, args []string, e *env, runF func(context.Context, *verifyOptions) error) error {
	o := &verifyOptions{env: e}
	pos, err := parseArgs(verifyFlagSet(o), args)
	if err != nil {
		return err
	}
	o.args = pos
	if runF != nil {
		return runF(ctx, o)
	}
	return verifyRun(ctx, o)
}

// verifyUsage is the help of verify, before its flags.
const verifyUsage = `Usage: kapture-bulk verify [flags] INPUT

Reads every ticket of INPUT (a CSV file: it is read twice) back through the
Get Ticket API and holds it against the ticket's last valid row, field by
field for the fields the row sets: match, differs (what it holds, what the
row wants), not_found, or unknown (the read lacks a field this tenant's
reads carry, or shows a name no pair, or more than one, gives a key for:
--names). A field this tenant's reads never carry is said once, and
compared on no ticket. Reads count against the rate limit as updates do.
Exits 0 only when every ticket matches; 1 otherwise; 2 for bad input,
files or flags, or a reply in a shape it cannot read (probe shows it); 3
when the API refused the token or stayed down; 130 when interrupted.
An earlier --out or --differs is removed before the reads, so after a
failure or an interruption neither exists.

`

// verifyFlagSet is the verify command's flags, parsed into o, with its
// help as Usage.
func verifyFlagSet(o *verifyOptions) *flag.FlagSet {
	fs := commandFlagSet(o.env, "verify", verifyUsage)
	o.api.register(fs, false)
	o.input.register(fs, "the extra columns the run was given (they decide which rows are valid): comma-separated names, or all")
	fs.StringVar(&o.results, "results", "", "the results CSV of the run: the key-name pairs its replies showed (RESULTS.names.csv beside it) translate the names the reads show")
	registerNames(fs, &o.names, "for the names no reply has shown")
	fs.StringVar(&o.out, "out", "", "write a row per ticket to this CSV (mode 0600): ticket_id,verdict,field,holds,wants,line,detail")
	fs.StringVar(&o.differs, "differs", "", "write the rows of the tickets that differ to this CSV (mode 0600), in the input's own columns plus an error column: an input that run takes, to apply them again")
	readBatchFlag(fs, &o.readBatch)
	return fs
}

// files lists every file verify reads or writes, for checkFiles.
func (o *verifyOptions) files() []file {
	return slices.Concat(input("INPUT", o.args[0]), o.api.files(), o.names.files(), resultsInputs(o.results),
		output("--out", o.out, tmpFile), output("--differs", o.differs, tmpFile))
}

// check refuses what verify cannot do before anything is read.
func (o *verifyOptions) check() error {
	switch {
	case len(o.args) != 1:
		return errWrongArgs("kapture-bulk verify", "one INPUT (a CSV file)", len(o.args))
	case o.args[0] == "-":
		return usagef("verify reads INPUT twice (each ticket's last row first), and stdin cannot be read twice: save it to a file first")
	}
	if err := errors.Join(o.api.check(), checkReadBatch(o.readBatch)); err != nil {
		return withCode(exitUsage, err)
	}
	if err := checkFiles(o.files()); err != nil {
		return err
	}
	if fi, err := os.Stat(o.args[0]); err == nil && !fi.Mode().IsRegular() {
		return usagef("input %s: not a regular file: verify reads it twice", o.args[0])
	}
	if err := checkReadable(input("input", o.args[0]), input("--results", o.results), o.names.files()); err != nil {
		return err
	}
	if o.results != "" {
		if err := checkResults(o.results); err != nil {
			return err
		}
	}
	ropts, err := o.input.options(o.args[0])
	if err != nil {
		return err
	}
	if err := checkOutput("--out", o.out, header(verify.Header)); err != nil {
		return err
	}
	return checkOutput("--differs", o.differs, func() ([]byte, error) { return failedrows.FirstLine(o.args[0], ropts) })
}

// verifyRun verifies INPUT's tickets and says what it found on stdout.
func verifyRun(ctx context.Context, o *verifyOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	// A verify that fails leaves no earlier VERIFY.csv or FIX.csv: run
	// on an old FIX.csv, its rows would undo what changed since.
	if err := errors.Join(removeEarlier("--out", o.out), removeEarlier("--differs", o.differs)); err != nil {
		return withCode(exitUsage, err)
	}
	ctx, s, err := o.api.openSession(ctx, o.env, "nothing is written", func(c *batch.Config) { c.ReadBatch = o.readBatch })
	if err != nil {
		return err
	}
	defer s.close()
	book, err := loadBook(o.results, o.names, s.api)
	if err != nil {
		return err
	}
	if note := noPairsNote(o.results); note != "" {
		s.log.Warn(note)
	}
	ropts, err := o.input.options(o.args[0])
	if err != nil {
		return err
	}
	outs, err := createOutputs(file{flag: "--out", path: o.out}, file{flag: "--differs", path: o.differs})
	if err != nil {
		return err
	}
	defer outs.abort()
	r := newTicketReader(s.eng, o.readBatch, o.api.workers)
	stop := o.api.startReadProgress(ctx, s, r, "verify")
	res, err := verify.Check(ctx, verify.Options{
		Input: o.args[0], Reader: ropts, Book: book,
		Read: r.all, Batch: r.round(),
		Out: outs.writer(0), Differs: outs.writer(1),
	})
	stop()
	if errors.Is(err, reader.ErrChanged) {
		return fmt.Errorf("%w; nothing is written", err)
	}
	if err != nil {
		return err
	}
	if err := outs.commit(); err != nil {
		return err
	}
	printVerify(o.env.stdout, o, res)
	if !res.AllMatch() {
		return withCode(exitRowsFailed, errSilent)
	}
	return nil
}

// outputs are a command's output files (outs[i].flag names each in
// messages), written whole or not at all, mode 0600.
type outputs struct {
	outs  []file
	files []*atomicFile // nil for a file not asked for
}

// createOutputs starts the files; one whose path is "" is not asked for.
func createOutputs(outs ...file) (*outputs, error) {
	o := &outputs{outs: outs}
	for _, f := range outs {
		var a *atomicFile
		if f.path != "" {
			var err error
			if a, err = createAtomic(f.path, 0o600); err != nil {
				o.abort()
				return nil, withCode(exitUsage, fmt.Errorf("%s: %w", f.flag, err))
			}
		}
		o.files = append(o.files, a)
	}
	return o, nil
}

// writer is the i-th file, or nil when it was not asked for.
func (o *outputs) writer(i int) io.Writer {
	if o.files[i] == nil {
		return nil
	}
	return o.files[i]
}

func (o *outputs) commit() error {
	for i, a := range o.files {
		if a == nil {
			continue
		}
		if err := a.commit(); err != nil {
			return withCode(exitAborted, fmt.Errorf("%s: %w", o.outs[i].flag, err))
		}
	}
	return nil
}

func (o *outputs) abort() {
	for _, a := range o.files {
		if a != nil {
			a.abort()
		}
	}
}

// printVerify says what verify found: counts by verdict, the fields not
// verifiable on this tenant, the reasons of the tickets that do not match
// (grouped as report groups failures), and the files written.
func printVerify(w io.Writer, o *verifyOptions, res *verify.Result) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s verified: %d match, %d differ, %d not found, %d unknown", o.args[0],
		plural.Of(res.Tickets, "ticket", "tickets"), res.Match, res.Differs, res.NotFound, res.Unknown)
	if res.InvalidRows > 0 {
		fmt.Fprintf(&b, "; %s not verified", plural.Of(res.InvalidRows, "invalid row", "invalid rows"))
	}
	b.WriteString("\n")
	if len(res.NotVerifiable) > 0 {
		fmt.Fprintf(&b, "  not verifiable on this tenant: %s (its reads do not carry %s): compared on no ticket\n",
			strings.Join(res.NotVerifiable, ", "), plural.Pick(len(res.NotVerifiable), "it", "them"))
	}
	if res.Tickets == 0 {
		b.WriteString("  no ticket to verify: the input has no valid row\n")
	} else if res.AllMatch() {
		b.WriteString("  every ticket matches\n")
	}
	printReasons(&b, res.Reasons, reportReasonsShown, "tickets that do not match, by reason (most tickets first)", "--out lists every ticket")
	if o.out != "" {
		fmt.Fprintf(&b, "verdicts: %s (a row per ticket)\n", o.out)
	}
	if o.differs != "" {
		fmt.Fprintf(&b, "tickets that differ: %s of them written to %s (the input's columns and an error column: run that file to apply them again)\n", plural.Of(res.DiffersWritten, "row", "rows"), o.differs)
	}
	io.WriteString(w, b.String())
}
