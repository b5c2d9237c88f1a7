package main

// End-to-end tests of --sync-state, in process (the night killed with the
// binary): nights of a nightly job against one fake, each night's export a
// little different.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

const wantUnchanged = "unchanged"

// syncExport is a nightly export: n tickets with one row, 30 with two
// (the last wins), and 3 the API refuses.
func syncExport(n int) []row {
	var rows []row
	for i := range n {
		rows = append(rows, row{TicketID: ticket(i), SubStatus: "P", Queue: "Q1", Comment: fmt.Sprintf("night 1 row %d", i), want: wantSuccess})
		if i%(n/30) == 0 {
			rows = append(rows, row{TicketID: ticket(i), SubStatus: "CL", Queue: "Q2", Comment: fmt.Sprintf("night 1 row %d, second", i), want: wantSuccess})
		}
	}
	for i := range 3 {
		rows = append(rows, row{TicketID: fmt.Sprintf("99990000000%d", i), SubStatus: "CL", want: wantFailed})
	}
	return rows
}

// syncNight is one night's run of in against s with the state at state.
type syncNight struct {
	code    int
	results string
	summary syncSummary
	sent    map[string]bool // tickets that reached the fake
}

type syncSummary struct {
	Results   string `json:"results"`
	Success   int    `json:"success"`
	Failed    int    `json:"failed"`
	Unchanged int    `json:"unchanged"`
	ExitCode  int    `json:"exit_code"`
}

func syncArgs(s *kapturetest.Server, state, in string, extra ...string) []string {
	args := []string{"run", "--base-url", s.URL, "--rate", "0", "--workers", "3", "--batch-size", "20", "--sync-state", state}
	return append(append(args, extra...), in)
}

func runNight(t *testing.T, s *kapturetest.Server, rec *recorder, state, in string, extra ...string) syncNight {
	t.Helper()
	sum := filepath.Join(t.TempDir(), "summary.json")
	rec.mark()
	p := runCmd(t, runOpts{}, syncArgs(s, state, in, append(extra, "--summary-json", sum)...)...)
	n := syncNight{code: p.code, sent: map[string]bool{}}
	b, err := os.ReadFile(sum)
	if err != nil {
		t.Fatalf("summary: %v\n%s", err, p.stderr.String())
	}
	if err := json.Unmarshal(b, &n.summary); err != nil {
		t.Fatal(err)
	}
	n.results = n.summary.Results
	for _, it := range rec.items() {
		n.sent[it["ticket_id"]] = true
	}
	return n
}

// checkSyncState asserts that every ticket the API knows holds its last
// row of the export.
func checkSyncState(t *testing.T, s *kapturetest.Server, rows []row) {
	t.Helper()
	last := map[string]row{}
	for _, r := range rows {
		if r.want != wantFailed && r.want != wantInvalid {
			last[r.TicketID] = r
		}
	}
	for id, r := range last {
		st, ok := s.State(id)
		if !ok || st["sub_status"] != r.SubStatus || st["queue"] != r.Queue || st["comment"] != r.Comment {
			t.Errorf("ticket %s: holds %v, want its last row (line %d: %s %s %q)", id, st, r.line, r.SubStatus, r.Queue, r.Comment)
		}
	}
	if st := s.Stats(); st.OrderViolations != 0 {
		t.Errorf("%d order violations: %v", st.OrderViolations, st.ViolationExamples)
	}
}

