package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// A known ticket (12 digits starting with 7), an unknown one and an
// invalid ticket_id.
const mixedCSV = "ticket_id,sub_status\n713516551148,CL\n999999999999,CL\nabc,CL\n"

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// config is a run of input against the fake at url, writing results.
func config(input, results, url string) Config {
	name := input
	if input == "-" {
		name = "stdin"
	}
	return Config{
		Input: input, Reader: reader.Options{Name: name},
		Results: results, Mode: writer.Create,
		Engine: batch.Config{BaseURL: url, Token: kapturetest.DefaultToken, BatchSize: 1, Workers: 1},
	}
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func TestRunSendsEveryRowAndCounts(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	cfg := config(writeFile(t, dir, "in.csv", mixedCSV), filepath.Join(dir, "r.csv"), srv.URL)
	starts := 0
	cfg.OnStart = func() { starts++ }
	var stats Stats
	if err := Run(context.Background(), cfg, &stats); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := stats.Snapshot()
	want := Snapshot{Read: 3, Success: 1, Failed: 1, Invalid: 1, Requests: 2, ResultsOpen: true, Sending: true}
	if got.Read != want.Read || got.Success != want.Success || got.Failed != want.Failed || got.Invalid != want.Invalid ||
		got.Requests != want.Requests || got.ResultsOpen != want.ResultsOpen || got.Sending != want.Sending {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if got.InputBytes != int64(len(mixedCSV)) {
		t.Errorf("InputBytes %d, want %d", got.InputBytes, len(mixedCSV))
	}
	if starts != 1 {
		t.Errorf("OnStart called %d times, want 1", starts)
	}
	if n := lines(t, cfg.Results); n != 4 {
		t.Errorf("results file has %d lines, want a header and 3 rows", n)
	}
}

func TestRunRefusesBeforeSending(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", mixedCSV)
	tests := []struct {
		name   string
		change func(*Config)
		is     error            // errors.Is(err, is), when set
		as     func(error) bool // or this
	}{
		{"missing input", func(c *Config) { c.Input = filepath.Join(dir, "nope.csv") }, os.ErrNotExist, nil},
		{"input is a folder", func(c *Config) { c.Input = dir }, nil, func(err error) bool { return strings.Contains(err.Error(), "is a directory") }},
		{"CSV syntax error", func(c *Config) {
			c.Input = writeFile(t, dir, "bad.csv", "ticket_id,sub_status\n\"713516551148,CL\n")
		}, nil, func(err error) bool { var fe *reader.FileError; return errors.As(err, &fe) }},
		{"no ticket_id column", func(c *Config) { c.Input = writeFile(t, dir, "nocol.csv", "id,sub_status\n1,CL\n") },
			nil, func(err error) bool { var fe *reader.FileError; return errors.As(err, &fe) }},
		{"results exist", func(c *Config) {
			c.Results = writeFile(t, dir, "old.results.csv", writer.Header+"\n1,success,x,2,200,1,2026-01-01T00:00:00.000Z,\n")
		},
			writer.ErrExists, nil},
		{"results are not a results file", func(c *Config) {
			c.Results, c.Mode = writeFile(t, dir, "notes.txt", "my notes\n"), writer.Overwrite
		}, writer.ErrNotResults, nil},
		{"plain http to a remote host", func(c *Config) { c.Engine.BaseURL = "http://example.com" },
			nil, func(err error) bool { return strings.Contains(err.Error(), "plain http") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(good, filepath.Join(t.TempDir(), "r.csv"), srv.URL)
			tt.change(&cfg)
			before := srv.Stats().Requests
			var stats Stats
			err := Run(context.Background(), cfg, &stats)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Run = %v, want ErrRefused", err)
			}
			if (tt.is != nil && !errors.Is(err, tt.is)) || (tt.as != nil && !tt.as(err)) {
				t.Errorf("Run = %v: not the error wanted", err)
			}
			if srv.Stats().Requests != before || stats.Snapshot().Sending {
				t.Error("a refused run sent requests")
			}
		})
	}
}

func TestRunResumeOfAnotherInputRefused(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	results := filepath.Join(dir, "r.csv")
	if err := Run(context.Background(), config(writeFile(t, dir, "a.csv", mixedCSV), results, srv.URL), nil); err != nil {
		t.Fatal(err)
	}
	other := "ticket_id,sub_status\n713516551149,P\n713516551150,P\n"
	for _, input := range []string{writeFile(t, dir, "b.csv", other), "-"} {
		t.Run(input, func(t *testing.T) {
			cfg := config(input, results, srv.URL)
			cfg.Mode, cfg.Stdin = writer.Resume, strings.NewReader(other)
			before := srv.Stats().Requests
			err := Run(context.Background(), cfg, nil)
			var fe *ForeignResultsError
			if !errors.As(err, &fe) || !errors.Is(err, ErrRefused) || fe.Rows != 3 {
				t.Fatalf("Run = %v, want a refused *ForeignResultsError of 3 rows", err)
			}
			if srv.Stats().Requests != before {
				t.Error("the refused resume sent requests")
			}
		})
	}
}

func TestRunStrictListsInvalidRows(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", mixedCSV+"x y,CL\n")
	cfg := config(in, filepath.Join(dir, "r.csv"), srv.URL)
	var listed bytes.Buffer
	cfg.Strict, cfg.InvalidOut = true, &listed
	err := Run(context.Background(), cfg, nil)
	var ie *InvalidRowsError
	if !errors.As(err, &ie) || ie.Rows != 2 {
		t.Fatalf("Run = %v, want an *InvalidRowsError of 2 rows", err)
	}
	if !strings.Contains(listed.String(), "2  ticket_id <value> is not a ticket id") || !strings.Contains(listed.String(), in+" lines 4, 5") {
		t.Errorf("the 2 invalid rows are not listed by reason with their lines:\n%s", listed.String())
	}
	if _, err := os.Stat(cfg.Results); !errors.Is(err, os.ErrNotExist) || srv.Stats().Requests != 0 {
		t.Errorf("a refused strict run sent requests or created the results file (stat: %v)", err)
	}
}

func TestRunStoppedBeforeSending(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", mixedCSV)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	closed := make(chan struct{})
	close(closed)
	tests := []struct {
		name string
		ctx  context.Context
		stop chan struct{}
		want error
	}{
		{"soft stop", context.Background(), closed, ErrInterrupted},
		{"context cancelled", cancelled, nil, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(in, filepath.Join(t.TempDir(), "r.csv"), srv.URL)
			cfg.Stop = tt.stop
			if err := Run(tt.ctx, cfg, nil); !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(cfg.Results); !errors.Is(err, os.ErrNotExist) || srv.Stats().Requests != 0 {
				t.Errorf("a stopped run sent requests or created the results file (stat: %v)", err)
			}
		})
	}
}

