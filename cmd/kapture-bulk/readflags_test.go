package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
	snap "github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/internal/undo"
)

// The commands that talk to the API take the same API flags, with the
// same defaults and help, and refuse the same values.
func TestAPIFlagsAreTheSameEverywhere(t *testing.T) {
	var api apiFlags
	want := flag.NewFlagSet("api", flag.ContinueOnError)
	api.register(want, false)
	quiet := &env{stdout: io.Discard, stderr: io.Discard}
	sets := map[string]*flag.FlagSet{
		"run":      runFlagSet(&runOptions{env: quiet}),
		"snapshot": snapshotFlagSet(&snapshotOptions{env: quiet}),
		"verify":   verifyFlagSet(&verifyOptions{env: quiet}),
		"probe":    probeFlagSet(&probeOptions{env: quiet}),
	}
	for cmd, fs := range sets {
		want.VisitAll(func(w *flag.Flag) {
			got := fs.Lookup(w.Name)
			switch {
			case got == nil:
				t.Errorf("%s has no --%s", cmd, w.Name)
			case got.DefValue != w.DefValue:
				t.Errorf("%s --%s defaults to %q, want %q", cmd, w.Name, got.DefValue, w.DefValue)
			case strings.Contains(w.Usage, "(env") && !strings.Contains(got.Usage, w.Usage[strings.Index(w.Usage, "(env"):]):
				t.Errorf("%s --%s does not name its environment variable: %q", cmd, w.Name, got.Usage)
			}
		})
		for _, bad := range [][]string{{"--workers", "0"}, {"--rate", "1001"}, {"--timeout", "1ms"}, {"--burst", "0"}, {"--max-retries", "101"}} {
			args := append(append([]string{cmd, "--base-url", "http://127.0.0.1:9"}, bad...), "in.csv")
			if cmd == "probe" {
				args[len(args)-1] = "713516000001"
			}
			r := runOps(t, kapturetest.DefaultToken, false, nil, args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, bad[0]) {
				t.Errorf("%s %s %s: exit %d, stderr %q; want 2 naming the flag", cmd, bad[0], bad[1], r.code, r.stderr)
			}
		}
	}
}

// A names file with a pair twice, or a key with two names, is refused by
// every command that takes one (exit 2), naming the file, line and column.
func TestNamesFileRefusedEverywhere(t *testing.T) {
	dir := t.TempDir()
	in, _ := readInput(t, dir, 1, "CL")
	snapPath := filepath.Join(dir, "snap.csv")
	os.WriteFile(snapPath, []byte(snap.Header+"\n713516000001,true,,,CL,Closed,,,,2025-03-01T09:30:00.000Z,http://127.0.0.1:9\n"), 0o600)
	for _, tt := range []struct{ content, want string }{
		{"kind,key,name\nsub_status,CL,Closed\nsub_status,CL,Closed\n", ":3:2: sub_status CL paired with \"Closed\" twice"},
		{"kind,key,name\nsub_status,CL,Closed\nsub_status,CL,Shut\n", ":3:3: sub_status CL is named \"Shut\" here but \"Closed\" on line 2"},
	} {
		path := filepath.Join(dir, "names.csv")
		os.WriteFile(path, []byte(tt.content), 0o644)
		for _, args := range [][]string{
			{"run", "--dry-run", "--names", path, in},
			{"snapshot", "--base-url", "http://127.0.0.1:9", "--names", path, "--out", filepath.Join(dir, "s2.csv"), in},
			{"verify", "--base-url", "http://127.0.0.1:9", "--names", path, in},
			{"probe", "--base-url", "http://127.0.0.1:9", "--names", path, "713516000001"},
			{"undo", "--snapshot", snapPath, "--names", path, "--out", filepath.Join(dir, "r.csv")},
		} {
			r := runOps(t, kapturetest.DefaultToken, false, nil, args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, path+tt.want) {
				t.Errorf("%s: exit %d, stderr %q; want 2 and %q", args[0], r.code, r.stderr, path+tt.want)
			}
		}
	}
}

