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
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

var (
	modelHistories = flag.Int("model.histories", 0, "histories TestResumeModel plays (0: 200, or 40 with -short)")
	modelSeed      = flag.Uint64("model.seed", 0, "first seed of TestResumeModel (0: 1 to histories, and one from the clock); history i plays seed+i")
)

// TestResumeModel plays many random histories of runs and resumes against
// the in-process fake API and checks, after each, what resume promises:
// every ticket ends in the state of its last row in the input, every row
// has a result saying what happened to it, and the run ends without failed
// rows exactly when every row succeeded.
//
// A history is a first run, then resumes. Each run may meet faults (error
// pages, dropped connections before and after applying, login pages,
// stalls), a limit, stdin instead of a file, or an interruption after a
// random number of results: a soft stop (the first signal), an abrupt one
// (the second), or a crash (requests reach the API and are applied, but no
// answer comes back before the run dies; sometimes the results file ends
// in a torn line). Between runs the input is edited (rows deleted,
// inserted, edited, moved, repeated), the results file is re-saved as a
// spreadsheet would, or, after a run that read the whole input to its end,
// every result of some rows is deleted. The last resume runs without
// faults to the end.
//
// A failing history prints its seed and how to play it again (timing may
// differ); see Seeds for which histories are played.
func TestResumeModel(t *testing.T) {
	c := Seeds{Test: "TestResumeModel", Flag: "model", N: *modelHistories, Seed: *modelSeed, Short: 40, Long: 200}
	PlaySeeds(t, c, func(t *testing.T, s uint64) {
		h := newHistory(t, s)
		logOnFailure(t, s, &h.log)
		h.play()
	})
}

// mrow is one row of a history's input; an invalid row has a callback
// time the reader refuses.
type mrow struct{ ticket, sub, queue, comment, callback string }

func (r mrow) valid() bool { return r.callback == "" }

// history is one random history: the input as it stands, the fake API,
// the files, and what happened so far.
type history struct {
	t       *testing.T
	rng     *rand.Rand
	dir     string
	input   string
	results string
	rows    []mrow
	tickets []string // 7... tickets the fake knows, 9... ones it refuses
	next    int      // for unique comments
	api     *fakeAPI
	log     []string // what happened, for a failure message
	crashed bool     // the last run died with requests in flight
	limit   int      // the next run's --limit, when set (a canary)
	// repeated holds the comments of rows that were ever repeated: a
	// ticket with such rows may have had another row's application of
	// the very same content, which the order check cannot tell apart.
	repeated map[string]bool
}

func newHistory(t *testing.T, seed uint64) *history {
	h := &history{t: t, rng: rand.New(rand.NewPCG(seed, 1)), dir: t.TempDir(), repeated: map[string]bool{}}
	h.input = filepath.Join(h.dir, "in.csv")
	h.results = filepath.Join(h.dir, "in.results.csv")
	for i := range 3 + h.rng.IntN(8) {
		h.tickets = append(h.tickets, fmt.Sprintf("7135165%05d", i))
	}
	h.tickets = append(h.tickets, "999900000001", "999900000002")
	reply := kapturetest.ReplyArray
	if h.rng.IntN(4) == 0 {
		reply = kapturetest.ReplyLast
	}
	h.log = append(h.log, "replies "+reply.String())
	h.api = newFakeAPI(t, seed, reply, 0.03)
	for range 15 + h.rng.IntN(25) {
		h.rows = append(h.rows, h.newRow())
	}
	return h
}

func (h *history) newRow() mrow {
	h.next++
	r := mrow{
		ticket:  h.tickets[h.rng.IntN(len(h.tickets))],
		sub:     []string{"P", "PS", "CL"}[h.rng.IntN(3)],
		queue:   []string{"", "Q1", "Q2"}[h.rng.IntN(3)],
		comment: fmt.Sprintf("c%d", h.next),
	}
	if h.rng.IntN(15) == 0 {
		r.callback = "2024-13-45 25:61:00" // invalid: the row is never sent
	}
	return r
}