// A soft stop ends a run whose stdin never ends: the blocked read is
// abandoned, and the rows already sent have their results.
func TestRunSoftStopAbandonsStdin(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := kapturetest.NewServer(t, kapturetest.Options{Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
		select {
		case arrived <- struct{}{}:
		default:
		}
		return nil
	}})
	pr, pw := io.Pipe()
	defer pw.Close()
	cfg := config("-", filepath.Join(t.TempDir(), "r.csv"), srv.URL)
	cfg.Stdin = pr
	stop := make(chan struct{})
	cfg.Stop = stop
	var stats Stats
	ended := make(chan error, 1)
	go func() { ended <- Run(context.Background(), cfg, &stats) }()
	io.WriteString(pw, "ticket_id,sub_status\n713516551148,CL\n") // and no more, nor EOF
	<-arrived
	close(stop)
	if err := <-ended; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run = %v, want ErrInterrupted", err)
	}
	if got := stats.Snapshot(); got.Success != 1 {
		t.Errorf("success %d, want 1: the row in flight must finish and be written", got.Success)
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516551148,CL\n713516551149,CL\nabc,CL\n713516551150,CL\n")
	var out bytes.Buffer
	cfg := Config{
		Input: in, Reader: reader.Options{Name: in}, Results: filepath.Join(dir, "r.csv"),
		DryRun: true, DryRunOut: &out, Engine: batch.Config{BatchSize: 2},
	}
	var stats Stats
	if err := Run(context.Background(), cfg, &stats); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := stats.Snapshot()
	if !got.DryRun || got.Sending || got.Read != 4 || got.WouldSend != 3 || got.Invalid != 1 || got.Payloads != 2 {
		t.Errorf("stats %+v, want a dry run of 4 rows: 3 would be sent in 2 payloads, 1 invalid", got)
	}
	for _, want := range []string{
		"a run would call (no API address given yet", "1  ticket_id <value> is not a ticket id", in + " line 4", "3 would be sent, 1 invalid (would be recorded as invalid",
		"at least 2 payloads of up to 2 rows\n", "the first item of the first payload (of 2 items), from line 2:\n{\n  \"ticket_id\": \"713516551148\"",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "713516551149") {
		t.Errorf("output shows more than the first item:\n%s", out.String())
	}
	if _, err := os.Stat(cfg.Results); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run created the results file (stat: %v)", err)
	}
}

func TestValidateListsInvalidRows(t *testing.T) {
	in := writeFile(t, t.TempDir(), "in.csv", mixedCSV)
	var out bytes.Buffer
	st, err := Validate(in, nil, reader.Options{Name: "in.csv"}, 0, &out, EveryRow)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 3 || st.Invalid != 1 || !strings.HasPrefix(out.String(), "in.csv:4: ") {
		t.Errorf("Validate = %+v, listing %q; want 3 rows, 1 invalid, listed as in.csv:4: ...", st, out.String())
	}
	if _, err := Validate(filepath.Join(t.TempDir(), "nope.csv"), nil, reader.Options{}, 0, &out, Grouped); !errors.Is(err, ErrRefused) {
		t.Errorf("Validate of a missing file = %v, want ErrRefused", err)
	}
}

