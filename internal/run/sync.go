package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/syncstate"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// A sync run (Config.Sync) applies a nightly export against a sync state
// (package syncstate): a ticket whose last valid row in the export is what
// the state says it holds is not sent, and each of its rows is recorded as
// unchanged; every other ticket's rows are sent, in file order. The state
// learns of every request before it leaves (the writer goroutine marks its
// tickets in flight, after the in-flight journal) and of every outcome as
// its result is written.
//
// Deciding needs each ticket's last row before its first is sent, so the
// input is read twice: a pre-pass builds the plan, then the main read
// sends. Both read the one file the run opened (a rename in between
// changes nothing); a row the plan did not see (the file rewritten in
// place) is sent, with the rest of its ticket. Stdin cannot be read
// twice, and holding a whole export in memory is what the run must not
// do: a sync run refuses stdin. It refuses to resume, too: a sync run is
// its own unit, and a row that failed is sent again by the next run
// because the state does not record it as applied.
//
// A run with a limit (a canary night) is judged against the whole export,
// as a resume is: a ticket with a row past the limit is not moved, for
// that row would move it on; its rows within the limit are recorded
// unchanged if the state holds its last row, and otherwise held back (not
// sent, no result, counted). A full run with a limit holds them back too.

// Sync makes a run a sync run.
type Sync struct {
	// State is the sync state's path; "" for an ordinary run.
	State string
	// Full sends every row whatever the state says, and records the
	// outcomes: the state is refreshed (for drift made inside Kapture).
	Full bool
	// MakeResultsDir creates the results file's folder (the default one
	// beside the state) once the run is about to open the file, so that a
	// run refused before then leaves nothing behind.
	MakeResultsDir bool
}

// MsgUnchanged is the message of a row a sync run did not send.
const MsgUnchanged = "not sent: the sync state says the ticket already holds its last row of this input"

// unchangedBatch is how many unchanged results the producer hands the
// writer at once: a write call per row would cost more than the check.
const unchangedBatch = 512

// errSyncWrite marks a failure to record in the sync state: the run stops,
// as for a results write error.
var errSyncWrite = errors.New("record in the sync state")

// lockedError is a sync state held by another run: it reads as the
// state's error, and is writer.ErrLocked for whoever maps errors to
// outcomes (another run has what this one needs: try later).
type lockedError struct{ err error }

func (e *lockedError) Error() string   { return e.err.Error() }
func (e *lockedError) Unwrap() []error { return []error{writer.ErrLocked, e.err} }

// syncRun is a sync run's state and plan. The producer uses plan and
// unchanged; the writer goroutine uses st through sending, written and
// idle; the nil *syncRun (an ordinary run) sends everything and records
// nothing.
type syncRun struct {
	st   *syncstate.State
	plan *syncstate.Plan // nil with Full and no limit
	full bool
	log  *slog.Logger

	batch []writer.Result // unchanged results not yet handed to the writer
	ids   []string
}

