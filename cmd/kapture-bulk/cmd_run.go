package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

type runFlags struct {
	apiFlags
	input             inputFlags
	results           string
	resume, overwrite bool
	batchSize         int
	objectReplies     string
	limit             int
	dryRun            bool
	strict            bool
	summaryJSON       string
	metricsFile       string
	syncState         string
	full              bool
	allowEmpty        bool
	rowsFailedExit    int
	backup            string
	names             namesFlag
	replyCheck        bool
	readBatch         int
}

func (f *runFlags) register(fs *flag.FlagSet) {
	f.input.register(fs, "also send these extra columns: comma-separated names, or all")
	f.apiFlags.register(fs, true)
	fs.StringVar(&f.results, "results", "", "results CSV (default: INPUT minus .csv plus .results.csv)")
	fs.BoolVar(&f.resume, "resume", false, "continue the run recorded in --results: skip rows already done, append")
	fs.BoolVar(&f.overwrite, "overwrite", false, "start afresh although --results exists")
	fs.IntVar(&f.batchSize, "batch-size", batch.DefaultBatchSize, "items per payload, 1 to 1000 (a payload also stops at 1 MiB)")
	fs.StringVar(&f.objectReplies, "object-replies", "auto", "how to read one JSON object answering a payload of several items: auto (trust it only about the ticket it names; switch to one item per payload), whole (it covers the whole payload), single (one item per payload from the start)")
	fs.IntVar(&f.limit, "limit", 0, "process only the first N data rows (a canary run); 0 = all")
	fs.BoolVar(&f.dryRun, "dry-run", false, "validate, print the first payload, send nothing")
	fs.BoolVar(&f.strict, "strict", false, "send nothing if any row is invalid")
	fs.StringVar(&f.summaryJSON, "summary-json", "", "also write the summary as JSON to this file, however the run ends once its flags are read (an earlier run's is removed first)")
	fs.StringVar(&f.metricsFile, "metrics-file", "", "write the run's metrics to this file when it ends, in the Prometheus text format for node_exporter's textfile collector (name it JOB.prom in the collector's folder); it keeps the time of the last run that exited 0")
	fs.BoolVar(&f.allowEmpty, "allow-empty", false, "accept an input with a header and no data rows (otherwise exit 2: a broken export must not pass for success)")
	fs.IntVar(&f.rowsFailedExit, "rows-failed-exit-code", exitRowsFailed, "exit code when the run finished but some rows failed or were invalid; 0 lets a scheduler (a Kubernetes Job) count the run a success, while the summary and its JSON still count those rows")
	f.registerSync(fs)
	f.registerReads(fs)
}

// runOptions is the run command as parsed: its flags, its positional
// arguments and the process's OS state.
type runOptions struct {
	env   *env
	flags runFlags
	set   []setFlag // the flags given, for the advice to resume
	args  []string  // INPUT, if the user gave exactly one
	// tune, set by a test through runF, adjusts the run's configuration
	// (a retry backoff of milliseconds) before the run starts.
	tune func(*run.Config)
}

// cmdRun is the run command. It parses args, then hands the options to
// runF if a test gave one, else to runRun.
func cmdRun(ctx context.Context, args []string, e *env, runF func(context.Context, *runOptions) error) error {
	o, err := parseRun(args, e)
	if err != nil {
		return err
	}
	if runF != nil {
		return runF(ctx, o)
	}
	return runRun(ctx, o)
}

// parseRun parses the run command's flags; it checks nothing else.
func parseRun(args []string, e *env) (*runOptions, error) {
	o := &runOptions{env: e}
	fs := runFlagSet(o)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	o.args, o.set = pos, setFlags(fs)
	return o, nil
}

// runFlagSet is the run command's flags, parsed into o.flags, with its
// help as Usage.
func runFlagSet(o *runOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("kapture-bulk run", flag.ContinueOnError)
	fs.SetOutput(o.env.stdout) // help is asked for: stdout
	o.flags.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kapture-bulk run [flags] INPUT\n\nINPUT is a CSV file, or - for stdin.\n\n"+
			"A number outside its flag's range is refused at once (exit 2): the ranges are far beyond\n"+
			"what the API takes, so such a value is a typo, and they keep the run's memory bounded.\n\nFlags:\n")
		printFlags(fs.Output(), fs)
	}
	return fs
}

// runRun does a parsed run and ends it with its summary: on stderr once
// the run got as far as sending, and in --summary-json and --metrics-file
// however it ended (endFiles).
func runRun(ctx context.Context, o *runOptions) error {
	f, e := &o.flags, o.env
	st := &runState{start: time.Now(), stats: new(run.Stats)}
	if f.syncState != "" {
		tuneSyncGC(e.getenv)
	}
	if len(o.args) == 1 {
		st.input = o.args[0]
		st.next = advice{sync: f.syncState != "", command: resumeCommand(o.set, st.input), stdin: st.input == "-"}
	}
	ends := o.endFiles()
	err := o.checkOutputs(ends)
	if err == nil {
		err = o.execute(ctx, st)
	}
	if errors.Is(err, batch.ErrAuth) { // a person fixes the token first
		st.next.token = f.tokenSource()
		err = f.refusedToken(err)
	}
	s := st.summary(time.Now())
	s.finish(err)
	s.secrets = e.secrets
	switch {
	case !st.stats.Snapshot().Sending:
	case strings.EqualFold(f.logFormat, "json"):
		_ = s.logJSON(e.stderr)
	default:
		s.print(e.stderr)
	}
	for _, ef := range ends {
		if !ef.ok {
			continue
		}
		if werr := ef.write(s, ef.path); werr != nil {
			fmt.Fprintf(e.stderr, "kapture-bulk: could not write %s %s: %v\n", ef.flag, ef.path, werr)
		}
	}
	return err
}

