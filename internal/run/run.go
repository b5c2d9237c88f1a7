// Package run is one run of kapture-bulk: it checks the input and the
// results file, then reads the input, sends its valid rows through the
// batch engine and writes every result through a single writer; or, for a
// dry run, reads the input and says what would be sent.
//
// It knows nothing of flags, exit codes, terminals or signals. The caller
// gives a Config (with a soft-stop channel) and a context, reads progress
// from Stats while the run goes, and tells the errors apart with errors.Is
// and errors.As.
package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Config is one run.
type Config struct {
	// Input is the CSV's path, or "-" to read Stdin (which can be read
	// only once, so it is checked as it streams).
	Input string
	Stdin io.Reader
	// Reader says how to read the input; Reader.Name names it in
	// messages ("stdin" for Stdin).
	Reader reader.Options

	// Results is the results CSV's path and Mode how to open it. A dry
	// run opens nothing: it reads Results only when Mode is writer.Resume,
	// to say what a resume would send.
	Results string
	Mode    writer.Mode

	// Limit is how many data rows to take from the input, invalid ones
	// and those skipped as done included; 0 takes them all.
	Limit int
	// AllowEmpty accepts an input with no data rows (a header only, or
	// blank rows); otherwise Run refuses it with ErrNoRows before
	// opening the results file: a broken export must not pass for a run
	// with nothing to do.
	AllowEmpty bool
	// Strict refuses the run, before anything is sent, if any row of the
	// input is invalid; it lists them on InvalidOut (nil: nowhere). The
	// input must be a file: the whole of it is read before sending.
	Strict     bool
	InvalidOut io.Writer
	// DryRun reads the input as a run would, writes what would be sent
	// and the first payload to DryRunOut (nil: nowhere), and sends
	// nothing.
	DryRun    bool
	DryRunOut io.Writer

	// Engine configures the engine that sends the rows. A dry run builds
	// no engine: it uses only Engine.BatchSize (1 or more), to cut its
	// first payload.
	Engine batch.Config
	// Log receives the run's warnings and its "run started" line; nil
	// discards them.
	Log *slog.Logger

	// Stop, once closed, is a soft stop: the run takes no new rows or
	// payloads, what the engine holds settles within Engine.Timeout (see
	// batch.Engine.Stop), the results are written, and Run returns
	// ErrInterrupted. Rows that then still have no answer stay in the
	// in-flight journal (Stats' Unknown). A nil Stop never stops.
	// Cancelling Run's context stops it at once instead.
	Stop <-chan struct{}
	// OnStart, if set, is called once, from Run's goroutine, when the
	// checks have passed and the first rows are about to be sent (never
	// for a dry run): from then on the counters of Stats move.
	OnStart func()

	// Sync, with a State, makes the run a sync run (see sync.go): only the
	// tickets whose last row the sync state does not hold are sent.
	Sync Sync

	// Backup is the snapshot file (package snapshot) that gets every
	// ticket's state, read through the Get Ticket API, before the first
	// request with a row of it leaves; "" for none. Not for a dry run.
	Backup string
	// Names is the book of key-name pairs an operator gave (names
	// files); the run adds the pairs its replies show and keeps those
	// beside the results file (names.ResultsPath). nil: an empty book.
	Names *names.Book
}

var (
	// ErrRefused marks an input, a results file or a configuration the
	// run cannot use: it refused before sending anything. The error's
	// message is its cause's, which errors.As still finds (for example a
	// *reader.FileError or writer.ErrExists).
	ErrRefused = errors.New("run refused")
	// ErrInterrupted is returned when the run was stopped (Config.Stop)
	// before it finished: rows not sent have no result, rows of unknown
	// outcome stay in the journal, and a resume sends both.
	ErrInterrupted = errors.New("interrupted")
	// ErrNoRows refuses (with ErrRefused) an input that has a header and
	// no data rows, unless Config.AllowEmpty.
	ErrNoRows = errors.New("no data rows")
	// ErrInputChanged ends a run whose input file changed while the run
	// read it: the main read found the file's end before as many rows as
	// a read of it before sending found (the file cut short or rewritten
	// in place), or a sync run's plan no longer holds (see sync.go). What
	// was sent is recorded; the rest was neither sent nor counted. It is
	// reader.ErrChanged, which verify returns too.
	ErrInputChanged = reader.ErrChanged
)

