package main

// Tests of the progress an operator sees: the progress lines off a
// terminal, the bar on one, log lines around the bar, repeated warnings
// held back, and the rows-per-second window.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

var progressLine = regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=progress .*rows_per_s=`)

func TestProgressOffTerminal(t *testing.T) {
	t.Parallel()
	// 20 payloads one at a time, 50ms each: the run lasts a second or more.
	srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 50 * time.Millisecond})
	for _, tc := range []struct {
		name     string
		flags    []string
		atLeast1 bool
	}{
		{"every 100ms", []string{"--progress-interval", "100ms"}, true},
		{"quiet", []string{"--quiet", "--progress-interval", "100ms"}, false},
		{"default interval", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, _ := opsInput(t, 20)
			start := time.Now()
			args := append([]string{"run", "--base-url", srv.URL, "--rate", "0", "--workers", "1", "--batch-size", "1"}, tc.flags...)
			r := runOps(t, kapturetest.DefaultToken, false, nil, append(args, in)...)
			elapsed := time.Since(start)
			if r.code != exitOK {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "\r") {
				t.Errorf("stderr is not a terminal but has a carriage return:\n%q", r.stderr)
			}
			n := len(progressLine.FindAllString(r.stderr, -1))
			switch {
			case tc.atLeast1 && n == 0:
				t.Errorf("no progress line in a %v run logging every 100ms:\n%s", elapsed, r.stderr)
			case !tc.atLeast1 && n > 0:
				t.Errorf("%d progress lines, want none:\n%s", n, r.stderr)
			case n > int(elapsed/(100*time.Millisecond))+1:
				t.Errorf("%d progress lines in %v at one per 100ms:\n%s", n, elapsed, r.stderr)
			}
			if !strings.Contains(r.stderr, "kapture-bulk: finished in ") || !strings.Contains(r.stderr, "20 success, 0 failed, 0 invalid") {
				t.Errorf("no summary on stderr:\n%s", r.stderr)
			}
		})
	}
}

func TestBarOnTerminal(t *testing.T) {
	t.Parallel()
	srv := kapturetest.NewServer(t, kapturetest.Options{Latency: 50 * time.Millisecond})
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"file", nil},
		{"limit", []string{"--limit", "15"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, _ := opsInput(t, 20)
			args := append([]string{"run", "--base-url", srv.URL, "--rate", "0", "--workers", "1", "--batch-size", "1"}, tc.flags...)
			r := runOps(t, kapturetest.DefaultToken, true, nil, append(args, in)...)
			if r.code != exitOK {
				t.Fatalf("exit %d\n%q", r.code, r.stderr)
			}
			checkBar(t, r.stderr)
		})
	}
}

// checkBar checks a terminal's stderr: a redrawn bar with a percentage,
// counts and a rate, wiped before the summary.
func checkBar(t *testing.T, out string) {
	t.Helper()
	bar := regexp.MustCompile(`\r +\d+% \|[^|]*\| +\[\d+s\] \d+ rows: \d+ ok, 0 failed, 0 invalid \| [0-9.]+ rows/s`)
	if n := len(bar.FindAllString(out, -1)); n < 2 {
		t.Errorf("want a bar drawn at least twice, found %d:\n%q", n, out)
	}
	if !regexp.MustCompile(`\| [1-9][0-9.]* rows/s`).MatchString(out) {
		t.Errorf("the bar never showed a rate above zero:\n%q", out)
	}
	i := strings.Index(out, "kapture-bulk: finished")
	if i < 0 {
		t.Fatalf("no summary:\n%q", out)
	}
	if strings.Contains(out[i:], "\r\r") || strings.Contains(out[i:], "rows/s\r") {
		t.Errorf("the bar was drawn after the summary:\n%q", out[i:])
	}
	if before := strings.TrimRight(out[:i], " "); !strings.HasSuffix(before, "\r") && !strings.HasSuffix(before, "\n") {
		t.Errorf("the summary does not start on a clean line:\n%q", out[max(0, i-200):i+40])
	}
}

// A log line while the bar is up wipes the bar first.
func TestTermLinesWipeTheBar(t *testing.T) {
	var buf bytes.Buffer
	tl := &termLines{w: &buf}
	fmt.Fprint(tl.barWriter(), "\r 10% |██   | 3 rows")
	fmt.Fprint(tl, "level=WARN msg=x\n")
	tl.clearBar() // nothing left to wipe
	want := "\r 10% |██   | 3 rows\r" + strings.Repeat(" ", len([]rune(" 10% |██   | 3 rows"))) + "\rlevel=WARN msg=x\n"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestRepeatedWarningsAreHeld(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newRepeatLimiter(slog.NewTextHandler(&buf, nil), time.Hour))
	for range 5 {
		log.Warn("rate lowered", "to", 1)
		log.Info("info passes", "n", 1)
	}
	log.Warn("another warning")
	out := buf.String()
	if n := strings.Count(out, "rate lowered"); n != 1 {
		t.Errorf("a warning repeated 5 times within the interval was logged %d times, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "info passes"); n != 5 {
		t.Errorf("info lines: %d, want 5 (only warnings are held)", n)
	}
	if !strings.Contains(out, "another warning") {
		t.Errorf("a different warning was held:\n%s", out)
	}

	// Once the interval has passed, the next one says how many were held.
	buf.Reset()
	h := newRepeatLimiter(slog.NewTextHandler(&buf, nil), time.Second)
	t0 := time.Now()
	for i, at := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 1500 * time.Millisecond} {
		r := slog.NewRecord(t0.Add(at), slog.LevelWarn, "retrying", 0)
		r.AddAttrs(slog.Int("i", i))
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if got := buf.String(); strings.Count(got, "retrying") != 2 || !strings.Contains(got, "i=3 repeated=2") {
		t.Errorf("want the first and the fourth, the fourth with repeated=2:\n%s", got)
	}
}

func TestRateWindowFollowsRecentRows(t *testing.T) {
	var w rateWindow
	t0 := time.Now()
	var got float64
	// 100 rows/s for 10s, then 10 rows/s for 10s.
	done := int64(0)
	for s := 1; s <= 20; s++ {
		if s <= 10 {
			done += 100
		} else {
			done += 10
		}
		got = w.add(t0.Add(time.Duration(s)*time.Second), done)
	}
	if got < 9 || got > 11 {
		t.Errorf("rate %v after 10s at 10 rows/s, want 10 (not the average since the start)", got)
	}
}
