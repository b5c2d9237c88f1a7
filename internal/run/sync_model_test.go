package run

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/syncstate"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

var (
	syncHistories = flag.Int("sync.histories", 0, "histories TestSyncModel plays (0: 120, or 30 with -short)")
	syncSeed      = flag.Uint64("sync.seed", 0, "first seed of TestSyncModel (0: 1 to histories, and one from the clock)")
)

// TestSyncModel plays random series of nights of a sync job against the
// in-process fake and checks, after every night that finished, what a sync
// state promises: every row has a result; a ticket whose rows were all
// unchanged holds its last row (nothing was sent, so the state must have
// been right); and a ticket whose last row succeeded, or was unchanged,
// holds that row. A ticket the API refuses is never unchanged.
//
// Each night's export is the last one changed at random: rows edited,
// tickets added and removed, a ticket's rows put back as they were some
// nights ago (the case a state that forgot a request applied at a crash
// would get wrong), several rows per ticket, invalid rows. A night may
// meet faults, a limit, a --full, or an interruption: a soft stop, an
// abrupt one, or a crash (requests from then on reach the fake and are
// applied, but no answer comes before the run dies). The last night runs
// without trouble, and must leave every ticket in its last row.
//
// A failing history prints its seed and how to play it again (timing may
// differ); see Seeds for which histories are played.
func TestSyncModel(t *testing.T) {
	c := Seeds{Test: "TestSyncModel", Flag: "sync", N: *syncHistories, Seed: *syncSeed, Short: 30, Long: 120}
	PlaySeeds(t, c, func(t *testing.T, s uint64) {
		j := newJob(t, s)
		logOnFailure(t, s, &j.log)
		j.play()
	})
}

// job is one series of nights.
type job struct {
	t       *testing.T
	rng     *rand.Rand
	dir     string
	state   string
	tickets []string
	next    int
	exports [][]mrow // every night's export so far
	api     *fakeAPI
	other   *fakeAPI // another tenant's
	log     []string
	// damaged: the state was damaged since it was made, on night fresh.
	damaged bool
	fresh   int
	// crashed: the last night died with requests in flight, which the
	// fake may have applied.
	crashed bool
}

func newJob(t *testing.T, seed uint64) *job {
	j := &job{t: t, rng: rand.New(rand.NewPCG(seed, 3)), dir: t.TempDir()}
	j.state = filepath.Join(j.dir, "job.state")
	for i := range 4 + j.rng.IntN(10) {
		j.tickets = append(j.tickets, fmt.Sprintf("7135165%05d", i))
	}
	j.tickets = append(j.tickets, "999900000001")
	reply := kapturetest.ReplyArray
	if j.rng.IntN(4) == 0 {
		reply = kapturetest.ReplyLast
	}
	j.log = append(j.log, "replies "+reply.String())
	j.api = newFakeAPI(t, seed, reply, 0.04)
	j.other = newFakeAPI(t, seed, reply, 0)
	return j
}

func (j *job) newRow(ticket string) mrow {
	j.next++
	r := mrow{ticket: ticket, sub: []string{"P", "PS", "CL"}[j.rng.IntN(3)],
		queue: []string{"", "Q1"}[j.rng.IntN(2)], comment: fmt.Sprintf("c%d", j.next)}
	if j.rng.IntN(20) == 0 {
		r.callback = "2024-13-45 25:61:00"
	}
	return r
}

// export makes the next night's export: for each ticket, its rows of last
// night, of an earlier night, new ones, or none; in a shuffled order.
func (j *job) export() []mrow {
	var groups [][]mrow
	for _, tk := range j.tickets {
		var rows []mrow
		switch x := j.rng.IntN(10); {
		case j.crashed && len(j.exports) > 1 && x < 5:
			// As before the night that died: what the state holds for
			// the ticket, unless that night applied something to it.
			rows = rowsOf(j.exports[len(j.exports)-2], tk)
		case len(j.exports) == 0 || x == 0:
			for range 1 + j.rng.IntN(3) {
				rows = append(rows, j.newRow(tk))
			}
		case x == 1: // removed from the export tonight
		case x == 2: // as it was some nights ago
			rows = rowsOf(j.exports[j.rng.IntN(len(j.exports))], tk)
		default: // as last night, maybe edited
			rows = rowsOf(j.exports[len(j.exports)-1], tk)
			if len(rows) > 0 && j.rng.IntN(4) == 0 {
				i := j.rng.IntN(len(rows))
				rows[i].sub = []string{"P", "PS", "CL", "US"}[j.rng.IntN(4)]
			}
		}
		groups = append(groups, rows)
	}
	j.rng.Shuffle(len(groups), func(a, b int) { groups[a], groups[b] = groups[b], groups[a] })
	var out []mrow
	for _, g := range groups {
		out = append(out, g...) // a ticket's rows together, in their order
	}
	return out
}