// openSync opens the sync state (failing at once if another run has it,
// or if it belongs to another API or is damaged), records in the last
// run's results file what that run left in flight, and unless Full reads
// the input, through in's file, to decide which tickets are sent. It
// returns nil for an ordinary run.
func (r *runner) openSync(ctx context.Context, in *input) (*syncRun, error) {
	cfg := r.cfg
	if cfg.Sync.State == "" {
		return nil, nil
	}
	switch {
	case r.fromStdin:
		return nil, refuse(errors.New("a sync run reads its input twice (each ticket's last row first), and stdin cannot be read twice: save it to a file first"))
	case cfg.Mode == writer.Resume:
		return nil, refuse(errors.New("a sync run cannot resume: the sync state says what is sent, and the next run sends what did not succeed"))
	case cfg.DryRun:
		return nil, refuse(errors.New("a dry run of a sync run is not supported"))
	}
	api, err := batch.APIRoot(cfg.Engine)
	if err != nil {
		return nil, refuse(err)
	}
	st, err := syncstate.Open(cfg.Sync.State, syncstate.Options{API: api})
	switch {
	case errors.Is(err, syncstate.ErrLockedState):
		return nil, &lockedError{err}
	case err != nil:
		return nil, refuse(err)
	}
	s := &syncRun{st: st, full: cfg.Sync.Full, log: r.log}
	if st.Adopted {
		r.log.Info("the sync state now records the API it belongs to: another API's runs are refused", "state", cfg.Sync.State, "api", api)
	}
	if st.Recovered > 0 {
		r.log.Warn("the last sync run was stopped with requests in flight: their tickets are sent again", "state", cfg.Sync.State, "tickets", st.Recovered)
	}
	r.settleLastRun(st.Results)
	if !s.full || cfg.Limit > 0 { // a full run without a limit sends every row: no plan
		if s.plan, err = r.planSync(ctx, st, s.full, in.file); err != nil {
			s.close()
			return nil, err
		}
		r.log.Info("sync state read", "state", cfg.Sync.State, "tickets", s.plan.Tickets(), "unchanged", s.plan.Unchanged())
	}
	if cfg.Sync.MakeResultsDir {
		if err := os.MkdirAll(filepath.Dir(cfg.Results), 0o755); err != nil {
			s.close()
			return nil, refuse(fmt.Errorf("results folder: %w", err))
		}
	}
	return s, nil
}

// settleLastRun records, in the results file of the last run, the rows
// its in-flight journal still lists (a kill, or a stop that could not
// wait) as failed with an unknown outcome, and removes the journal, as a
// resume would: a sync run is never resumed, and report of that night
// must still tell the truth without it. It is best effort: on any failure
// the journal stays, and report reads it as before.
func (r *runner) settleLastRun(results string) {
	if results == "" || results == r.cfg.Results {
		return // none, or this run's own file, which drops the journal itself
	}
	rows, err := writer.ReadInFlight(results)
	if err != nil || len(rows) == 0 {
		return
	}
	if _, err := os.Stat(results); err != nil {
		return // pruned: not to be made again
	}
	n, err := recordInFlight(results)
	if err != nil {
		r.log.Warn("could not record the rows the last sync run left in flight in its results file; report reads them from its journal", "results", results, "error", err)
		return
	}
	r.log.Info("the last sync run left requests in flight: their rows are recorded as failed (outcome unknown) in its results file", "results", results, "rows", n)
}

// recordInFlight appends, to the results file at path, the rows its
// journal lists whose outcome the file does not give, and removes the
// journal (a Writer removes its journal when it closes with nothing in
// flight). It returns how many rows it recorded.
func recordInFlight(path string) (int, error) {
	w, err := writer.Open(path, writer.Resume)
	if err != nil {
		return 0, err
	}
	st, rep, err := resume.Load(w)
	if err == nil {
		err = st.Record(w)
	}
	if err == nil {
		err = w.StartJournal(1, 1) // replaces the old one, empty
	}
	return rep.Unknown, errors.Join(err, w.Close())
}

// planSync reads the whole input through f, the very file the main read
// opened, for each ticket's last valid row and, with a limit, the tickets
// with a row past it, and compares them with the state (for a full run,
// only the limit matters). It counts the input's rows (see
// runner.readWhole).
func (r *runner) planSync(ctx context.Context, st *syncstate.State, full bool, f *os.File) (*syncstate.Plan, error) {
	rd, err := reader.Open(io.NewSectionReader(f, 0, math.MaxInt64), r.cfg.Reader)
	if err != nil {
		return nil, refuse(err)
	}
	p := syncstate.NewPlanner()
	var buf []byte
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := r.early(ctx); err != nil {
				return nil, err
			}
		}
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, refuse(err)
		}
		if rec.Invalid != "" {
			continue
		}
		buf = reader.AppendObject(buf[:0], rec)
		if k := rowkey.New(rec.TicketID, buf); r.cfg.Limit > 0 && n >= r.cfg.Limit {
			p.AddPast(rec.TicketID, k)
		} else {
			p.Add(rec.TicketID, k)
		}
	}
	r.counted(rd.Records())
	if full {
		return p.Plan(), r.early(ctx)
	}
	plan, err := st.Plan(p)
	if err != nil {
		return nil, refuse(fmt.Errorf("read sync state %s: %w", r.cfg.Sync.State, err)) // nothing sent yet
	}
	return plan, r.early(ctx)
}