// refusedError is an error that refused the run.
type refusedError struct{ err error }

func (e *refusedError) Error() string   { return e.err.Error() }
func (e *refusedError) Unwrap() []error { return []error{ErrRefused, e.err} }

// refuse marks err (nil stays nil) as one that refused the run.
func refuse(err error) error {
	if err == nil || errors.Is(err, ErrRefused) {
		return err
	}
	return &refusedError{err}
}

// InvalidRowsError refuses a strict run: the input has invalid rows (listed
// on Config.InvalidOut), so nothing was sent.
type InvalidRowsError struct {
	Input string // the input's path
	Rows  int    // how many rows are invalid
}

func (e *InvalidRowsError) Error() string {
	return fmt.Sprintf("%s in %s; nothing sent", plural.Of(e.Rows, "invalid row", "invalid rows"), e.Input)
}

// Run does the run cfg describes, counting in stats (nil: not counted) as
// it goes. It checks the input and the results file first, and returns an
// error marked ErrRefused when one of them cannot be used, having sent
// nothing. Run returns nil when every row taken got its result (failed and
// invalid rows included: Stats counts them); ErrInterrupted after a soft
// stop; the context's cause when ctx ended first; batch.ErrAuth,
// batch.ErrConfig, batch.ErrAPIDown or a results write error (wrapped)
// when the run had to stop; writer.ErrLocked when another run holds the results file; a
// *reader.FileError when stdin turned out not to be CSV part-way; and an
// *InvalidRowsError or a *ForeignResultsError for a strict run or a resume
// it refused.
func Run(ctx context.Context, cfg Config, stats *Stats) (err error) {
	if stats == nil {
		stats = new(Stats)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &runner{cfg: cfg, stats: stats, log: cfg.Log, fromStdin: cfg.Input == "-"}
	// The engine first: its configuration (the address, the token) is
	// refused at once, not after a long file's syntax check.
	var eng *batch.Engine
	var rs *readSide
	hook := &sendHook{}
	switch {
	case cfg.DryRun && cfg.Backup != "":
		return refuse(errors.New("a dry run reads no ticket: it cannot back any up"))
	case !cfg.DryRun:
		ecfg := cfg.Engine
		ecfg.BeforeSend, ecfg.Unsent = hook.beforeSend, hook.unsent
		if rs, err = r.openReadSide(&ecfg); err != nil {
			return refuse(err)
		}
		r.rs = rs
		defer func() { err = cmp.Or(err, rs.close(r)) }()
		if eng, err = batch.New(ecfg); err != nil {
			return refuse(err)
		}
	}
	if cfg.Mode == writer.Resume && r.fromStdin {
		// A resume reads its input twice: stdin is saved first.
		path, remove, err := r.spoolStdin()
		if err != nil {
			return err
		}
		defer remove()
		r.cfg.Input, r.fromStdin = path, false
	}
	if err := r.checkSyntax(); err != nil {
		return err
	}
	if err := r.early(ctx); err != nil {
		return err
	}
	in, err := r.openInput()
	if err != nil {
		return err
	}
	defer in.close()
	// A soft stop abandons a read of stdin blocked for as long as its
	// writer likes, and stops the engine taking payloads.
	release := onStop(cfg.Stop, func() {
		in.abort()
		if eng != nil {
			eng.Stop()
		}
	})
	defer release()
	rd, err := r.openReader(ctx, in)
	if err != nil {
		return err
	}
	if err := r.requireRows(ctx, rd); err != nil {
		return err
	}
	if err := r.checkRows(ctx, rs); err != nil {
		return err
	}
	sy, err := r.openSync(ctx, in)
	if err != nil {
		return err
	}
	defer sy.close()
	if r.cfg.DryRun {
		return r.dryRun(ctx, rd)
	}
	return r.send(ctx, rd, eng, hook, in, sy)
}

// runner is one Run's steps.
type runner struct {
	cfg       Config
	stats     *Stats
	log       *slog.Logger
	fromStdin bool
	rs        *readSide // nil for a dry run
	// records is the most CSV records after the header that a read of
	// the input before the main one found (reader.Check, Reader.Records):
	// a main read that reaches the file's end must find as many.
	records int
}

// counted notes that a read of the input before the main one found n
// records after the header.
func (r *runner) counted(n int) { r.records = max(r.records, n) }

// readWhole returns ErrInputChanged when the main read rd, having
// finished, found the input's end before as many records as a read of it
// before sending found: the file was cut short, or rewritten shorter in
// place, while the run read it. A main read that stopped at the limit
// took what it was to take.
func (r *runner) readWhole(rd *reader.Reader) error {
	if r.cfg.Limit > 0 && r.stats.read.Load() >= int64(r.cfg.Limit) {
		return nil
	}
	if !rd.EndedShort(r.records) {
		return nil // not at its end (no claim to make), or all of it read
	}
	return fmt.Errorf("%s: %w: the run found its end after %s, where a read of it before sending found %d; the %s after them were neither sent nor counted",
		r.cfg.Reader.Name, ErrInputChanged, plural.Of(rd.Records(), "row", "rows"), r.records, plural.Of(r.records-rd.Records(), "row", "rows"))
}

// early is what a run stopped before it sent anything returns; nil while
// it may go on.
func (r *runner) early(ctx context.Context) error {
	if stopped(r.cfg.Stop) {
		return fmt.Errorf("%w before anything was sent", ErrInterrupted)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w before anything was sent", context.Cause(ctx))
	}
	return nil
}

// openReader reads the input's header.
func (r *runner) openReader(ctx context.Context, in *input) (*reader.Reader, error) {
	rd, err := reader.Open(in.r, r.cfg.Reader)
	if eerr := r.early(ctx); eerr != nil {
		return nil, eerr // the read of stdin was abandoned for the stop
	}
	if err != nil {
		return nil, refuse(err)
	}
	if left := rd.LeftOut(); len(left) > 0 {
		r.log.Warn("columns not sent (name them in --extra-columns to send them)", "columns", strings.Join(left, ","))
	}
	return rd, nil
}

// requireRows refuses an input without data rows, unless the run allows
// it. It only looks at the first row: the main read gets it again.
func (r *runner) requireRows(ctx context.Context, rd *reader.Reader) error {
	if r.cfg.AllowEmpty {
		return nil
	}
	_, err := rd.Peek()
	if eerr := r.early(ctx); eerr != nil {
		return eerr // the read of stdin was abandoned for the stop
	}
	if err == io.EOF {
		return refuse(fmt.Errorf("%s: %w under its header", r.cfg.Reader.Name, ErrNoRows))
	}
	return nil // a row, or an error the main read meets again
}

// checkRows reads the input's rows again, where the run must before it
// sends: Strict's scan, the tickets a backup holds already, and those an
// overwritten results file records as changed.
func (r *runner) checkRows(ctx context.Context, rs *readSide) error {
	if r.cfg.Strict {
		if err := r.strictScan(ctx); err != nil {
			return err
		}
	}
	if err := r.checkBackupFresh(rs); err != nil {
		return err
	}
	return r.checkOverwriteChanged(rs)
}

// strictScan refuses the run if any row of the input is invalid.
func (r *runner) strictScan(ctx context.Context) error {
	st, err := listInvalid(r.cfg.Input, r.cfg.Reader, r.cfg.Limit, r.cfg.InvalidOut)
	if err != nil {
		return err
	}
	r.counted(st.records)
	if st.Invalid > 0 {
		return &InvalidRowsError{Input: r.cfg.Input, Rows: st.Invalid}
	}
	return r.early(ctx)
}

// openResults opens the results file for the run's writes.
func (r *runner) openResults() (*writer.Writer, error) {
	w, err := writer.Open(r.cfg.Results, r.cfg.Mode)
	switch {
	case err == nil:
		return w, nil
	case errors.Is(err, writer.ErrLocked):
		return nil, err // another run holds it: not a fault of the configuration
	}
	return nil, refuse(err) // it exists, a bad path, a folder, not a results file
}

// send opens the results file, makes sure a resume is of this input, and
// sends the input's rows.
func (r *runner) send(ctx context.Context, rd *reader.Reader, eng *batch.Engine, hook *sendHook, in *input, sy *syncRun) error {
	w, err := r.openResults()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := r.claimAPI(); err != nil {
		return err
	}
	r.stats.resultsOpen.Store(true)
	plan, err := r.prepareResults(ctx, w, eng)
	if err != nil {
		return err
	}
	if err := sy.start(r.cfg.Results); err != nil {
		return err
	}
	r.stats.startSending(eng)
	e := r.cfg.Engine
	r.log.Info("run started", "input", r.cfg.Reader.Name, "results", r.cfg.Results, "api", eng.URL(), "batch_size", e.BatchSize,
		"workers", e.Workers, "rate", e.Rate, "auto_rate", e.AutoRate, "limit", r.cfg.Limit, "resume", r.cfg.Mode == writer.Resume)
	if r.cfg.OnStart != nil {
		r.cfg.OnStart()
	}
	p := &pipeline{
		records: rd, w: w, plan: plan, eng: eng, sending: hook, log: r.log, limit: r.cfg.Limit,
		resultsPath: r.cfg.Results, stop: r.cfg.Stop, stats: r.stats, sync: sy,
		prior: priorResults{results: r.cfg.Results},
	}
	err = p.run(ctx, in.abort)
	r.stats.blank.Store(int64(rd.Skipped()))
	if cerr := w.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close results %s: %w", r.cfg.Results, cerr)
	}
	if err == nil && stopped(r.cfg.Stop) {
		err = ErrInterrupted
	}
	if err == nil {
		err = r.readWhole(rd)
	}
	if serr := sy.end(err == nil, r.cfg.Limit > 0); serr != nil && err == nil {
		err = serr
	}
	return err
}