// The read side's flags of run are checked before anything is sent.
func TestRunReadFlagsChecked(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in, _ := readInput(t, dir, 2, "CL")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--read-batch", "0"}, "--read-batch 0: want 1 to 500"},
		{[]string{"--read-batch", "501"}, "--read-batch 501"},
		{[]string{"--backup", filepath.Join(dir, "in.results.csv")}, "would overwrite"},
		{[]string{"--backup", in}, "would overwrite INPUT"},
		{[]string{"--backup", filepath.Join(dir, "b.csv"), "--dry-run"}, "cannot back any up"},
		{[]string{"--names", filepath.Join(dir, "none.csv")}, "none.csv: no such file"},
	} {
		r := kb(t, srv, append(append([]string{"run"}, tt.args...), in)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("run %q: exit %d, stderr %q; want 2 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	if st := srv.Stats(); st.Requests+st.Reads != 0 {
		t.Errorf("%d requests sent", st.Requests+st.Reads)
	}
}

// Rows the API said it applied while its reply showed the ticket holding
// another sub-status are counted apart, alike in the summary (text and
// JSON), the metrics file and report; --reply-check=false takes them as
// success.
func TestNotAppliedCountedApart(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{KeepSubStatus: 1})
	dir := t.TempDir()
	in, ids := readInput(t, dir, 12, "CL")
	moved := 0
	for _, id := range ids {
		if kt, _ := srv.Ticket(id); kt.SubStatus.Key != "CL" {
			moved++
		}
	}
	if moved == 0 || moved == len(ids) {
		t.Fatalf("%d of %d tickets would move: the test needs some of each", moved, len(ids))
	}
	sj, prom := filepath.Join(dir, "s.json"), filepath.Join(dir, "job.prom")
	r := kb(t, srv, "run", "--summary-json", sj, "--metrics-file", prom, in)
	if r.code != exitRowsFailed || !strings.Contains(r.stderr, fmt.Sprintf("%d failed (%d of them not applied", moved, moved)) {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	checkSummaryJSON(t, readSummaryJSON(t, sj), map[string]any{"failed": moved, "not_applied": moved})
	metrics := fileText(t, prom)
	for _, want := range []string{fmt.Sprintf(`status="not_applied"} %d`, moved), `status="failed"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
	r = runOps(t, "", false, nil, "report", "--json", filepath.Join(dir, "in.results.csv"))
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || fmt.Sprint(rep["not_applied"]) != fmt.Sprint(moved) {
		t.Errorf("report --json: not_applied %v, want %d (%v)\n%s", rep["not_applied"], moved, err, r.stdout)
	}
	r = kb(t, srv, "run", "--reply-check=false", "--results", filepath.Join(dir, "off.results.csv"), "--summary-json", sj, in)
	if r.code != exitOK {
		t.Fatalf("--reply-check=false: exit %d\n%s", r.code, r.stderr)
	}
	checkSummaryJSON(t, readSummaryJSON(t, sj), map[string]any{"failed": 0, "not_applied": 0})
}

// A reply no read can take and the read side's refused files are exit 2;
// a read that keeps failing is 3.
func TestReadSideExitCodes(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("the backup read failed: %w", &batch.ReadShapeError{HTTPStatus: 200, Want: "an array", Got: "{}"}), exitUsage},
		{fmt.Errorf("--out: %w", snap.ErrOtherAPI), exitUsage},
		{fmt.Errorf("x: %w", snap.ErrNotSnapshot), exitUsage},
		{fmt.Errorf("x: %w", keynames.ErrOtherAPI), exitUsage},
		{fmt.Errorf("x: %w", undo.ErrOtherTickets), exitUsage},
		{fmt.Errorf("x: %w", undo.ErrOtherTenant), exitUsage},
		{fmt.Errorf("%w: a Get Ticket request gave up after 6 attempts", batch.ErrAPIDown), exitAborted},
		{errors.New("the Get Ticket API refused the read: Missing ticket ids"), exitAborted},
	} {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// A private file stays private though a crash left its temporary file
// readable by others.
func TestPrivateAtomicFileOverAStaleTemporaryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verify.csv")
	if err := os.WriteFile(tmpPath(path), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(path, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}
