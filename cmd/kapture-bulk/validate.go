package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

func cmdValidate(args []string, e *env) error {
	fs := flag.NewFlagSet("kapture-bulk validate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var in inputFlags
	in.register(fs)
	limit := fs.Int("limit", 0, "check only the first N data rows; 0 = all")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kapture-bulk validate [flags] INPUT\n\nChecks INPUT (a CSV file, or - for stdin) as run would, without a token or\nthe network. Lists every invalid row; exits 1 if there is one, 0 if none.\n\nFlags:\n")
		printFlags(fs.Output(), fs)
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("validate takes exactly one INPUT, got %d", len(pos))
	}
	name := pos[0]
	if name == "-" {
		name = "stdin"
	}
	opts, err := in.options(name)
	if err != nil {
		return err
	}
	src, closeIn, err := openInput(pos[0], e.stdin)
	if err != nil {
		return err
	}
	defer closeIn()
	st, err := scan(src, opts, *limit, e.stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d rows: %d valid, %d invalid", name, st.rows, st.rows-st.invalid, st.invalid)
	if st.blank > 0 {
		fmt.Fprintf(e.stdout, "; %d blank rows skipped", st.blank)
	}
	if len(st.leftOut) > 0 {
		fmt.Fprintf(e.stdout, "; columns not sent: %v", st.leftOut)
	}
	fmt.Fprintln(e.stdout)
	if st.invalid > 0 {
		return withCode(exitRowsFailed, errSilent)
	}
	return nil
}

type scanStats struct {
	rows, invalid, blank int
	leftOut              []string
}

// scan reads every row of src and lists the invalid ones on out, each as
// NAME:LINE: message.
func scan(src io.Reader, opts reader.Options, limit int, out io.Writer) (scanStats, error) {
	var st scanStats
	rd, err := reader.Open(src, opts)
	if err != nil {
		return st, err
	}
	st.leftOut = rd.LeftOut()
	for limit == 0 || st.rows < limit {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		st.rows++
		if rec.Invalid != "" {
			st.invalid++
			fmt.Fprintf(out, "%s:%d: %s\n", opts.Name, rec.Line, rec.Invalid)
		}
	}
	st.blank = rd.Skipped()
	return st, nil
}

// listInvalid is scan over a file, for --strict.
func listInvalid(path string, opts reader.Options, limit int, out io.Writer) (int, error) {
	fh, err := openFile(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	st, err := scan(fh, opts, limit, out)
	return st.invalid, inputError(err)
}

// checkResumeMatches refuses a results file that records none of the
// input's rows: resuming it would re-send everything and append to the
// record of another file. One matching row is enough to stop reading.
func checkResumeMatches(path string, opts reader.Options, done *writer.Done, resultsPath string) error {
	fh, err := openFile(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	rd, err := reader.Open(fh, opts)
	if err != nil {
		return inputError(err)
	}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return errForeignResults(resultsPath, path, done)
		}
		if err != nil {
			return err
		}
		if recorded(done, rec) {
			return nil
		}
	}
}

// recorded offers rec to done and reports whether done has a result for
// rec's line with rec's fingerprint, whatever its status: a run whose rows
// all failed is still the record of this input.
func recorded(done *writer.Done, rec reader.Record) bool {
	fp := ""
	if rec.Invalid == "" {
		fp = batch.NewRow(rec).Fingerprint
	}
	done.Skip(rec.Line, fp)
	return done.Matched() > 0
}

func errForeignResults(resultsPath, input string, done *writer.Done) error {
	return usagef("--resume: %s records %d rows, but none of them matches a line of %s with the same content: it belongs to another input (or every row was edited); give another --results, or --overwrite to start afresh", resultsPath, done.Rows(), input)
}

// stdinGateRows bounds how many rows of stdin are held back, unsent, until
// one of them is found in the results file being resumed.
const stdinGateRows = 10000

// gatedReader is the resume check for stdin, which cannot be read twice:
// it holds rows back until one matches the results file, and refuses the
// input, having sent nothing, if none of the first stdinGateRows does.
type gatedReader struct {
	rd      *reader.Reader
	done    *writer.Done
	results string
	held    []reader.Record
	checked bool
}

func (g *gatedReader) Next() (reader.Record, error) {
	if !g.checked {
		g.checked = true
		for {
			rec, err := g.rd.Next()
			if err == io.EOF || len(g.held) == stdinGateRows {
				return reader.Record{}, errForeignResults(g.results, "stdin (its first rows)", g.done)
			}
			if err != nil {
				return reader.Record{}, err
			}
			g.held = append(g.held, rec)
			if recorded(g.done, rec) {
				break
			}
		}
	}
	if len(g.held) > 0 {
		rec := g.held[0]
		g.held = g.held[1:]
		return rec, nil
	}
	return g.rd.Next()
}

// dryRunCounts are what a dry run found, for its summary.
type dryRunCounts struct {
	rows, valid, invalid, skipped, payloads, duplicates int64
}

// dryRun reads the input as run would, prints the first payload and what
// would be sent, and sends nothing.
func dryRun(rd *reader.Reader, f runFlags, resume *resumeFilter, out io.Writer, c *dryRunCounts) error {
	var first []batch.Row
	var dups duplicates
	closed := false // the first payload ends at batch size or a repeated ticket, as the engine's does
	for f.limit == 0 || c.rows < int64(f.limit) {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		c.rows++
		if rec.Invalid != "" {
			c.invalid++
			continue
		}
		repeated := dups.seen(rec.TicketID)
		row := batch.NewRow(rec)
		if resume.skip(row) {
			c.skipped++
			continue
		}
		c.valid++
		if closed || len(first) == f.batchSize || repeated {
			closed = true
			continue
		}
		first = append(first, row)
	}
	c.duplicates = dups.n
	if c.valid > 0 {
		c.payloads = (c.valid + int64(f.batchSize) - 1) / int64(f.batchSize)
	}
	fmt.Fprintf(out, "dry run: %d rows read: %d would be sent, %d invalid (recorded, never sent)", c.rows, c.valid, c.invalid)
	if f.resume {
		fmt.Fprintf(out, ", %d skipped (done in the run resumed)", c.skipped)
	}
	fmt.Fprintln(out)
	if dups.n > 0 {
		fmt.Fprintf(out, "%d rows repeat a ticket_id seen earlier; they go out in file order, never in one payload\n", dups.n)
	}
	if len(first) == 0 {
		fmt.Fprintln(out, "nothing to send")
		return nil
	}
	fmt.Fprintf(out, "at least %d payloads of up to %d rows; the first one:\n", c.payloads, f.batchSize)
	var buf bytes.Buffer
	if err := json.Indent(&buf, batch.Payload(first), "", "  "); err != nil {
		return fmt.Errorf("indent payload: %w", err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(out)
	return err
}