func rowsOf(rows []mrow, ticket string) []mrow {
	var out []mrow
	for _, r := range rows {
		if r.ticket == ticket {
			out = append(out, r)
		}
	}
	return out
}

func (j *job) write(path string, rows []mrow) {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"ticket_id", "sub_status", "queue", "comment", "callback_time"})
	for _, r := range rows {
		w.Write([]string{r.ticket, r.sub, r.queue, r.comment, r.callback})
	}
	w.Flush()
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		j.t.Fatal(err)
	}
}

func (j *job) play() {
	nights := 4 + j.rng.IntN(5)
	for n := range nights {
		rows := j.export()
		j.exports = append(j.exports, rows)
		last := n == nights-1
		j.night(n, rows, !last)
	}
}

// night runs one night's export; with trouble it may meet faults, a
// limit, a --full, or an interruption, and before it a run for another
// tenant with the same state (refused, changing nothing) or damage to the
// state (refused, then run as ops would: with --full into a new state).
func (j *job) night(n int, rows []mrow, trouble bool) {
	in := filepath.Join(j.dir, fmt.Sprintf("export-%d.csv", n))
	j.write(in, rows)
	results := filepath.Join(j.dir, fmt.Sprintf("night-%d.results.csv", n))
	if _, err := os.Stat(j.state); trouble && err == nil {
		switch j.rng.IntN(8) {
		case 0:
			j.otherTenant(n, in, results)
		case 1:
			j.damage()
		}
	}
	full := j.rng.IntN(6) == 0
	before := j.api.States()
	cfg, err := j.run(n, rows, in, results, trouble, full)
	if errors.Is(err, syncstate.ErrDamaged) || errors.Is(err, syncstate.ErrNotState) {
		if !j.damaged {
			j.t.Fatalf("night %d: %v, and the state was never damaged", n, err)
		}
		// The way out the refusal gives: move it aside, --full into a
		// new state.
		if err := os.Rename(j.state, fmt.Sprintf("%s.damaged-%d", j.state, n)); err != nil {
			j.t.Fatal(err)
		}
		j.damaged, j.fresh = false, n
		cfg, err = j.run(n, rows, in, results, trouble, true)
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrInterrupted), errors.Is(err, context.Canceled), errors.Is(err, batch.ErrAPIDown):
		return // an unfinished night: the next one must make up for it
	default:
		j.t.Fatalf("night %d: %v", n, err)
	}
	j.check(n, rows, cfg.Limit, results, !trouble, before)
	j.checkJournals(n)
}

// run runs a night of rows from in, writing results.
func (j *job) run(n int, rows []mrow, in, results string, trouble, full bool) (Config, error) {
	cfg := j.config(in, results, j.api.URL)
	cfg.Sync.Full = full
	stop := make(chan struct{})
	cfg.Stop = stop
	interrupt := 0
	j.api.faulty.Store(false)
	if trouble {
		j.api.faulty.Store(j.rng.IntN(2) == 0)
		if j.rng.IntN(8) == 0 {
			cfg.Limit = 1 + j.rng.IntN(len(rows)+1)
		}
		if j.rng.IntN(3) == 0 {
			interrupt = 1 + j.rng.IntN(3)
		}
	}
	after := int64(j.rng.IntN(len(rows) + 1))
	pause := time.Duration(j.rng.IntN(5)) * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stats Stats
	quit, watched := make(chan struct{}), make(chan struct{})
	go func() { // the interruption; ends when the run has returned
		defer close(watched)
		j.api.interrupt(interrupt, after, pause, &stats, stop, cancel, quit)
	}()
	err := Run(ctx, cfg, &stats)
	close(quit)
	<-watched
	j.api.settle(j.t)
	if !errors.Is(err, ErrRefused) {
		j.crashed = interrupt == 3
	}
	s := stats.Snapshot()
	j.log = append(j.log, fmt.Sprintf("night %d (%d rows, full %v, faults %v, limit %d, interrupt %d): err %v, success %d failed %d invalid %d unchanged %d",
		n, len(rows), cfg.Sync.Full, j.api.faulty.Load(), cfg.Limit, interrupt, err, s.Success, s.Failed, s.Invalid, s.Unchanged))
	return cfg, err
}

