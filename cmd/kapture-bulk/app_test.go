package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

func TestParseArgsAcceptsFlagsAfterInput(t *testing.T) {
	tests := []struct {
		args    []string
		pos     []string
		workers int
	}{
		{[]string{"--workers", "3", "in.csv"}, []string{"in.csv"}, 3},
		{[]string{"in.csv", "--workers", "7"}, []string{"in.csv"}, 7},
		{[]string{"-", "--workers=2"}, []string{"-"}, 2},
		{[]string{"--", "--odd-name.csv"}, []string{"--odd-name.csv"}, 4},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		w := fs.Int("workers", 4, "")
		pos, err := parseArgs(fs, tt.args)
		if err != nil {
			t.Fatalf("parseArgs(%q): %v", tt.args, err)
		}
		if fmt.Sprint(pos) != fmt.Sprint(tt.pos) || *w != tt.workers {
			t.Errorf("parseArgs(%q) = %q, workers %d; want %q, %d", tt.args, pos, *w, tt.pos, tt.workers)
		}
	}
}

func TestDefaultResults(t *testing.T) {
	for in, want := range map[string]string{
		"updates.csv":      "updates.results.csv",
		"dir/Updates.CSV":  "dir/Updates.results.csv",
		"export.txt":       "export.txt.results.csv",
		"no-extension":     "no-extension.results.csv",
		"a.csv.backup.csv": "a.csv.backup.results.csv",
	} {
		if got := defaultResults(in); got != want {
			t.Errorf("defaultResults(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{flag.ErrHelp, exitOK},
		{usagef("bad flag"), exitUsage},
		{&reader.FileError{Name: "x.csv", Line: 3, Msg: "unclosed quote"}, exitUsage},
		{fmt.Errorf("open: %w", writer.ErrExists), exitUsage},
		{fmt.Errorf("x: %w", writer.ErrNotResults), exitUsage},
		{fmt.Errorf("x: %w", writer.ErrLocked), exitAborted},
		{fmt.Errorf("%w: Invalid Auth Key", batch.ErrAuth), exitAborted},
		{fmt.Errorf("%w: 5 payloads", batch.ErrAPIDown), exitAborted},
		{withCode(exitInterrupted, errSilent), exitInterrupted},
		{withCode(exitRowsFailed, errSilent), exitRowsFailed},
		{errors.New("disk full"), exitAborted},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if got := report(tt.err, &buf); got != tt.want {
			t.Errorf("report(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if errors.Is(tt.err, errSilent) && buf.Len() > 0 {
			t.Errorf("report(%v) printed %q for a silent error", tt.err, buf.String())
		}
	}
}

func TestLoadTokenNeverShowsIt(t *testing.T) {
	dir := t.TempDir()
	secret := "s3cr3t-token-value"
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("Basic "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadToken(path, func(string) string { return "" })
	if err != nil || got != "Basic "+secret {
		t.Fatalf("loadToken = %q, %v", got, err)
	}
	got, err = loadToken("", func(k string) string {
		if k == "KAPTURE_API_TOKEN" {
			return " " + secret + " "
		}
		return ""
	})
	if err != nil || got != secret {
		t.Fatalf("loadToken from env = %q, %v", got, err)
	}
	if _, err := loadToken("", func(string) string { return "" }); err == nil || exitCode(err) != exitUsage {
		t.Errorf("no token: err = %v, want a usage error", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := loadToken(empty, nil); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("empty token file: err = %v", err)
	}
}

func TestStrictRefusesStdin(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := cli(context.Background(), []string{"run", "--strict", "--results", filepath.Join(t.TempDir(), "r.csv"), "-"}, &env{
		stdin: strings.NewReader("ticket_id,sub_status\n713516551148,CL\n"), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" },
	})
	if code != exitUsage || !strings.Contains(stderr.String(), "--strict") {
		t.Errorf("exit %d, stderr %q; want 2 naming --strict", code, stderr.String())
	}
}

func TestAPIRootFlagsBeatEnvironment(t *testing.T) {
	env := map[string]string{"KAPTURE_BASE_URL": "http://127.0.0.1:9/staging", "KAPTURE_SUBDOMAIN": "envtenant"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		base, sub string
		env       bool
		want      string
		wantErr   bool
	}{
		{sub: "prod", env: true, want: "https://prod.kapturecrm.com"},
		{base: "https://x.example", env: true, want: "https://x.example"},
		{env: true, want: "http://127.0.0.1:9/staging"},
		{env: false, wantErr: true},
		{base: "https://x.example", sub: "prod", wantErr: true},
		{sub: "prod.kapturecrm.com", wantErr: true},
	}
	for _, tt := range tests {
		f := apiFlags{baseURL: tt.base, subdomain: tt.sub}
		g := getenv
		if !tt.env {
			g = func(string) string { return "" }
		}
		got, err := f.apiRoot(g)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("apiRoot(--base-url %q --subdomain %q, env %v) = %q, %v; want %q, error %v", tt.base, tt.sub, tt.env, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBadPathsAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("ticket_id,sub_status\n713516551148,CL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		return map[string]string{"KAPTURE_API_TOKEN": "t", "KAPTURE_BASE_URL": "http://127.0.0.1:9"}[k]
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"results in a missing folder", []string{"run", "--results", filepath.Join(dir, "nope", "r.csv"), in}, "no such file"},
		{"results is a folder", []string{"run", "--results", dir, in}, "results"},
		{"input is a folder", []string{"run", "--results", filepath.Join(dir, "r.csv"), dir}, "is a directory"},
		{"validate a folder", []string{"validate", dir}, "is a directory"},
		{"summary-json in a missing folder", []string{"run", "--summary-json", filepath.Join(dir, "nope", "s.json"), "--results", filepath.Join(dir, "r.csv"), in}, "--summary-json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli(context.Background(), tt.args, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: getenv})
			if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

func TestDryRunResumeCountsWhatWouldBeSent(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("ticket_id,sub_status\n713516551148,CL\n999999999999,CL\n713516551149,P\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		return map[string]string{"KAPTURE_API_TOKEN": kapturetest.DefaultToken}[k]
	}
	exec := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := cli(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: getenv})
		return code, out.String() + errb.String()
	}
	if code, out := exec("run", "--quiet", "--base-url", s.URL, "--rate", "0", in); code != exitRowsFailed {
		t.Fatalf("first run: exit %d: %s", code, out)
	}
	results, _ := os.ReadFile(filepath.Join(dir, "in.results.csv"))
	before := s.Stats().Requests
	code, out := exec("run", "--dry-run", "--resume", in)
	if code != exitOK || !strings.Contains(out, "1 would be sent") || !strings.Contains(out, "2 skipped") {
		t.Errorf("dry run --resume: exit %d, output:\n%s\nwant 1 would be sent, 2 skipped", code, out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "in.results.csv")); !bytes.Equal(after, results) || s.Stats().Requests != before {
		t.Error("the dry run changed the results file or sent requests")
	}
	var sout, serr bytes.Buffer
	code = cli(context.Background(), []string{"run", "--dry-run", "-"}, &env{
		stdin: strings.NewReader("ticket_id,sub_status\n713516551148,CL\n"), stdout: &sout, stderr: &serr, getenv: getenv})
	if out = sout.String() + serr.String(); code != exitOK || !strings.Contains(out, "1 would be sent") {
		t.Errorf("dry run of stdin without --results: exit %d: %s", code, out)
	}
}
