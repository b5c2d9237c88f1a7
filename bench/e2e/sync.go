package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// changedCopy writes a copy of in where every 100th data row has another
// disposition: 1% of the rows changed.
func changedCopy(in input) (input, error) {
	out := input{path: strings.TrimSuffix(in.path, ".csv") + "-changed.csv", rows: in.rows}
	b, err := os.ReadFile(in.path)
	if err != nil {
		return out, err
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i := 1; i < len(lines); i += 100 {
		lines[i] = bytes.Replace(lines[i], []byte(",Resolved"), []byte(",Reopened"), 1)
	}
	return out, os.WriteFile(out.path, bytes.Join(lines, nil), 0o644)
}

// syncNights runs a nightly job: a first night sends every
// row into a new sync state; each later night's export differs from the
// night before in 1% of its rows (the two files take turns), so only those
// are sent and the rest are checked against the state.
func syncNights(c config, in input, rep *report) error {
	changed, err := changedCopy(in)
	if err != nil {
		return err
	}
	state := filepath.Join(c.dir, "sync", "job.state")
	if err := os.RemoveAll(filepath.Dir(state)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(state), 0o755); err != nil {
		return err
	}
	// Every night goes to one fake: a sync state belongs to its API, and
	// a night against another is refused.
	f, err := startFake(kapturetest.Options{})
	if err != nil {
		return err
	}
	defer f.stop()
	night := func(in input, want int) (child, error) {
		before := f.h.Stats().Applied
		// On Linux a child's rusage peak RSS starts from this process's
		// RSS when it forks (before exec), and this process held a fake
		// of a million tickets: the child's own VmHWM (reset by exec) is
		// its peak; see peak.
		debug.FreeOSMemory()
		ch, err := runBin(c, nil, "run", "--base-url", f.url, "--batch-size", strconv.Itoa(c.batch),
			"--workers", strconv.Itoa(c.workers), "--rate", "0", "--quiet", "--sync-state", state, in.path)
		if err != nil {
			return ch, err
		}
		if applied := f.h.Stats().Applied - before; ch.code != 0 || applied != want {
			return ch, fmt.Errorf("sync night: exit %d, %d applied, want %d; stderr:\n%s", ch.code, applied, want, ch.stderr)
		}
		return ch, nil
	}
	first, err := night(in, in.rows)
	if err != nil {
		return err
	}
	logf("sync night 1, %d rows all sent: %.2f s, peak RSS %.1f MiB", in.rows, first.wall.Seconds(), mib(first.peak()))
	var rates, rss, walls, cpus []float64
	sent := (in.rows + 99) / 100
	for i := 0; i < c.runs; i++ {
		export := changed
		if i%2 == 1 {
			export = in
		}
		ch, err := night(export, sent)
		if err != nil {
			return err
		}
		rates = append(rates, float64(in.rows)/ch.wall.Seconds())
		rss = append(rss, mib(ch.peak()))
		walls = append(walls, ch.wall.Seconds())
		cpus = append(cpus, ch.cpu.Seconds())
		logf("sync night %d, %d rows, %d changed: %.2f s = %.0f rows/s, client CPU %.2f s, peak RSS %.1f MiB", i+2, in.rows, sent, ch.wall.Seconds(), rates[i], cpus[i], rss[i])
	}
	st, err := os.Stat(state)
	if err != nil {
		return err
	}
	n := fmt.Sprintf("%dk rows", in.rows/1000)
	rep.info("--sync-state, "+n+", 1% changed: rows/s (only the 1% sent)", median(rates), "rows/s")
	rep.add("--sync-state, "+n+", 1% changed: peak RSS", "≤ 256 MiB", median(rss), "MiB", median(rss) <= 256)
	rep.add("--sync-state, first night ("+n+" sent into a new state): peak RSS", "≤ 256 MiB", mib(first.peak()), "MiB", first.peak() <= 256<<20)
	rep.note("sync: night 1 (%s, every row sent into a new state): %.2f s, peak RSS %.1f MiB; later nights %.2f s, client CPU (user+sys) %.2f s; state file %.1f MiB",
		n, first.wall.Seconds(), mib(first.peak()), median(walls), median(cpus), mib(st.Size()))
	return nil
}