func (h *history) writeInput() {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"ticket_id", "sub_status", "queue", "comment", "callback_time"})
	for _, r := range h.rows {
		w.Write([]string{r.ticket, r.sub, r.queue, r.comment, r.callback})
	}
	w.Flush()
	if err := os.WriteFile(h.input, []byte(b.String()), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// play runs the history: a first run, resumes with changes between them,
// and a last resume to the end, then checks the outcome.
func (h *history) play() {
	finished := h.run(writer.Create, true)
	for range 2 + h.rng.IntN(4) {
		if finished && h.rng.IntN(3) == 0 {
			h.canary()
		}
		deleted := h.change(finished)
		finished = h.run(writer.Resume, !deleted)
	}
	h.api.faulty.Store(false)
	h.run(writer.Resume, false)
	h.check()
}

// run runs the input once in mode; with trouble, it may meet faults, a
// limit, stdin, and an interruption. It reports whether the run read the
// whole input and was not stopped.
func (h *history) run(mode writer.Mode, trouble bool) bool {
	h.writeInput()
	cfg := Config{
		Input: h.input, Reader: reader.Options{Name: h.input},
		Results: h.results, Mode: mode,
		Engine: batch.Config{
			BaseURL: h.api.URL, Token: kapturetest.DefaultToken,
			Workers: 1 + h.rng.IntN(3), BatchSize: 1 + h.rng.IntN(5), MaxRetries: 6,
			Timeout: modelTimeout, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		},
	}
	what := "run"
	interrupt := 0 // 0 none, 1 soft stop, 2 abrupt stop, 3 crash
	cfg.Limit, h.limit = h.limit, 0
	if trouble {
		h.api.faulty.Store(h.rng.IntN(2) == 0)
		if h.rng.IntN(5) == 0 {
			cfg.Limit = 1 + h.rng.IntN(len(h.rows))
		}
		if h.rng.IntN(5) == 0 {
			f, err := os.Open(h.input)
			if err != nil {
				h.t.Fatal(err)
			}
			defer f.Close()
			cfg.Input, cfg.Stdin, cfg.Reader.Name = "-", f, "stdin"
		}
		if h.rng.IntN(2) == 0 {
			interrupt = 1 + h.rng.IntN(3)
		}
	}
	what = fmt.Sprintf("%s(faults %v, limit %d, %s, interrupt %d, workers %d, batch %d)", what, h.api.faulty.Load(), cfg.Limit,
		cfg.Reader.Name[len(cfg.Reader.Name)-min(5, len(cfg.Reader.Name)):], interrupt, cfg.Engine.Workers, cfg.Engine.BatchSize)
	after := int64(h.rng.IntN(len(h.rows)))
	pause := time.Duration(1+h.rng.IntN(10)) * time.Millisecond // a crash's: requests sent meanwhile are applied, never answered
	snap, err := h.api.runInterrupted(h.t, cfg, interrupt, after, pause)
	h.log = append(h.log, fmt.Sprintf("%s: err %v, read %d skipped %d resent %d success %d failed %d invalid %d",
		what, err, snap.Read, snap.Skipped, snap.Resent, snap.Success, snap.Failed, snap.Invalid))
	var foreign *ForeignResultsError
	switch {
	case err == nil, errors.Is(err, ErrInterrupted), errors.Is(err, context.Canceled):
	case errors.As(err, &foreign) && mode == writer.Resume:
		// The edits left no row the file records as done: an operator
		// starts afresh, as the message says.
		h.checkForeign()
		return h.run(writer.Overwrite, trouble)
	default:
		h.t.Fatalf("run: %v", err)
	}
	h.crashed = interrupt == 3
	if h.crashed && h.rng.IntN(2) == 0 {
		h.tear()
	}
	return err == nil && cfg.Limit == 0
}

// canary runs a resume of the input's first rows (--limit) after a run
// that finished, then loses what it recorded (a backup restored, a power
// cut): a limited run must not move a ticket away from the state a later
// row of the whole input put it in, or the next resume, which cannot know
// of it, leaves the ticket there.
func (h *history) canary() {
	before, err := os.ReadFile(h.results)
	if err != nil {
		h.t.Fatal(err)
	}
	limit := 1 + h.rng.IntN(len(h.rows))
	for range h.rng.IntN(3) { // rows edited before the canary, within it
		i := h.rng.IntN(limit)
		h.rows[i].sub = []string{"P", "PS", "CL", "US"}[h.rng.IntN(4)]
		h.log = append(h.log, fmt.Sprintf("edited row %d", i))
	}
	// Every row past the limit has a result: the run before finished.
	beyond := map[string]kapturetest.Item{} // tickets with a row past the limit, as they stand
	for _, r := range h.rows[limit:] {
		if st, ok := h.api.State(r.ticket); ok && r.valid() {
			beyond[r.ticket] = st
		}
	}
	h.limit = limit
	h.run(writer.Resume, false)
	for id, was := range beyond {
		if st, _ := h.api.State(id); !maps.Equal(st, was) {
			h.t.Errorf("ticket %s: a run of the first %d rows moved it from %v to %v\n%s", id, limit, was, st, h.ticketStory(id))
		}
	}
	if err := os.WriteFile(h.results, before, 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.log = append(h.log, "lost the canary's results")
}

// check asserts what resume promises after the last resume: each ticket
// in the state of its last valid row, each row's latest result what
// happened to it, and no order violation at the API.
func (h *history) check() {
	t := h.t
	last := map[string]mrow{}
	for _, r := range h.rows {
		if r.valid() {
			last[r.ticket] = r
		}
	}
	for id, r := range last {
		st, ok := h.api.State(id)
		if !strings.HasPrefix(id, "7") {
			continue // refused: never applied
		}
		if !ok || st["sub_status"] != r.sub || st["queue"] != r.queue || st["comment"] != r.comment {
			t.Errorf("ticket %s: state %v, want its last row %+v\n%s", id, st, r, h.ticketStory(id))
		} else if !h.anyRepeated(id) && !h.appliedInOrder(id) {
			t.Errorf("ticket %s: its rows were last applied out of file order\n%s", id, h.ticketStory(id))
		}
	}
	if st := h.api.Stats(); st.OrderViolations > 0 {
		t.Errorf("%d order violations: %v", st.OrderViolations, st.ViolationExamples)
	}
	h.checkResults()
}

// appliedInOrder reports whether the last application of each of the
// ticket's valid rows came in the rows' file order (identical rows count
// as one, at the last of them): what applying the rows one at a time
// gives, even for an API where a "" leaves a field as it was.
func (h *history) appliedInOrder(id string) bool {
	type content struct{ sub, queue, comment string }
	var order []content
	// The contents, in the order of their last position in the input.
	seen := map[content]bool{}
	for i := len(h.rows) - 1; i >= 0; i-- {
		r := h.rows[i]
		c := content{r.sub, r.queue, r.comment}
		if r.ticket == id && r.valid() && !seen[c] {
			seen[c] = true
			order = append([]content{c}, order...)
		}
	}
	lastApplied := map[content]int{}
	for i, u := range h.api.History(id) {
		lastApplied[content{u.Item["sub_status"], u.Item["queue"], u.Item["comment"]}] = i + 1
	}
	prev := 0
	for _, c := range order {
		at := lastApplied[c]
		if at <= prev {
			return false
		}
		prev = at
	}
	return true
}

func (h *history) anyRepeated(id string) bool {
	for _, r := range h.rows {
		if r.ticket == id && h.repeated[r.comment] {
			return true
		}
	}
	return false
}

// ticketStory tells a ticket's rows in the input and its results, for a
// failure message.
func (h *history) ticketStory(id string) string {
	var b strings.Builder
	for i, r := range h.rows {
		if r.ticket == id {
			fmt.Fprintf(&b, "  input row %d (line %d): %+v\n", i, i+2, r)
		}
	}
	for i, l := range h.resultLines() {
		if strings.Contains(l, id) || (i > 0 && strings.Contains(l, "7.13517E+11")) {
			fmt.Fprintf(&b, "  result %d: %s\n", i, l)
		}
	}
	for _, u := range h.api.History(id) {
		fmt.Fprintf(&b, "  applied by request %d: %s %s\n", u.Request, u.Item["sub_status"], u.Item["comment"])
	}
	return b.String()
}

// checkResults asserts that every valid row's latest result (by key) is
// success for a ticket the API knows and failed for one it refuses, and
// that every invalid row has an invalid result at its line.
func (h *history) checkResults() {
	t := h.t
	latest := map[string]writer.Row{}
	invalidAt := map[int]bool{}
	f, err := os.Open(h.results)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = writer.ReadRows(f, h.results, func(r writer.Row) error {
		if r.KeyOK {
			latest[r.Key.String()] = r
		}
		if r.Status == writer.StatusInvalid {
			invalidAt[r.Line] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := reader.Open(mustOpen(t, h.input), reader.Options{Name: h.input})
	if err != nil {
		t.Fatal(err)
	}
	err = resume.Walk(rd, 0, nil, func(row *resume.Row) error {
		if row.Invalid != "" {
			if !invalidAt[row.Line] {
				t.Errorf("invalid line %d has no invalid result", row.Line)
			}
			return nil
		}
		want := writer.StatusSuccess
		if !strings.HasPrefix(row.TicketID, "7") {
			want = writer.StatusFailed
		}
		if got, ok := latest[row.Key.String()]; !ok || got.Status != want {
			t.Errorf("line %d (ticket %s): latest result %+v (found %v), want %s", row.Line, row.TicketID, got, ok, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkForeign asserts what a refused resume claims: no row of the input
// sends what a successful result of the file records (or, in a file
// where nothing succeeded, a failed one).
func (h *history) checkForeign() {
	done, failed := map[string]bool{}, map[string]bool{}
	f := mustOpen(h.t, h.results)
	writer.ReadRows(f, h.results, func(r writer.Row) error {
		switch {
		case r.KeyOK && r.Status == writer.StatusSuccess:
			done[r.Key.String()] = true
		case r.KeyOK:
			failed[r.Key.String()] = true
		}
		return nil
	})
	if len(done) == 0 {
		done = failed
	}
	rd, err := reader.Open(mustOpen(h.t, h.input), reader.Options{Name: h.input})
	if err != nil {
		h.t.Fatal(err)
	}
	resume.Walk(rd, 0, nil, func(row *resume.Row) error {
		if row.Invalid == "" && done[row.Key.String()] {
			h.t.Fatalf("resume refused the results file as another input's, but line %d matches a row it records", row.Line)
		}
		return nil
	})
	h.log = append(h.log, "refused as another input's: overwrite")
}

func mustOpen(t *testing.T, path string) *os.File {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
