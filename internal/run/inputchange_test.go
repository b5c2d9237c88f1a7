package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/syncstate"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestSyncLimitJudgedAgainstWholeExport: a canary night (a limit) of a
// sync job never moves a ticket with a row past the limit: its rows within
// it are unchanged when the state holds its last row, held back (no
// result, counted, nothing recorded in the state) otherwise, and held back
// by a full run whatever the state holds. A ticket without such a row is
// decided as without a limit.
func TestSyncLimitJudgedAgainstWholeExport(t *testing.T) {
	const one, two = "713516000001", "713516000002"
	export := func(sub2, last1 string) string {
		return fmt.Sprintf("ticket_id,sub_status\n%s,P\n%s,%s\n%s,%s\n", one, two, sub2, one, last1)
	}
	for _, tt := range []struct {
		name                      string
		night2                    string
		full                      bool
		unchanged, heldBack, sent int64
		two                       string // what ticket two holds after night 2
		resultLines               []int  // lines night 2's results record
	}{
		{name: "same export", night2: export("P", "CL"), unchanged: 2, two: "P", resultLines: []int{2, 3}},
		{name: "changed export", night2: export("CL", "PS"), heldBack: 1, sent: 1, two: "CL", resultLines: []int{3}},
		{name: "full", night2: export("P", "CL"), full: true, heldBack: 1, sent: 1, two: "P", resultLines: []int{3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := kapturetest.NewServer(t, kapturetest.Options{})
			dir := t.TempDir()
			in, state := filepath.Join(dir, "export.csv"), filepath.Join(dir, "job.state")
			cfg := func(results string) Config {
				return Config{
					Input: in, Reader: reader.Options{Name: in}, Results: filepath.Join(dir, results), Mode: writer.Create,
					Engine: batch.Config{BaseURL: srv.URL, Token: kapturetest.DefaultToken, BatchSize: 1, Workers: 1},
					Sync:   Sync{State: state},
				}
			}
			writeFile(t, dir, "export.csv", export("P", "CL"))
			if err := Run(context.Background(), cfg("1.csv"), nil); err != nil {
				t.Fatalf("night 1: %v", err)
			}
			before, held := len(srv.History(one)), stateEntry(t, state, one)

			writeFile(t, dir, "export.csv", tt.night2)
			c := cfg("2.csv")
			c.Limit, c.Sync.Full = 2, tt.full
			var stats Stats
			if err := Run(context.Background(), c, &stats); err != nil {
				t.Fatalf("night 2: %v", err)
			}
			s := stats.Snapshot()
			if s.Unchanged != tt.unchanged || s.HeldBack != tt.heldBack || s.Success != tt.sent || s.Read != 2 {
				t.Errorf("night 2: read %d, unchanged %d, held back %d, success %d; want 2, %d, %d, %d",
					s.Read, s.Unchanged, s.HeldBack, s.Success, tt.unchanged, tt.heldBack, tt.sent)
			}
			if got, _ := srv.State(one); len(srv.History(one)) != before || got["sub_status"] != "CL" {
				t.Errorf("ticket %s was moved by the canary night: holds %v after %d updates, want CL after %d",
					one, got, len(srv.History(one)), before)
			}
			if got, _ := srv.State(two); got["sub_status"] != tt.two {
				t.Errorf("ticket %s holds %v, want %s", two, got, tt.two)
			}
			if after := stateEntry(t, state, one); after != held {
				t.Errorf("the state's entry of ticket %s went from %+v to %+v", one, held, after)
			}
			var lines []int
			if err := writer.ReadRows(mustOpen(t, c.Results), c.Results, func(r writer.Row) error {
				lines = append(lines, r.Line)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(lines) != fmt.Sprint(tt.resultLines) {
				t.Errorf("results record lines %v, want %v", lines, tt.resultLines)
			}
		})
	}
}

// stateEntry returns what the sync state at path holds for ticket.
func stateEntry(t *testing.T, path, ticket string) syncstate.Entry {
	t.Helper()
	st, err := syncstate.Open(path, syncstate.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, _, err := st.Get(ticket)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestInputCutWhileSending: an input cut short in place once sending has
// begun ends the run with ErrInputChanged, naming how many rows it read
// and how many a read before sending found, whatever that read was (the
// syntax check, a strict run's scan, a resume's index, a sync run's plan);
// a run whose limit the main read reached before the cut took what it was
// to take.
func TestInputCutWhileSending(t *testing.T) {
	const rows, kept = 3000, 10
	pad := strings.Repeat("x", 200) // a column not sent: past what the reader holds ahead
	var b strings.Builder
	b.WriteString("ticket_id,sub_status,note\n")
	cut := 0
	for i := range rows {
		if i == kept {
			cut = b.Len()
		}
		fmt.Fprintf(&b, "7135166%05d,CL,%s\n", i, pad)
	}
	for _, tt := range []struct {
		name    string
		tune    func(*Config)
		resume  bool // after a run of the first 100 rows
		changed bool
	}{
		{name: "plain", changed: true},
		{name: "strict", tune: func(c *Config) { c.Strict = true }, changed: true},
		{name: "resume", resume: true, changed: true},
		{name: "sync", tune: func(c *Config) { c.Sync.State = c.Results + ".state" }, changed: true},
		{name: "sync full", tune: func(c *Config) { c.Sync = Sync{State: c.Results + ".state", Full: true} }, changed: true},
		{name: "limit past the cut", tune: func(c *Config) { c.Limit = 2000 }, changed: true},
		{name: "limit within what was read", tune: func(c *Config) { c.Limit = kept / 2 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := kapturetest.NewServer(t, kapturetest.Options{})
			dir := t.TempDir()
			in := writeFile(t, dir, "in.csv", b.String())
			c := config(in, filepath.Join(dir, "r.csv"), srv.URL)
			c.Engine.BatchSize, c.Engine.Workers = 50, 2
			if tt.tune != nil {
				tt.tune(&c)
			}
			if tt.resume {
				first := c
				first.Limit = 100
				if err := Run(context.Background(), first, nil); err != nil {
					t.Fatal(err)
				}
				c.Mode = writer.Resume
			}
			c.OnStart = func() {
				if err := os.Truncate(in, int64(cut)); err != nil {
					t.Error(err)
				}
			}
			var stats Stats
			err := Run(context.Background(), c, &stats)
			read := stats.Snapshot().Read
			if !tt.changed {
				if err != nil || read != int64(c.Limit) {
					t.Fatalf("%v after %d rows; want nil after %d", err, read, c.Limit)
				}
				return
			}
			if !errors.Is(err, ErrInputChanged) {
				t.Fatalf("%v after %d rows; want ErrInputChanged", err, read)
			}
			if read >= rows {
				t.Fatalf("%d rows read of a file cut to %d", read, kept)
			}
			for _, want := range []string{in, fmt.Sprintf("after %d rows", read), fmt.Sprintf("found %d", rows)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("no %q in %q", want, err)
				}
			}
		})
	}
}

// TestSyncExportReplacedDuringNight: an export replaced (renamed over)
// after the run opened it is still the run's input for its plan too. The
// replacement ends every ticket with the row the state holds, and has
// tonight's row before it: a plan of it would take every ticket as
// unchanged and record tonight's rows so; the run must send them.
func TestSyncExportReplacedDuringNight(t *testing.T) {
	api := newFakeAPI(t, 1, kapturetest.ReplyArray, 0)
	dir := t.TempDir()
	state, in := filepath.Join(dir, "job.state"), filepath.Join(dir, "export.csv")
	// An export with a column not sent, and each ticket's rows' sub_status.
	write := func(path string, subs ...string) {
		b := []byte("ticket_id,sub_status,note\n")
		for i := range 200 {
			for _, sub := range subs {
				b = fmt.Appendf(b, "7135165%05d,%s,x\n", i, sub)
			}
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := func(results string, log *slog.Logger) Config {
		return Config{
			Input: in, Reader: reader.Options{Name: in}, Results: filepath.Join(dir, results), Mode: writer.Create, Log: log,
			Engine: batch.Config{BaseURL: api.URL, Token: kapturetest.DefaultToken, Workers: 2, BatchSize: 10, Timeout: modelTimeout},
			Sync:   Sync{State: state},
		}
	}
	write(in, "P")
	if err := Run(context.Background(), cfg("1.csv", nil), nil); err != nil {
		t.Fatal(err)
	}
	write(in, "CL")
	write(in+".new", "CL", "P")
	// The run logs its first line (the column it does not send) once it
	// has opened the input and before it plans: the export is replaced
	// then.
	var first string
	log := slog.New(&onFirstRecord{fn: func(r slog.Record) {
		first = r.Message
		if err := os.Rename(in+".new", in); err != nil {
			t.Error(err)
		}
	}})
	var stats Stats
	if err := Run(context.Background(), cfg("2.csv", log), &stats); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first, "columns not sent") {
		t.Fatalf("the export was replaced at %q, not before the plan", first)
	}
	if s := stats.Snapshot(); s.Unchanged != 0 || s.Success != 200 {
		t.Errorf("%d unchanged, %d success; want every changed ticket sent", s.Unchanged, s.Success)
	}
	for i := range 200 {
		if got, _ := api.State(fmt.Sprintf("7135165%05d", i)); got["sub_status"] != "CL" {
			t.Fatalf("ticket %d holds %v, want CL", i, got)
		}
	}
}

// onFirstRecord is a log handler that calls fn with the first record.
type onFirstRecord struct {
	once sync.Once
	fn   func(slog.Record)
}

func (h *onFirstRecord) Enabled(context.Context, slog.Level) bool { return true }
func (h *onFirstRecord) Handle(_ context.Context, r slog.Record) error {
	h.once.Do(func() { h.fn(r) })
	return nil
}
func (h *onFirstRecord) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *onFirstRecord) WithGroup(string) slog.Handler      { return h }