// expect sets each row's expected status: its ticket's rows are sent when
// the ticket is in send (or refused by the API), else unchanged.
func expect(rows []row, send map[string]bool) (want map[string]bool) {
	want = map[string]bool{}
	for i := range rows {
		r := &rows[i]
		switch {
		case strings.HasPrefix(r.TicketID, "9"):
			r.want = wantFailed
			want[r.TicketID] = true
		case send[r.TicketID]:
			r.want = wantSuccess
			want[r.TicketID] = true
		default:
			r.want = wantUnchanged
		}
	}
	return want
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// TestSyncNights: night 1 sends all; night 2, 1% of rows changed and 10
// new tickets, sends exactly those (and the tickets the API refused,
// again) and records the rest unchanged; a night killed with SIGKILL (a
// second run on the locked state meanwhile exits 3), then a night whose
// export puts some tickets back as they were before it, leave every ticket
// in its last row; --full sends everything.
func TestSyncNights(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := newFake(t, kapturetest.Options{Fail: rec.fail})
	dir := t.TempDir()
	state := filepath.Join(dir, "job.state")
	rows := syncExport(1000)
	in := writeInput(t, dir, "export.csv", rows)

	n1 := runNight(t, s, rec, state, in)
	if n1.code != 1 || n1.summary.Success+n1.summary.Failed != len(rows) || n1.summary.Unchanged != 0 {
		t.Fatalf("night 1: exit %d, %+v; want exit 1 (refused tickets), all %d rows sent", n1.code, n1.summary, len(rows))
	}
	if filepath.Dir(n1.results) != filepath.Join(dir, "results") {
		t.Errorf("night 1 results %s: want a file in %s", n1.results, filepath.Join(dir, "results"))
	}
	checkEveryLine(t, rows, readResults(t, n1.results))

	// Night 2: every 100th row changed, 10 new tickets.
	changed := map[string]bool{}
	for i := 5; i < len(rows)-3; i += 100 {
		rows[i].SubStatus, rows[i].Comment = "PS", rows[i].Comment+" (changed)"
		changed[rows[i].TicketID] = true
	}
	for i := range 10 {
		rows = append(rows, row{TicketID: ticket(5000 + i), SubStatus: "P", Comment: "new"})
		changed[ticket(5000+i)] = true
	}
	want := expect(rows, changed)
	in = writeInput(t, dir, "export.csv", rows)
	n2 := runNight(t, s, rec, state, in)
	if n2.code != 1 {
		t.Errorf("night 2: exit %d, want 1", n2.code)
	}
	if !sameSet(n2.sent, want) {
		t.Errorf("night 2 sent tickets %v,\nwant %v", slices.Sorted(maps.Keys(n2.sent)), slices.Sorted(maps.Keys(want)))
	}
	if n2.results == n1.results {
		t.Errorf("night 2 wrote night 1's results file %s", n1.results)
	}
	checkEveryLine(t, rows, readResults(t, n2.results))
	checkSyncState(t, s, rows)
	before := slices.Clone(rows) // the export the state holds

	// Night 3 is killed with requests in flight, after a second run on
	// the locked state was refused.
	for i := 7; i < len(rows)-13; i += 5 {
		rows[i].SubStatus, rows[i].Comment = "CL", rows[i].Comment+" (night 3)"
	}
	in = writeInput(t, dir, "export.csv", rows)
	resultsBefore := listDir(t, filepath.Join(dir, "results"))
	p := startBin(t, runOpts{}, syncArgs(s, state, in, "--rate", "20", "--batch-size", "2")...) // to be killed
	var night3 string
	waitFor(t, "night 3's first results", 30*time.Second, func() bool {
		for _, f := range listDir(t, filepath.Join(dir, "results")) {
			if !slices.Contains(resultsBefore, f) && strings.HasSuffix(f, ".results.csv") { // not its journal
				night3 = filepath.Join(dir, "results", f)
			}
		}
		b, _ := os.ReadFile(night3)
		return night3 != "" && strings.Count(string(b), ",success,") >= 20
	})
	second := runCmd(t, runOpts{}, syncArgs(s, state, in)...)
	wantCode(t, second, 3)
	if !strings.Contains(second.stderr.String(), state) || !strings.Contains(second.stderr.String(), "locked") {
		t.Errorf("second run's message does not name the locked state %s:\n%s", state, second.stderr.String())
	}
	p.signal(t, syscall.SIGKILL)
	p.wait(t)

	// Night 4: half the tickets night 3 changed are put back as the state
	// holds them; those night 3 applied must be sent again. It records in
	// night 3's results the rows night 3 left in flight, and removes its
	// journal.
	for i := 7; i < len(rows)-13; i += 10 {
		rows[i] = before[i]
	}
	in = writeInput(t, dir, "export.csv", rows)
	// What report says of night 3 (its counts, the journal's rows among
	// them), before and after night 4.
	report3 := func() string {
		out := runCmd(t, runOpts{}, "report", night3).stdout.String()
		return strings.SplitN(out, "\n", 2)[0]
	}
	before3 := report3()
	n4 := runNight(t, s, rec, state, in)
	if _, err := os.Stat(night3 + ".inflight"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("night 3's in-flight journal is still there after night 4: %v", err)
	}
	if after := report3(); after != before3 {
		t.Errorf("report of night 3 said %q, and after night 4 %q", before3, after)
	}
	if n4.code != 1 || n4.summary.Failed != 3 {
		t.Errorf("night 4: exit %d, %d failed; want 1, the 3 refused", n4.code, n4.summary.Failed)
	}
	fin4 := latest(readResults(t, n4.results))
	for i := range rows {
		if rows[i].want != wantFailed {
			rows[i].want = fin4[rows[i].line].Status
		}
	}
	checkSyncState(t, s, rows)
	t.Logf("night 4 sent %d tickets, %d rows unchanged", len(n4.sent), n4.summary.Unchanged)

	// --full sends every row.
	n5 := runNight(t, s, rec, state, in, "--full")
	all := map[string]bool{}
	for _, r := range rows {
		all[r.TicketID] = true
	}
	if !sameSet(n5.sent, all) || n5.summary.Success+n5.summary.Failed != len(rows) || n5.summary.Unchanged != 0 {
		t.Errorf("--full: %d of %d tickets sent, %+v; want every row sent", len(n5.sent), len(all), n5.summary)
	}
	refused := expect(rows, map[string]bool{})
	n6 := runNight(t, s, rec, state, in)
	if !sameSet(n6.sent, refused) || n6.summary.Unchanged != len(rows)-3 {
		t.Errorf("after --full: sent %v, %d unchanged; want only the 3 refused sent", slices.Sorted(maps.Keys(n6.sent)), n6.summary.Unchanged)
	}
	checkEveryLine(t, rows, readResults(t, n6.results))
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestSyncStateCommands: show, export and stats of a state after a night.
func TestSyncStateCommands(t *testing.T) {
	t.Parallel()
	s := newFake(t, kapturetest.Options{})
	dir := t.TempDir()
	state := filepath.Join(dir, "job.state")
	rows := syncExport(60)
	in := writeInput(t, dir, "export.csv", rows)
	wantCode(t, runCmd(t, runOpts{}, syncArgs(s, state, in)...), 1)

	p := runCmd(t, runOpts{}, "state", "show", "--sync-state", state, ticket(1), "999900000000", "700000000000")
	wantCode(t, p, 0)
	out := p.stdout.String()
	for _, want := range []string{ticket(1) + ": applied ", "999900000000: its last row failed", "700000000000: not in the state"} {
		if !strings.Contains(out, want) {
			t.Errorf("state show: no %q in\n%s", want, out)
		}
	}
	p = runCmd(t, runOpts{}, "state", "export", "--sync-state", state)
	wantCode(t, p, 0)
	lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
	if lines[0] != "ticket_id,fingerprint,last_applied,status" || len(lines) != 1+60+3 {
		t.Errorf("state export: header %q, %d lines; want 64", lines[0], len(lines))
	}
	// The fingerprint is the results file's, for the ticket's last row.
	night, err := filepath.Glob(filepath.Join(dir, "results", "*.results.csv")) // not its .api
	if err != nil || len(night) != 1 {
		t.Fatalf("results files %q, %v", night, err)
	}
	res := readResults(t, night[0])
	fp := map[string]string{}
	for _, r := range res {
		if r.Status == wantSuccess {
			fp[r.TicketID] = r.Fingerprint // written in file order per ticket: the last wins
		}
	}
	for _, l := range lines[1:] {
		c := strings.Split(l, ",")
		if c[3] == "applied" && fp[c[0]] != c[1] {
			t.Errorf("state export: %s has fingerprint %s, the results say %s", c[0], c[1], fp[c[0]])
		}
	}
	p = runCmd(t, runOpts{}, "state", "stats", "--sync-state", state)
	wantCode(t, p, 0)
	if !strings.Contains(p.stdout.String(), "tickets: 63: 60 applied, 3 failed, 0 unknown") {
		t.Errorf("state stats:\n%s", p.stdout.String())
	}
	for _, args := range [][]string{
		{"state"}, {"state", "show", "--sync-state", state}, {"state", "nope", "--sync-state", state},
		{"state", "stats"}, {"run", "--full", in}, {"run", "--sync-state", state, "--resume", in},
		{"run", "--sync-state", state, "-"},
	} {
		wantCode(t, runCmd(t, runOpts{}, args...), 2)
	}
}
