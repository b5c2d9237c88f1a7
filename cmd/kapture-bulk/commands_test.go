package main

// Tests of the commands' parsing and configuration alone: each command
// hands its parsed options to the test's runF instead of doing anything.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

func testEnv(vars map[string]string) *env {
	return &env{
		stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{},
		getenv: func(k string) string { return vars[k] },
	}
}

func TestRunCommandParsesWithoutRunning(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error // flag.ErrHelp, or any usage error when errUsage
		check   func(*runOptions) bool
	}{
		{"flags after INPUT", []string{"in.csv", "--workers", "3", "--resume"}, nil,
			func(o *runOptions) bool {
				return o.flags.workers == 3 && o.flags.resume && len(o.args) == 1 && o.args[0] == "in.csv"
			}},
		{"defaults", []string{"in.csv"}, nil,
			func(o *runOptions) bool {
				return o.flags.batchSize == 50 && o.flags.rate == 5 && !o.flags.rateAuto && o.flags.logLevel == "info"
			}},
		{"rate auto", []string{"--rate", "auto", "in.csv"}, nil,
			func(o *runOptions) bool { return o.flags.rateAuto }},
		{"rate number after auto", []string{"--rate", "AUTO", "--rate", "7.5", "in.csv"}, nil,
			func(o *runOptions) bool { return !o.flags.rateAuto && o.flags.rate == 7.5 }},
		{"rate neither", []string{"--rate", "fast", "in.csv"}, errUsage, nil},
		{"two inputs parse; execute refuses them", []string{"a.csv", "b.csv"}, nil,
			func(o *runOptions) bool { return len(o.args) == 2 }},
		{"help", []string{"--help"}, flag.ErrHelp, nil},
		{"unknown flag", []string{"--wrokers", "3", "in.csv"}, errUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *runOptions
			err := cmdRun(context.Background(), tt.args, testEnv(nil), func(_ context.Context, o *runOptions) error {
				got = o
				return nil
			})
			switch {
			case tt.wantErr == errUsage:
				if exitCode(err) != exitUsage || got != nil {
					t.Errorf("err %v (exit %d), runF called: %v; want a usage error and no run", err, exitCode(err), got != nil)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) || got != nil {
					t.Errorf("err %v, runF called: %v; want %v and no run", err, got != nil, tt.wantErr)
				}
			case err != nil || got == nil || !tt.check(got):
				t.Errorf("err %v, options %+v", err, got)
			}
		})
	}
}

// errUsage stands for any error that exits 2.
var errUsage = errors.New("usage error")

func TestRunConfigFromFlagsAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	withToken := map[string]string{"KAPTURE_API_TOKEN": "tok", "KAPTURE_SUBDOMAIN": "acme"}
	tests := []struct {
		name  string
		args  []string
		vars  map[string]string
		check func(t *testing.T, o *runOptions)
	}{
		{"results derived from INPUT; API from the environment", []string{"--resume", in}, withToken, func(t *testing.T, o *runOptions) {
			cfg, err := o.config(nil)
			if err != nil || cfg.Results != filepath.Join(dir, "in.results.csv") || cfg.Mode != writer.Resume ||
				cfg.Engine.BaseURL != "https://acme.kapturecrm.com" || cfg.Engine.Token != "tok" || cfg.Engine.BatchSize != 50 {
				t.Errorf("config = %+v, %v", cfg, err)
			}
		}},
		{"a dry run needs no token", []string{"--dry-run", "--batch-size", "7", "-"}, nil, func(t *testing.T, o *runOptions) {
			cfg, err := o.config(nil)
			if err != nil || !cfg.DryRun || cfg.Input != "-" || cfg.Reader.Name != "stdin" || cfg.Engine.BatchSize != 7 {
				t.Errorf("config = %+v, %v", cfg, err)
			}
		}},
		{"stdin needs --results", []string{"-"}, withToken, func(t *testing.T, o *runOptions) {
			if _, err := o.config(nil); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--results") {
				t.Errorf("err %v, want a usage error naming --results", err)
			}
		}},
		{"no token", []string{in}, map[string]string{"KAPTURE_SUBDOMAIN": "acme"}, func(t *testing.T, o *runOptions) {
			if _, err := o.config(nil); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "KAPTURE_API_TOKEN") {
				t.Errorf("err %v, want a usage error naming KAPTURE_API_TOKEN", err)
			}
		}},
		{"flag values checked", []string{"--workers", "0", in}, withToken, func(t *testing.T, o *runOptions) {
			if err := o.flags.check(); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--workers") {
				t.Errorf("err %v, want a usage error naming --workers", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cmdRun(context.Background(), tt.args, testEnv(tt.vars), func(_ context.Context, o *runOptions) error {
				tt.check(t, o)
				return nil
			})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
		})
	}
}

