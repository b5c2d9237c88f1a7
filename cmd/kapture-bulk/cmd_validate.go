package main

import (
	"flag"
	"fmt"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
)

// validateOptions is the validate command as parsed.
type validateOptions struct {
	env        *env
	input      inputFlags
	limit      int
	allowEmpty bool
	all        bool
	args       []string // INPUT, if the user gave exactly one
}

// cmdValidate is the validate command. It parses args, then hands the
// options to runF if a test gave one, else to validateRun.
func cmdValidate(args []string, e *env, runF func(*validateOptions) error) error {
	o, err := parseValidate(args, e)
	if err != nil {
		return err
	}
	if runF != nil {
		return runF(o)
	}
	return validateRun(o)
}

// parseValidate parses the validate command's flags; it checks nothing else.
func parseValidate(args []string, e *env) (*validateOptions, error) {
	o := &validateOptions{env: e}
	pos, err := parseArgs(validateFlagSet(o), args)
	if err != nil {
		return nil, err
	}
	o.args = pos
	return o, nil
}

// validateFlagSet is the validate command's flags, parsed into o, with
// its help as Usage.
func validateFlagSet(o *validateOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("kapture-bulk validate", flag.ContinueOnError)
	fs.SetOutput(o.env.stdout) // help is asked for: stdout
	o.input.register(fs, "check these extra columns too, as run would send them: comma-separated names, or all")
	fs.IntVar(&o.limit, "limit", 0, "check only the first N data rows; 0 = all")
	fs.BoolVar(&o.allowEmpty, "allow-empty", false, "accept an input with a header and no data rows (otherwise exit 2)")
	fs.BoolVar(&o.all, "all", false, "list every invalid row on a line of its own, NAME:LINE: message, instead of grouped by reason")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kapture-bulk validate [flags] INPUT\n\nChecks INPUT (a CSV file, or - for stdin) as run would, without a token or\nthe network. Lists the invalid rows grouped by reason, as report groups\nfailures (each reason with its count and first lines; --all: every row);\nexits 1 if there is one, 0 if none.\n\nFlags:\n")
		printFlags(fs.Output(), fs)
	}
	return fs
}

// validateRun checks INPUT and lists its invalid rows on stdout, then a
// line of counts.
func validateRun(o *validateOptions) error {
	e := o.env
	if len(o.args) != 1 {
		return errWrongArgs("kapture-bulk validate", "one INPUT", len(o.args))
	}
	name := o.args[0]
	if name == "-" {
		name = "stdin"
	}
	opts, err := o.input.options(name)
	if err != nil {
		return err
	}
	listing := run.Grouped
	if o.all {
		listing = run.EveryRow
	}
	st, err := run.Validate(o.args[0], e.stdin, opts, o.limit, e.stdout, listing)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s: %d valid, %d invalid", name, plural.Of(st.Rows, "row", "rows"), st.Rows-st.Invalid, st.Invalid)
	if st.Blank > 0 {
		fmt.Fprintf(e.stdout, "; %s skipped", plural.Of(st.Blank, "blank row", "blank rows"))
	}
	if len(st.LeftOut) > 0 {
		fmt.Fprintf(e.stdout, "; columns not sent: %v", st.LeftOut)
	}
	fmt.Fprintln(e.stdout)
	if st.Rows == 0 && !o.allowEmpty {
		return withCode(exitUsage, fmt.Errorf("%s: %w under its header: a broken export? --allow-empty accepts an input without rows", name, run.ErrNoRows))
	}
	if st.Invalid > 0 {
		return withCode(exitRowsFailed, errSilent)
	}
	return nil
}