// A dry run of a resume shows as the first payload the rows the engine
// would be given first, cut by the engine's rule: a row done in the run
// resumed is skipped, and does not end the payload although a later row
// of its ticket is sent.
func TestDryRunResumeFirstPayload(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	results := filepath.Join(dir, "r.csv")
	done := config(writeFile(t, dir, "done.csv", "ticket_id,sub_status\n713516551148,CL\n"), results, srv.URL)
	if err := Run(context.Background(), done, nil); err != nil {
		t.Fatalf("first run: %v", err)
	}
	in := writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516551148,CL\n713516551148,PS\n713516551149,CL\n")
	var out bytes.Buffer
	cfg := Config{
		Input: in, Reader: reader.Options{Name: in}, Results: results, Mode: writer.Resume,
		DryRun: true, DryRunOut: &out, Engine: batch.Config{BatchSize: 5},
	}
	var stats Stats
	if err := Run(context.Background(), cfg, &stats); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if got := stats.Snapshot(); got.WouldSend != 2 || got.Skipped != 1 {
		t.Errorf("stats %+v, want 2 rows would be sent and 1 skipped", got)
	}
	// The dry run shows the first item of the first payload and how many
	// items that payload holds.
	head, body, _ := strings.Cut(out.String(), ", from line 3:\n")
	if !strings.HasSuffix(head, "(of 2 items)") {
		t.Errorf("first payload not said to hold 2 items, from line 3:\n%s", out.String())
	}
	var first map[string]string
	if err := json.Unmarshal([]byte(body), &first); err != nil {
		t.Fatalf("no first item (%v) in:\n%s", err, out.String())
	}
	if got, want := first["ticket_id"]+" "+first["sub_status"], "713516551148 PS"; got != want {
		t.Errorf("first item %q, want %q", got, want)
	}
}

// An input with a header and no data rows is refused before the results
// file is opened, a file and stdin alike, unless AllowEmpty.
func TestRunRefusesAnInputWithoutRows(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	const empty = "ticket_id,sub_status\n\n,\n"
	for _, tt := range []struct {
		name       string
		stdin      bool
		allowEmpty bool
		dryRun     bool
	}{
		{"file", false, false, false},
		{"stdin", true, false, false},
		{"dry run", false, false, true},
		{"file, allowed", false, true, false},
		{"stdin, allowed", true, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := writeFile(t, dir, "in.csv", empty)
			cfg := config(in, filepath.Join(dir, "r.csv"), srv.URL)
			if tt.stdin {
				cfg = config("-", cfg.Results, srv.URL)
				cfg.Stdin = strings.NewReader(empty)
			}
			cfg.AllowEmpty, cfg.DryRun = tt.allowEmpty, tt.dryRun
			err := Run(context.Background(), cfg, nil)
			_, statErr := os.Stat(cfg.Results)
			if tt.allowEmpty {
				if err != nil || statErr != nil {
					t.Errorf("Run = %v, results file: %v; want a run with nothing to do", err, statErr)
				}
				return
			}
			if !errors.Is(err, ErrNoRows) || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), cfg.Reader.Name+": no data rows") {
				t.Errorf("Run = %v, want ErrNoRows (refused) naming %s", err, cfg.Reader.Name)
			}
			if !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("the results file was created (stat: %v)", statErr)
			}
		})
	}
}

// The run tallies the reasons of its failed and invalid results as it
// writes them: masked, grouped and counted.
func TestRunTalliesFailureReasons(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516551148,CL\n999999999991,CL\nabc,CL\n999999999992,CL\nxyz,CL\n999999999993,CL\n")
	var stats Stats
	if err := Run(context.Background(), config(in, filepath.Join(dir, "r.csv"), srv.URL), &stats); err != nil {
		t.Fatal(err)
	}
	got := stats.FailureReasons(5)
	if len(got) != 2 {
		t.Fatalf("reasons %+v, want 2", got)
	}
	if g := got[0]; g.Status != "failed" || g.Count != 3 || !strings.Contains(g.Reason, "<id>") || strings.Contains(g.Reason, "99999999999") || g.ExampleLine < 3 {
		t.Errorf("first reason %+v, want the 3 unknown tickets, masked", g)
	}
	if g := got[1]; g.Status != "invalid" || g.Count != 2 || !strings.Contains(g.Reason, "<value>") || g.ExampleLine != 4 {
		t.Errorf("second reason %+v, want the 2 invalid ticket ids from line 4, masked", g)
	}
	if got := stats.FailureReasons(1); len(got) != 1 {
		t.Errorf("FailureReasons(1) gave %d", len(got))
	}
}
