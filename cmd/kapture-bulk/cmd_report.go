package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/internal/failedrows"
	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	outcome "github.com/kapture-bulk/kapture-bulk/internal/report" // report is app.go's error reporter
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// reportOptions is the report command as parsed.
type reportOptions struct {
	env        *env
	input      inputFlags
	inputPath  string
	json       bool
	failedRows string
	args       []string // RESULTS, if the user gave exactly one
}

// cmdReport is the report command. It parses args, then hands the options
// to runF if a test gave one, else to reportRun.
func cmdReport(args []string, e *env, runF func(*reportOptions) error) error {
	o, err := parseReport(args, e)
	if err != nil {
		return err
	}
	if runF != nil {
		return runF(o)
	}
	return reportRun(o)
}

// parseReport parses the report command's flags; it checks nothing else.
func parseReport(args []string, e *env) (*reportOptions, error) {
	o := &reportOptions{env: e}
	pos, err := parseArgs(reportFlagSet(o), args)
	if err != nil {
		return nil, err
	}
	o.args = pos
	return o, nil
}

// reportFlagSet is the report command's flags, parsed into o, with its
// help as Usage.
func reportFlagSet(o *reportOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("kapture-bulk report", flag.ContinueOnError)
	fs.SetOutput(o.env.stdout) // help is asked for: stdout
	fs.StringVar(&o.inputPath, "input", "", "the input the results are of: adds the rows never sent, checks the order of each ticket's rows as a resume does, and is needed for --failed-rows")
	fs.BoolVar(&o.json, "json", false, "print the report as one JSON object")
	fs.StringVar(&o.failedRows, "failed-rows", "", "write the input rows that are not done to this CSV, in the input's own columns plus an error column: fix them and run that file")
	o.input.register(fs, "the extra columns the run was given (they are part of each row's key): comma-separated names, or all")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: kapture-bulk report [flags] RESULTS

Reads a results CSV (finished or not; after any number of resumes) and says
the final state of every row: its latest result. Failure reasons are grouped
with ids, numbers and quoted values masked. With --input, rows never sent are
counted too, and --failed-rows writes the rows to fix. Read the input with the
same --encoding, --delimiter, --extra-columns and --ticket-id-pattern as the
run did. Exits 0 when every row is done, 1 otherwise, 2 when a file cannot be
read.

Flags:
`)
		printFlags(fs.Output(), fs)
	}
	return fs
}

// reportRun reports on RESULTS on stdout: as text, or one JSON object.
func reportRun(o *reportOptions) error {
	if len(o.args) != 1 {
		return errWrongArgs("kapture-bulk report", "one RESULTS (a results CSV)", len(o.args))
	}
	results := o.args[0]
	if o.failedRows != "" && o.inputPath == "" {
		return usagef("--failed-rows needs --input: the rows are written in the input's own columns %s", helpHint("kapture-bulk report"))
	}
	if o.inputPath == "-" {
		return usagef("--input: give the input file (it is read twice), not stdin")
	}
	if err := checkFiles(o.files()); err != nil {
		return err
	}
	if err := checkReadable(input("results", results), input("--input", o.inputPath)); err != nil {
		return err
	}
	if o.failedRows != "" {
		if fi, err := os.Stat(o.inputPath); err == nil && !fi.Mode().IsRegular() {
			return usagef("--input %s: %w: --failed-rows reads it twice", o.inputPath, writer.NotRegular(fi))
		}
	}
	ropts, err := o.input.options(o.inputPath)
	if err != nil {
		return err
	}
	if err := checkOutput("--failed-rows", o.failedRows, func() ([]byte, error) { return failedrows.FirstLine(o.inputPath, ropts) }); err != nil {
		return err
	}
	opts := outcome.Options{Results: results, Input: o.inputPath, Reader: ropts, Hide: o.env.secrets.hide}
	var failed *atomicFile
	if o.failedRows != "" {
		if failed, err = createAtomic(o.failedRows, 0o644); err != nil {
			return withCode(exitAborted, fmt.Errorf("--failed-rows: %w", err))
		}
		defer failed.abort() // a no-op once committed
		opts.FailedRows = failed
	}
	rep, err := outcome.Build(opts)
	switch {
	case errors.Is(err, outcome.ErrForeign):
		return usagef("%w; give the right files, or the same --encoding, --extra-columns and --ticket-id-pattern as the run", err)
	case err != nil:
		return withCode(exitUsage, err)
	}
	if failed != nil {
		if err := failed.commit(); err != nil {
			return withCode(exitAborted, fmt.Errorf("--failed-rows: %w", err))
		}
	}
	out := hidingWriter{w: o.env.stdout, s: o.env.secrets}
	if o.json {
		err = printReportJSON(out, rep, o.failedRows)
	} else {
		printReport(out, rep, o.failedRows)
	}
	if err != nil {
		return err
	}
	if !rep.Done() {
		return withCode(exitRowsFailed, errSilent)
	}
	return nil
}

// files lists every file report reads or writes, for checkFiles, once
// RESULTS is known to be given.
func (o *reportOptions) files() []file {
	results := o.args[0]
	return slices.Concat(
		input("RESULTS", results),
		input("the in-flight journal of RESULTS", writer.JournalPath(results)),
		input("the key-name pairs of RESULTS", keynames.ResultsPath(results)),
		input("the API record of RESULTS", writer.APIPath(results)),
		input("--input", o.inputPath),
		output("--failed-rows", o.failedRows, tmpFile),
	)
}

// reportJSON is report --json: a contract for scripts.
type reportJSON struct {
	Results      string         `json:"results"`
	Input        string         `json:"input,omitempty"`
	Done         bool           `json:"done"`
	Rows         int64          `json:"rows"`
	Success      int64          `json:"success"`
	Unchanged    int64          `json:"unchanged"`
	Failed       int64          `json:"failed"`
	Unknown      int64          `json:"unknown"`     // of failed: outcome unknown
	NotApplied   int64          `json:"not_applied"` // of failed: the reply showed the ticket holding something else
	Invalid      int64          `json:"invalid"`
	NotSent      *int64         `json:"not_sent,omitempty"`     // with --input
	OutOfOrder   *int64         `json:"out_of_order,omitempty"` // with --input
	Unreadable   int64          `json:"unreadable"`
	Unattributed int64          `json:"unattributed"`
	ResultsRows  int64          `json:"results_rows"`
	Superseded   int64          `json:"superseded"`
	NotInInput   *int64         `json:"not_in_input,omitempty"` // with --input
	TornLastLine bool           `json:"torn_last_line"`
	Reasons      []reason.Group `json:"reasons"`
	FailedRows   string         `json:"failed_rows,omitempty"`
	FailedRowsN  *int64         `json:"failed_rows_written,omitempty"`
}

func printReportJSON(w io.Writer, rep *outcome.Report, failedRows string) error {
	j := reportJSON{
		Results: rep.Results, Input: rep.Input, Done: rep.Done(),
		Rows: rep.Rows, Success: rep.Success, Unchanged: rep.Unchanged, Failed: rep.Failed, Unknown: rep.Unknown, NotApplied: rep.NotApplied, Invalid: rep.Invalid,
		Unreadable: rep.Unreadable, Unattributed: rep.Unattributed,
		ResultsRows: rep.ResultsRows, Superseded: rep.Superseded, TornLastLine: rep.Torn,
		Reasons: rep.Reasons, FailedRows: failedRows,
	}
	if j.Reasons == nil {
		j.Reasons = []reason.Group{}
	}
	if rep.Input != "" {
		j.NotSent, j.OutOfOrder, j.NotInInput = &rep.NotSent, &rep.OutOfOrder, &rep.NotInInput
	}
	if failedRows != "" {
		j.FailedRowsN = &rep.FailedRowsWritten
	}
	b, err := marshalJSON(j, "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// marshalJSON is json.MarshalIndent (indent "" for one line) ending in a
// newline, leaving < > & as they are: the masked reasons' <id> must read
// as such in a file people open.
func marshalJSON(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// reportReasonsShown bounds the reasons the text report lists; --json
// lists them all.
const reportReasonsShown = 20

func printReport(w io.Writer, rep *outcome.Report, failedRows string) {
	var b strings.Builder
	if rep.Input != "" {
		fmt.Fprintf(&b, "%s, as %s records it: %s: ", rep.Input, rep.Results, plural.Of(rep.Rows, "row", "rows"))
	} else {
		fmt.Fprintf(&b, "%s: %s: ", rep.Results, plural.Of(rep.Rows, "row", "rows"))
	}
	parts := []string{fmt.Sprintf("%d success", rep.Success)}
	if rep.Unchanged > 0 {
		parts = append(parts, fmt.Sprintf("%d unchanged", rep.Unchanged))
	}
	parts = append(parts, failedText(rep.Failed, rep.Unknown, rep.NotApplied), fmt.Sprintf("%d invalid", rep.Invalid))
	if rep.Input != "" {
		parts = append(parts, fmt.Sprintf("%d not sent", rep.NotSent))
	}
	if rep.OutOfOrder > 0 {
		parts = append(parts, fmt.Sprintf("%d to send again to keep their tickets' rows in order", rep.OutOfOrder))
	}
	if rep.Unreadable > 0 {
		parts = append(parts, fmt.Sprintf("%d whose result cannot be read", rep.Unreadable))
	}
	b.WriteString(strings.Join(parts, ", ") + "\n")
	if rep.ResultsRows > 0 { // else a note says it records none
		fmt.Fprintf(&b, "  the results file has %s; %d of them superseded by a later result of the same row\n", plural.Of(rep.ResultsRows, "row", "rows"), rep.Superseded)
	}
	printReportNotes(&b, rep)
	if rep.Done() {
		b.WriteString("every row is done\n")
	}
	printReasons(&b, rep.Reasons, reportReasonsShown, "failure reasons (most rows first)", "kapture-bulk report --json lists them all")
	if failedRows != "" {
		fmt.Fprintf(&b, "failed rows: %d written to %s (the input's columns and an error column: fix them and run that file)\n", rep.FailedRowsWritten, failedRows)
	}
	io.WriteString(w, b.String())
}

// printReportNotes says what else a person should know about the files.
func printReportNotes(b *strings.Builder, rep *outcome.Report) {
	if rep.NotInInput > 0 {
		fmt.Fprintf(b, "  %s not in %s now (deleted or edited since)\n", plural.Of(rep.NotInInput, "row recorded is", "rows recorded are"), rep.Input)
	}
	if rep.Unattributed > 0 {
		fmt.Fprintf(b, "  %s be read at all (edited or re-saved by a spreadsheet?)", plural.Of(rep.Unattributed, "results row cannot", "results rows cannot"))
		if rep.Input == "" {
			b.WriteString(": they may be later results of rows counted as done; --input checks")
		}
		b.WriteString("\n")
	}
	switch {
	case rep.TornHeader:
		b.WriteString("  the results file holds no whole header line (a crash right after it was created): it records no rows\n")
	case rep.ResultsRows == 0 && rep.Torn:
		b.WriteString("  the results file records no whole row: it holds its header and a torn line (a crash while its first row was written), not counted: no row is known done\n")
	case rep.ResultsRows == 0:
		b.WriteString("  the results file records no rows (it is empty or holds only its header): no row is known done\n")
	case rep.Torn:
		b.WriteString("  the results file ends in a torn line (a crash in mid-write): that row is not counted\n")
	}
	if rep.JournalIgnored {
		b.WriteString("  the in-flight journal beside the results cannot be read: it is left out, as a resume leaves it out\n")
	}
}

// printReasons lists up to n groups (all when n <= 0) under title, each
// with its count, status, reason and an example line, and says how many
// more there are and where (more) they are all.
func printReasons(b *strings.Builder, groups []reason.Group, n int, title, more string) {
	if len(groups) == 0 {
		return
	}
	fmt.Fprintf(b, "%s:\n", title)
	for i, g := range groups {
		if n > 0 && i == n {
			fmt.Fprintf(b, "  … and %s (%s)\n", plural.Of(len(groups)-n, "more reason", "more reasons"), more)
			break
		}
		fmt.Fprintf(b, "  %6d  %-7s  %s (e.g. line %d)\n", g.Count, g.Status, g.Reason, g.ExampleLine)
	}
}