func (j *job) config(in, results, api string) Config {
	return Config{
		Input: in, Reader: reader.Options{Name: in}, Results: results, Mode: writer.Create,
		// An export can be empty (every ticket dropped from it tonight);
		// a nightly job passes --allow-empty for that.
		AllowEmpty: true,
		Engine: batch.Config{
			BaseURL: api, Token: kapturetest.DefaultToken,
			Workers: 1 + j.rng.IntN(3), BatchSize: 1 + j.rng.IntN(5), MaxRetries: 6,
			Timeout: modelTimeout, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		},
		Sync: Sync{State: j.state},
	}
}

// otherTenant runs the night against another tenant's API with the job's
// state: it must be refused, send nothing, and leave the state as it was.
func (j *job) otherTenant(n int, in, results string) {
	before, err := os.ReadFile(j.state)
	if err != nil {
		j.t.Fatal(err)
	}
	err = Run(context.Background(), j.config(in, results, j.other.URL), nil)
	j.log = append(j.log, fmt.Sprintf("night %d for another tenant: %v", n, err))
	var apiErr *syncstate.APIError
	switch {
	case j.damaged && errors.Is(err, syncstate.ErrDamaged):
	case !errors.Is(err, ErrRefused) || !errors.As(err, &apiErr):
		j.t.Errorf("night %d for another tenant: %v, want it refused", n, err)
	}
	if got := j.other.Stats().Requests; got != 0 {
		j.t.Errorf("night %d: the other tenant got %d requests", n, got)
	}
	if after, _ := os.ReadFile(j.state); string(after) != string(before) {
		j.t.Errorf("night %d: the refused run changed the state", n)
	}
	if _, err := os.Stat(results); !errors.Is(err, os.ErrNotExist) {
		j.t.Errorf("night %d: the refused run wrote %s", n, results)
	}
}

// damage damages the state's file: cut short, bytes changed, a page
// zeroed, or a byte of a meta page changed. The next run refuses it, or,
// when nothing reads those bytes, runs as before.
func (j *job) damage() {
	b, err := os.ReadFile(j.state)
	if err != nil {
		j.t.Fatal(err)
	}
	const page = 4096
	var what string
	switch j.rng.IntN(4) {
	case 0:
		b = b[:j.rng.IntN(len(b))]
		what = fmt.Sprintf("cut to %d bytes", len(b))
	case 1:
		for range 1 + j.rng.IntN(4) {
			o := j.rng.IntN(len(b))
			b[o] ^= byte(1 + j.rng.IntN(255))
			what += fmt.Sprintf(" byte %d changed", o)
		}
	case 2:
		p := j.rng.IntN(len(b) / page)
		clear(b[p*page : (p+1)*page])
		what = fmt.Sprintf("page %d zeroed", p)
	default:
		o := j.rng.IntN(2)*page + j.rng.IntN(80)
		b[o] ^= byte(1 + j.rng.IntN(255))
		what = fmt.Sprintf("meta byte %d changed", o)
	}
	if err := os.WriteFile(j.state, b, 0o644); err != nil {
		j.t.Fatal(err)
	}
	j.damaged = true
	j.log = append(j.log, "state damaged:"+what)
}

// checkJournals asserts that no in-flight journal of an earlier night of
// this state is left: the night settled what the one before left in
// flight. (A state moved aside takes with it the record of its last
// night's results.)
func (j *job) checkJournals(n int) {
	for i := j.fresh; i < n; i++ {
		if _, err := os.Stat(filepath.Join(j.dir, fmt.Sprintf("night-%d.results.csv.inflight", i))); err == nil {
			j.t.Errorf("night %d: night %d's in-flight journal is still there", n, i)
		}
	}
}

// limitRows is the rows a run with --limit takes.
func limitRows(rows []mrow, limit int) []mrow { return rows[:min(limit, len(rows))] }

