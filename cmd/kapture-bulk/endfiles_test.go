package main

// Tests of what a run leaves for schedulers and collectors however it
// ends: --summary-json and --metrics-file.

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// Every exit once the flags are read writes the summary JSON, with its
// times, version and exit code, in place of an earlier run's; but never
// over a file the run was refused for clashing with.
func TestSummaryJSONOfEveryExit(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	for _, tc := range []struct {
		name    string
		args    []string // "@" is the folder; S the summary JSON, given last
		code    int
		errText string // in the JSON's error; "" for none
	}{
		{"finished", []string{"run", "--base-url", srv.URL, "@/in.csv"}, exitOK, ""},
		{"a flag out of range", []string{"run", "--batch-size", "0", "@/in.csv"}, exitUsage, "--batch-size 0"},
		{"no INPUT", []string{"run"}, exitUsage, "one INPUT"},
		{"two files clash", []string{"run", "--results", "@/in.csv", "@/in.csv"}, exitUsage, "would overwrite INPUT"},
		{"the metrics file cannot be written", []string{"run", "--metrics-file", "@/no/such/folder/m.prom", "@/in.csv"}, exitUsage, "--metrics-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTestFile(t, filepath.Join(dir, "in.csv"), "ticket_id,sub_status\n713516551148,CL\n")
			sj := filepath.Join(dir, "summary.json")
			writeTestFile(t, sj, `{"outcome": "finished", "exit_code": 0, "yesterday": true}`)
			var args []string
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "@", dir))
			}
			before := time.Now().UTC().Truncate(time.Millisecond)
			r := runOps(t, kapturetest.DefaultToken, false, nil, append(args, "--summary-json", sj)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			m := readSummaryJSON(t, sj)
			if m["yesterday"] != nil || m["exit_code"] != float64(tc.code) || m["version"] != version {
				t.Errorf("summary JSON %v: want this run's, exit_code %d, version %q", m, tc.code, version)
			}
			started, err1 := time.Parse(timeLayout, str(m["started_at"]))
			finished, err2 := time.Parse(timeLayout, str(m["finished_at"]))
			if err1 != nil || err2 != nil || started.Before(before) || finished.Before(started) || time.Since(finished) > time.Minute {
				t.Errorf("started_at %v, finished_at %v (%v, %v): want this run's, in order", m["started_at"], m["finished_at"], err1, err2)
			}
			if e := str(m["error"]); !strings.Contains(e, tc.errText) || (tc.errText == "") != (e == "") {
				t.Errorf("error %q, want %q", e, tc.errText)
			}
		})
	}
}

func str(v any) string { s, _ := v.(string); return s }

// The summary JSON of an earlier run is gone before this one sends
// anything: a run killed midway leaves none, never yesterday's.
func TestSummaryJSONOfAnEarlierRunIsRemovedFirst(t *testing.T) {
	dir := t.TempDir()
	sj := filepath.Join(dir, "summary.json")
	writeTestFile(t, sj, `{"version": "dev", "exit_code": 0}`)
	var atFirstRequest error
	srv := kapturetest.NewServer(t, kapturetest.Options{Fail: func(n int, _ []kapturetest.Item) *kapturetest.Fault {
		if n == 1 {
			_, atFirstRequest = os.Stat(sj)
		}
		return nil
	}})
	in, _ := opsInput(t, 3)
	r := runOps(t, kapturetest.DefaultToken, false, nil, "run", "--base-url", srv.URL, "--summary-json", sj, in)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !os.IsNotExist(atFirstRequest) {
		t.Errorf("the earlier summary JSON was still there when the first request left (stat: %v)", atFirstRequest)
	}
}

// metricValue returns the value of the sample of metric name whose labels
// include labels, from the text of a metrics file.
func metricValue(t *testing.T, text, name, labels string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + name + `\{([^}]*)\} (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		if strings.Contains(m[1], labels) {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatalf("%s{%s}: %v", name, m[1], err)
			}
			return v
		}
	}
	t.Fatalf("no %s{%s} in:\n%s", name, labels, text)
	return 0
}

// --metrics-file: the run's rows by status, requests and exit code,
// labelled with the file's name; the last success time is kept across a
// run that fails, even one refused.
func TestMetricsFileKeepsTheLastSuccess(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	mf := filepath.Join(dir, "acme.prom")
	in, _ := opsInput(t, 5, 3)
	read := func() string {
		b, err := os.ReadFile(mf)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	runs := []struct {
		args []string
		code int
	}{
		{[]string{"--results", filepath.Join(dir, "1.csv")}, exitRowsFailed},
		{[]string{"--results", filepath.Join(dir, "2.csv"), "--rows-failed-exit-code", "0"}, exitOK},
		{[]string{"--results", filepath.Join(dir, "3.csv"), "--workers", "0"}, exitUsage},
	}
	var lastOK float64
	for i, rn := range runs {
		args := append([]string{"run", "--base-url", srv.URL, "--metrics-file", mf, in}, rn.args...)
		if r := runOps(t, kapturetest.DefaultToken, false, nil, args...); r.code != rn.code {
			t.Fatalf("run %d: exit %d, want %d\n%s", i+1, r.code, rn.code, r.stderr)
		}
		text := read()
		job := `kapture_job="acme"`
		end := metricValue(t, text, "kapture_bulk_last_run_timestamp_seconds", job)
		if got := metricValue(t, text, "kapture_bulk_exit_code", job); got != float64(rn.code) {
			t.Errorf("run %d: exit_code %v, want %d", i+1, got, rn.code)
		}
		if time.Since(time.UnixMilli(int64(end*1000))) > time.Minute {
			t.Errorf("run %d: last run at %v, want now", i+1, end)
		}
		got := metricValue(t, text, "kapture_bulk_last_success_timestamp_seconds", job)
		switch {
		case rn.code == exitOK:
			lastOK = end
		case i == 0:
			lastOK = 0 // none known yet
		}
		if got != lastOK {
			t.Errorf("run %d: last success %v, want %v", i+1, got, lastOK)
		}
		if i < 2 {
			for status, want := range map[string]float64{"success": 4, "invalid": 1, "failed": 0, "not_sent": 0} {
				if got := metricValue(t, text, "kapture_bulk_rows", `status="`+status+`"`); got != want {
					t.Errorf("run %d: rows %s = %v, want %v", i+1, status, got, want)
				}
			}
			if got := metricValue(t, text, "kapture_bulk_requests", job); got < 1 {
				t.Errorf("run %d: %v requests", i+1, got)
			}
		}
	}
	if _, err := os.Stat(mf + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left (stat: %v)", err)
	}
}