// start records in the state that the run begins.
func (s *syncRun) start(results string) error {
	if s == nil {
		return nil
	}
	return s.st.StartRun(results, time.Now())
}

// decide says what becomes of the valid row rec, whose key is k: sent,
// held back (a limit), or recorded as unchanged, through send in batches;
// an error means the run is ending.
func (s *syncRun) decide(rec reader.Record, k rowkey.Key, send func([]writer.Result) error) (syncstate.Decision, error) {
	if s == nil || s.plan == nil {
		return syncstate.Send, nil
	}
	d := s.plan.Decide(rec.TicketID, k)
	if d != syncstate.Unchanged {
		return d, nil
	}
	s.batch = append(s.batch, writer.Result{
		TicketID: rec.TicketID, Status: writer.StatusUnchanged, Message: MsgUnchanged,
		Line: rec.Line, Key: k,
	})
	if len(s.batch) < unchangedBatch {
		return d, nil
	}
	return d, s.flush(send)
}

// flush hands the unchanged results held to the writer.
func (s *syncRun) flush(send func([]writer.Result) error) error {
	if s == nil || len(s.batch) == 0 {
		return nil
	}
	b := s.batch
	s.batch = make([]writer.Result, 0, unchangedBatch) // the writer owns b now
	return send(b)
}

// sending marks the tickets of a request's rows in flight in the state,
// before the request leaves.
func (s *syncRun) sending(rows []writer.InFlight) error {
	if s == nil {
		return nil
	}
	s.ids = s.ids[:0]
	for _, r := range rows {
		s.ids = append(s.ids, r.TicketID)
	}
	if err := s.st.Sending(s.ids); err != nil {
		return fmt.Errorf("%w: %w", errSyncWrite, err)
	}
	return nil
}

// written records the outcomes of results just written; idle commits them
// (the writer calls it when it has nothing else to do).
func (s *syncRun) written(res []writer.Result) {
	if s == nil {
		return
	}
	for _, r := range res {
		if r.Status != writer.StatusSuccess && r.Status != writer.StatusFailed {
			continue // unchanged and invalid rows change nothing
		}
		s.st.Outcome(r.TicketID, r.Key.Content, r.Status == writer.StatusSuccess, r.FinishedAt)
	}
}

func (s *syncRun) idle() error {
	if s == nil {
		return nil
	}
	if err := s.st.Commit(); err != nil {
		return fmt.Errorf("%w: %w", errSyncWrite, err)
	}
	return nil
}

// end records, for a run that gave every row it took a result, that it
// finished (a full one, without a limit, refreshed the whole state), then
// closes the state. A finished run whose input lost rows of a ticket the
// plan took as unchanged ends with ErrInputChanged.
func (s *syncRun) end(finished bool, limited bool) error {
	if s == nil {
		return nil
	}
	var err error
	if finished {
		err = s.st.Finish(s.full && !limited, time.Now())
		if n := s.unread(); n > 0 {
			err = errors.Join(err, fmt.Errorf("%w: %d tickets had fewer rows than when it was planned, so their rows were recorded unchanged though the input may no longer end them with the row the state holds", ErrInputChanged, n))
		}
	}
	err = errors.Join(err, s.st.Close())
	s.close()
	return err
}

// unread returns the number of tickets planned unchanged of which the main
// read found fewer rows than the plan's read.
func (s *syncRun) unread() int {
	if s.plan == nil {
		return 0
	}
	return s.plan.Unread()
}

// close closes the state, if end did not.
func (s *syncRun) close() {
	if s == nil || s.st == nil {
		return
	}
	s.st.Close()
	s.st = nil
	s.plan = nil
}