// endFile is a file a run writes when it ends, however it ended: for a
// scheduler or a collector, which must learn even of a run refused.
type endFile struct {
	flag, path string
	write      func(s *summary, path string) error
	mine       owner // what it replaces: only a file it wrote
	ok         bool  // it is none of the run's other files, and can be written
}

func (o *runOptions) endFiles() []*endFile {
	var ends []*endFile
	if p := o.flags.summaryJSON; p != "" {
		ends = append(ends, &endFile{flag: "--summary-json", path: p, write: (*summary).writeJSON, mine: summaryOwner})
	}
	if p := o.flags.metricsFile; p != "" {
		ends = append(ends, &endFile{flag: "--metrics-file", path: p, write: (*summary).writeMetrics, mine: metricsOwner})
	}
	return ends
}

// checkOutputs refuses a run one of whose outputs is another of its files
// (checkFiles), and marks ok the end files it may write all the same:
// those not at stake, which can be written (checked now, not after the
// run), each replacing only a file it wrote (checkOwned). It removes the
// summary JSON of an earlier run, so that no one reads it as this run's,
// even if this one is killed.
func (o *runOptions) checkOutputs(ends []*endFile) error {
	err := checkFiles(o.files())
	var clash *clashError
	if err != nil && !errors.As(err, &clash) {
		return err
	}
	for _, ef := range ends {
		if clash != nil && clash.involves(ef.flag) {
			continue // it may be the very file at stake: not touched
		}
		if werr := checkOwned(ef.flag, ef.path, func() (owner, error) { return ef.mine, nil }); werr != nil {
			err = cmp.Or(err, werr)
			continue
		}
		ef.ok = true
		if ef.flag == "--summary-json" {
			if rerr := removeEarlier(ef.flag, ef.path); rerr != nil {
				ef.ok = false
				err = cmp.Or(err, rerr)
			}
		}
	}
	return err
}

// execute is a run after its flags parsed: check them, turn them into the
// run's Config, Run it, and say how it ended. It records in st what the
// summary needs.
func (o *runOptions) execute(ctx context.Context, st *runState) error {
	f, e := &o.flags, o.env
	if len(o.args) != 1 {
		return errWrongArgs("kapture-bulk run", "one INPUT (a CSV path, or - for stdin)", len(o.args))
	}
	log, lines, err := f.logger(e) // lines: the terminal's stderr, shared by the bar and the logs
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ir := watchSignals(e.signals, cancel, log, st.stats.Snapshot, f.timeout, f.progressInterval)
	defer ir.close()
	if err := f.check(); err != nil {
		return err
	}
	cfg, err := o.config(log)
	if err != nil {
		return err
	}
	if o.tune != nil {
		o.tune(&cfg)
	}
	cfg.Stop = ir.stop
	st.resultsPath, st.backup = cfg.Results, cfg.Backup
	var stopProgress func()
	cfg.OnStart = func() {
		stopProgress = startProgress(ctx, st, o.progressTotal(), lines, f, log)
	}
	err = run.Run(ctx, cfg, st.stats)
	if stopProgress != nil {
		stopProgress()
	}
	if errors.Is(err, run.ErrInputChanged) {
		err = fmt.Errorf("%w; once the input is whole again, %s", err, st.next.text())
	}
	return exitStatus(err, st.stats.Snapshot(), f.rowsFailedExit)
}

// progressTotal is what the run knows in advance about its size.
func (o *runOptions) progressTotal() progressTotal {
	total := progressTotal{limit: int64(o.flags.limit)}
	if in := o.args[0]; in != "-" {
		if fi, err := os.Stat(in); err == nil {
			total.size = fi.Size()
		}
	}
	return total
}

// exitStatus turns how the run ended into the command's error: rows that
// failed or were invalid (exit rowsFailed), a dry run that found invalid
// rows (exit 1, as validate), or a stop after sending began, are said by
// the summary (the error is silent); the run's own errors get the flags
// that fix them.
func exitStatus(err error, c run.Snapshot, rowsFailed int) error {
	err = syncAdvice(err)
	switch {
	case err == nil && c.Sending && c.Failed+c.Invalid+c.HeldBack > 0:
		return withCode(rowsFailed, errSilent)
	case err == nil && c.DryRun && c.Invalid > 0:
		return withCode(exitRowsFailed, errSilent)
	case errors.Is(err, run.ErrInterrupted) && c.Sending:
		return withCode(exitInterrupted, errSilent)
	}
	var foreign *run.ForeignResultsError
	var invalid *run.InvalidRowsError
	var input *reader.FileError
	switch {
	case errors.As(err, &input) && c.Requests > 0:
		return withCode(exitInputStopped, fmt.Errorf("%w; the rows before it were sent and their results recorded: fix the input and run again with --resume to send the rest", err))
	case errors.As(err, &foreign):
		return fmt.Errorf("--resume: %w; give another --results, or --overwrite to start afresh", err)
	case errors.As(err, &invalid):
		return fmt.Errorf("--strict: %w", err)
	case errors.Is(err, writer.ErrExists):
		return fmt.Errorf("%w: use --resume to continue that run or --overwrite to start afresh", err)
	case errors.Is(err, writer.ErrOtherAPI):
		return fmt.Errorf("%w; nothing was sent: give this run another --results (or --overwrite to start that file afresh)", err)
	case errors.Is(err, run.ErrNoRows):
		return fmt.Errorf("%w: a broken export? Nothing was sent; --allow-empty accepts an input without rows", err)
	}
	return err
}