// check asserts what a finished night of the export all promises, with
// its limit (0: none); clean: the night met no faults, so every row the
// API knows succeeded or was unchanged. A night with a limit is judged
// against all: a ticket with a valid row past the limit is not moved (it
// holds what it held before, as the fake's states said), its rows within
// the limit held back (no result) or unchanged.
func (j *job) check(n int, all []mrow, limit int, results string, clean bool, before map[string]kapturetest.Item) {
	t := j.t
	rows, past := all, map[string]bool{}
	if limit > 0 {
		rows = limitRows(all, limit)
		for _, r := range all[len(rows):] {
			past[r.ticket] = past[r.ticket] || r.valid()
		}
	}
	got := map[int]writer.Row{} // by line
	f := mustOpen(t, results)
	if err := writer.ReadRows(f, results, func(r writer.Row) error {
		got[r.Line] = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lastLine := map[string]int{}
	for i, r := range rows {
		if r.valid() {
			lastLine[r.ticket] = i + 2
		}
	}
	kinds := map[string]string{} // a ticket's rows are all unchanged, all held back, or all sent
	for i, r := range rows {
		line := i + 2
		res, ok := got[line]
		kind := "sent"
		switch {
		case !ok && r.valid() && past[r.ticket]:
			kind = "held back"
		case !ok:
			t.Errorf("night %d: line %d (ticket %s) has no result", n, line, r.ticket)
			continue
		case !r.valid():
			if res.Status != writer.StatusInvalid {
				t.Errorf("night %d: invalid line %d: %s", n, line, res.Status)
			}
			continue
		case res.Status == writer.StatusUnchanged:
			kind = "unchanged"
		case past[r.ticket]:
			t.Errorf("night %d: line %d of ticket %s, which has a row past the limit: %s, want held back or unchanged", n, line, r.ticket, res.Status)
		case !strings.HasPrefix(r.ticket, "7") && res.Status != writer.StatusFailed:
			t.Errorf("night %d: line %d of a ticket the API refuses: %s, want failed (sent again)", n, line, res.Status)
		case clean && strings.HasPrefix(r.ticket, "7") && res.Status == writer.StatusFailed:
			t.Errorf("night %d: line %d (ticket %s) failed on a night without faults", n, line, r.ticket)
		}
		if prev, seen := kinds[r.ticket]; seen && prev != kind {
			t.Errorf("night %d: ticket %s has rows %s and rows %s", n, r.ticket, prev, kind)
		}
		kinds[r.ticket] = kind
	}
	for tk, moved := range past {
		if !moved {
			continue // only invalid rows past the limit
		}
		have, _ := j.api.State(tk)
		if lastLine[tk] > 0 && !maps.Equal(have, before[tk]) {
			t.Errorf("night %d: ticket %s, with a row past the limit, was moved from %v to %v", n, tk, before[tk], have)
		}
		if kinds[tk] == "unchanged" {
			last := rowsOf(all, tk)
			for len(last) > 1 && !last[len(last)-1].valid() {
				last = last[:len(last)-1]
			}
			if w := last[len(last)-1]; have["sub_status"] != w.sub || have["queue"] != w.queue || have["comment"] != w.comment {
				t.Errorf("night %d: ticket %s, unchanged, holds %v, not its last row past the limit %+v", n, tk, have, w)
			}
		}
	}
	for tk, line := range lastLine {
		if !strings.HasPrefix(tk, "7") || past[tk] {
			continue
		}
		st := got[line].Status
		if st != writer.StatusSuccess && st != writer.StatusUnchanged {
			continue // failed (faults): the next night sends it
		}
		want := rows[line-2]
		have, ok := j.api.State(tk)
		if !ok || have["sub_status"] != want.sub || have["queue"] != want.queue || have["comment"] != want.comment {
			t.Errorf("night %d: ticket %s (last row line %d: %s): holds %v, want %+v", n, tk, line, st, have, want)
		}
	}
	j.checkState(n)
}

// checkState asserts that the state opens cleanly after a finished night
// with nothing left unknown that was not in flight.
func (j *job) checkState(n int) {
	st, err := syncstate.Open(j.state, syncstate.Options{ReadOnly: true})
	if err != nil {
		j.t.Fatalf("night %d: state: %v", n, err)
	}
	defer st.Close()
	s, err := st.Stats()
	if err != nil {
		j.t.Fatal(err)
	}
	if s.Open {
		j.t.Errorf("night %d: the state was left open", n)
	}
}