// claimAPI makes the results file the record of runs against this run's
// API (writer.ClaimAPI), refusing, before anything is sent, one that
// records runs against another. A sync run's results file says it too,
// though its state knows the API: undo and verify look beside the file.
func (r *runner) claimAPI() error {
	api, err := batch.APIRoot(r.cfg.Engine)
	if err != nil {
		return refuse(err)
	}
	if r.cfg.Mode != writer.Resume {
		// A file started afresh: what was kept beside it is of the runs
		// it no longer records.
		if err := writer.ForgetAPI(r.cfg.Results); err != nil {
			return refuse(err)
		}
		if err := os.Remove(names.ResultsPath(r.cfg.Results)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return refuse(err)
		}
	}
	return refuse(writer.ClaimAPI(r.cfg.Results, api))
}

// prepareResults readies the open results file for the run: for a resume
// it reads what the file records, decides the input's rows against it
// (refusing a file that records another input), and appends the rows a
// killed run left in flight; then it starts the run's in-flight journal.
// It returns the resume's Plan (nil for a new run).
func (r *runner) prepareResults(ctx context.Context, w *writer.Writer, eng *batch.Engine) (*resume.Plan, error) {
	var st *resume.State
	var rep resume.Report
	if r.cfg.Mode == writer.Resume {
		var err error
		if st, rep, err = resume.Load(w); err != nil {
			return nil, refuse(err)
		}
	}
	plan, err := r.resumePlan(st, rep)
	if err != nil {
		return nil, err
	}
	if err := r.rs.markChanged(st, r.cfg.Results); err != nil {
		return nil, err
	}
	warnLoad(rep, r.cfg.Results, r.log)
	if err := r.early(ctx); err != nil {
		return nil, err
	}
	if st != nil {
		if err := st.Record(w); err != nil {
			return nil, err
		}
	}
	requests, rows := eng.MaxInFlight()
	if err := w.StartJournal(requests, rows); err != nil {
		return nil, refuse(err)
	}
	return plan, nil
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// onStop calls fn, from a goroutine of its own, if stop closes before
// release is called. release ends that goroutine and waits for it (and so
// for fn, if it started).
func onStop(stop <-chan struct{}, fn func()) (release func()) {
	if stop == nil {
		return func() {}
	}
	quit, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		select {
		case <-stop:
			fn()
		case <-quit:
		}
	}()
	return func() {
		close(quit)
		<-ended
	}
}