func TestValidateAndMockCommandsParseWithoutRunning(t *testing.T) {
	var v *validateOptions
	if err := cmdValidate([]string{"x.csv", "--limit", "5", "--delimiter", ";"}, testEnv(nil), func(o *validateOptions) error {
		v = o
		return nil
	}); err != nil || v == nil || v.limit != 5 || v.input.delimiter != ";" || len(v.args) != 1 {
		t.Errorf("validate: err %v, options %+v", err, v)
	}
	var m *mockOptions
	if err := cmdMock(context.Background(), []string{"--addr", "127.0.0.1:0", "--fail-rate", "0.5"}, testEnv(nil), func(_ context.Context, o *mockOptions) error {
		m = o
		return nil
	}); err != nil || m == nil || m.addr != "127.0.0.1:0" || m.failRate != 0.5 {
		t.Errorf("mock: err %v, options %+v", err, m)
	}
	called := false
	err := cmdMock(context.Background(), []string{"extra"}, testEnv(nil), func(context.Context, *mockOptions) error {
		called = true
		return nil
	})
	if exitCode(err) != exitUsage || called {
		t.Errorf("mock with an argument: err %v, runF called %v; want a usage error and no run", err, called)
	}
}

// How a run's end becomes the command's exit code and message.
func TestRunEndsExitCodes(t *testing.T) {
	sending := run.Snapshot{Sending: true}
	tests := []struct {
		name string
		err  error
		snap run.Snapshot
		code int
		msg  string // "" for silent
	}{
		{"every row succeeded", nil, run.Snapshot{Sending: true, Success: 3}, exitOK, ""},
		{"rows failed", nil, run.Snapshot{Sending: true, Success: 2, Failed: 1}, exitRowsFailed, ""},
		{"a dry run found invalid rows", nil, run.Snapshot{DryRun: true, Invalid: 2}, exitRowsFailed, ""},
		{"a dry run found none", nil, run.Snapshot{DryRun: true, Read: 2}, exitOK, ""},
		{"no data rows", fmt.Errorf("in.csv: %w under its header", run.ErrNoRows), run.Snapshot{},
			exitUsage, "in.csv: no data rows under its header: a broken export? Nothing was sent; --allow-empty accepts an input without rows"},
		{"interrupted while sending", run.ErrInterrupted, sending, exitInterrupted, ""},
		{"interrupted before sending", fmt.Errorf("%w before anything was sent", run.ErrInterrupted), run.Snapshot{},
			exitInterrupted, "interrupted before anything was sent"},
		{"strict", &run.InvalidRowsError{Input: "x.csv", Rows: 2}, run.Snapshot{},
			exitRowsFailed, "--strict: 2 invalid rows in x.csv; nothing sent"},
		{"foreign results", &run.ForeignResultsError{Results: "r.csv", Input: "x.csv", Rows: 4}, run.Snapshot{},
			exitUsage, "--resume: r.csv records 4 rows, but none of those done matches a row of x.csv (same ticket and values): it belongs to another input (or every row was edited); give another --results, or --overwrite to start afresh"},
		{"results exist", fmt.Errorf("results file %q: %w", "r.csv", writer.ErrExists), run.Snapshot{},
			exitUsage, `results file "r.csv": exists and is not empty: use --resume to continue that run or --overwrite to start afresh`},
		{"results locked", fmt.Errorf("results file %q: %w", "r.csv", writer.ErrLocked), run.Snapshot{}, exitAborted, "locked"},
		{"authentication", fmt.Errorf("%w: Invalid Auth Key", batch.ErrAuth), sending, exitAborted, "Invalid Auth Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := report(exitStatus(tt.err, tt.snap, exitRowsFailed), &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if got := stderr.String(); (tt.msg == "") != (got == "") || !strings.Contains(got, tt.msg) {
				t.Errorf("stderr %q, want %q", got, tt.msg)
			}
		})
	}
}
