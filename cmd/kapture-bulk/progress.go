package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
)

// progressSnap is the state of a run at one moment: the run's counters
// (the engine's rate is the limiter's current one; 0 = unlimited), when
// they were read, and the recent pace.
type progressSnap struct {
	run.Snapshot
	at         time.Time
	elapsed    time.Duration
	rowsPerSec float64       // rows finished per second, over the last few seconds
	idle       time.Duration // since a row last finished (or the run started)
}

// done is rows finished: written to the results, or skipped as already done.
func (s progressSnap) done() int64 { return s.Success + s.Failed + s.Invalid + s.Skipped }

// progressSink shows progress: a bar on a terminal, a log line elsewhere.
// show is called from one goroutine at a time; finish once, after the
// last show, before the summary prints.
type progressSink interface {
	show(progressSnap)
	finish()
}

// progressTotal is what a run knows in advance about its size.
type progressTotal struct {
	size  int64 // input bytes; 0 when unknown (stdin)
	limit int64 // --limit; 0 when none
}

// startProgress shows the run's progress from a goroutine of its own until
// the returned stop, which also takes a bar off the screen: a bar on a
// terminal (lines non-nil), a log line every --progress-interval
// elsewhere, nothing with --quiet (retries are still summarised).
func startProgress(ctx context.Context, st *runState, total progressTotal, lines *termLines, f *runFlags, log *slog.Logger) (stop func()) {
	var sink progressSink
	tick := f.progressInterval
	switch {
	case lines != nil:
		sink = newBarSink(lines, total)
		tick = min(250*time.Millisecond, f.progressInterval)
	case !f.quiet:
		sink = &logSink{log: log, total: total}
	}
	sample := func() progressSnap {
		now := time.Now()
		return progressSnap{Snapshot: st.stats.Snapshot(), at: now, elapsed: now.Sub(st.start)}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // ends at stop
		defer close(done)
		monitor(ctx, sample, sink, tick, f.progressInterval, log)
	}()
	return func() {
		cancel()
		<-done
		if sink != nil {
			sink.finish()
		}
	}
}

// monitor samples the run every tick and hands the snapshot to sink (nil:
// --quiet); every warnEvery it logs a warning if requests were retried
// since the last one, so retries are summarised rather than logged per
// payload. It returns when ctx ends; the caller runs it in a goroutine it
// starts and stops itself.
func monitor(ctx context.Context, sample func() progressSnap, sink progressSink, tick, warnEvery time.Duration, log *slog.Logger) {
	if tick <= 0 || sink == nil {
		tick = warnEvery
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	var win rateWindow
	lastWarn := time.Now()
	var warnedRetries int64
	lastDone, lastChange := int64(0), lastWarn
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := sample()
		s.rowsPerSec = win.add(s.at, s.done())
		if s.done() != lastDone {
			lastDone, lastChange = s.done(), s.at
		}
		s.idle = s.at.Sub(lastChange)
		if sink != nil {
			sink.show(s)
		}
		if s.at.Sub(lastWarn) >= warnEvery-tick/2 {
			if n := s.Retries - warnedRetries; n > 0 {
				log.Warn("retrying requests (network errors, timeouts, 429 or 5xx)",
					"retries", n, "since", s.at.Sub(lastWarn).Round(time.Second).String(),
					"retries_total", s.Retries, "rate", batch.RoundRate(s.Rate))
			}
			warnedRetries = s.Retries
			lastWarn = s.at
		}
	}
}

// rateWindow gives rows per second over the last few seconds, so that the
// figure follows a rate that drops (429s) or recovers, unlike an average
// since the start.
type rateWindow struct {
	at   []time.Time
	done []int64
}

const rateSpan = 5 * time.Second

func (w *rateWindow) add(at time.Time, done int64) float64 {
	w.at = append(w.at, at)
	w.done = append(w.done, done)
	// Keep the newest sample at least rateSpan old as the base.
	i := 0
	for i+1 < len(w.at)-1 && at.Sub(w.at[i+1]) >= rateSpan {
		i++
	}
	w.at, w.done = w.at[i:], w.done[i:]
	if len(w.at) < 2 {
		return 0
	}
	d := at.Sub(w.at[0]).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(done-w.done[0]) / d
}

// logSink writes a plain log line per show: for cron, CI and pipes, where
// a bar would be a stream of carriage returns (and progressbar fsyncs
// every redraw).
type logSink struct {
	log   *slog.Logger
	total progressTotal
	shown float64 // the highest fraction shown
}

func (l *logSink) show(s progressSnap) {
	attrs := []any{
		"rows_done", s.done(), "success", s.Success, "failed", s.Failed, "invalid", s.Invalid,
	}
	if s.Skipped > 0 {
		attrs = append(attrs, "skipped_resume", s.Skipped)
	}
	if f, ok := fraction(s, l.total); ok {
		l.shown = max(l.shown, f)
		attrs = append(attrs, "percent", float64(int64(l.shown*1000))/10)
	}
	attrs = append(attrs, "rows_per_s", batch.RoundRate(s.rowsPerSec), "requests", s.Requests, "retries", s.Retries)
	switch e := eta(s, l.total); {
	case s.idle >= stallAfter:
		attrs = append(attrs, "stalled", s.idle.Round(time.Second).String())
	case e > 0:
		attrs = append(attrs, "eta", e.String())
	}
	if s.Rate > 0 {
		attrs = append(attrs, "rate", batch.RoundRate(s.Rate))
	}
	attrs = append(attrs, "elapsed", s.elapsed.Round(time.Second).String())
	l.log.Info("progress", attrs...)
}

func (l *logSink) finish() {}

// fraction estimates how far the run is, from 0 to 1. With --limit it is
// rows done of the limit. For a file it is rows done times the bytes per
// row read so far, of the file's size: no count in advance. The reader
// reads ahead, so early on this can overshoot and then fall back; the
// sinks never show less than they showed. stdin has no total.
func fraction(s progressSnap, t progressTotal) (float64, bool) {
	switch {
	case t.limit > 0:
		return min(1, float64(s.done())/float64(t.limit)), true
	case t.size > 0:
		if s.Read == 0 {
			return 0, true
		}
		return min(1, float64(s.InputBytes)/float64(t.size)*min(1, float64(s.done())/float64(s.Read))), true
	}
	return 0, false
}

// stallAfter is how long without a row finishing makes progress say the
// run is stalled (the API is slow, a Retry-After pause, retries) rather
// than show an ETA: payloads finish every second or so at any sane rate.
const stallAfter = 10 * time.Second

// eta estimates the time left at the recent pace (rows per second over
// the last few seconds) from how far the run is; 0 when it cannot say:
// no total (stdin), nothing done yet, or no recent pace (a stall).
func eta(s progressSnap, t progressTotal) time.Duration {
	f, ok := fraction(s, t)
	if !ok || f <= 0 || f >= 1 || s.rowsPerSec <= 0 || s.done() == 0 {
		return 0
	}
	left := float64(s.done()) * (1 - f) / f // rows
	return max(time.Duration(left/s.rowsPerSec*float64(time.Second)).Round(time.Second), time.Second)
}

// barSink is a progressbar/v3 bar on a terminal. It never sees --quiet or
// a non-terminal: the caller picks a sink. The bar is driven only by show
// (no spinner goroutine of its own).
type barSink struct {
	bar   *progressbar.ProgressBar
	out   *termLines
	total progressTotal
	shown int64 // the bar's furthest position
}

// barScale is the bar's resolution when it shows a fraction of a file.
const barScale = 10000

func newBarSink(out *termLines, total progressTotal) *barSink {
	max := int64(-1) // stdin: a spinner with a count
	switch {
	case total.limit > 0:
		max = total.limit
	case total.size > 0:
		max = barScale
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(out.barWriter()),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetWidth(24),
		// Its own ETA divides by a rate that is 0 in a stall and shows 0s
		// then: show computes one that says "stalled" instead.
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetSpinnerChangeInterval(0), // no goroutine: show drives it
		progressbar.OptionSetRenderBlankState(false),
	)
	return &barSink{bar: bar, out: out, total: total}
}

func (b *barSink) show(s progressSnap) {
	var d strings.Builder
	// After the first Ctrl-C the bar says what the stop waits for, at
	// every redraw: the log line saying so scrolls away above it.
	left, stopping := stopWait(s.Snapshot, s.at)
	if stopping {
		fmt.Fprintf(&d, "stopping: waiting for %s, at most %s (Ctrl-C again stops at once) | ", plural.Of(s.Delivering, "request", "requests"), left)
	}
	fmt.Fprintf(&d, "%s: %d ok, %d failed, %d invalid", plural.Of(s.done(), "row", "rows"), s.Success, s.Failed, s.Invalid)
	if s.Skipped > 0 {
		fmt.Fprintf(&d, ", %d skipped", s.Skipped)
	}
	if !stopping {
		b.describePace(&d, s)
	}
	b.bar.Describe(d.String())
	pos := s.done() // stdin: a count
	switch f, ok := fraction(s, b.total); {
	case ok && b.total.limit > 0:
		pos = min(s.done(), b.total.limit)
	case ok:
		pos = int64(f * barScale)
	}
	b.shown = max(b.shown, pos)
	_ = b.bar.Set64(b.shown)
}

// describePace adds the run's pace to the bar's description: rows per
// second, retries, and the time left or how long nothing finished.
func (b *barSink) describePace(d *strings.Builder, s progressSnap) {
	fmt.Fprintf(d, " | %.1f rows/s", s.rowsPerSec)
	if s.Retries > 0 {
		fmt.Fprintf(d, " | %s", plural.Of(s.Retries, "retry", "retries"))
	}
	switch e := eta(s, b.total); {
	case s.idle >= stallAfter:
		fmt.Fprintf(d, " | stalled: no row finished for %s", s.idle.Round(time.Second))
	case e > 0:
		fmt.Fprintf(d, " | ETA %s", e)
	}
}

// finish takes the bar off the screen so the summary starts on a clean line.
func (b *barSink) finish() {
	_ = b.bar.Exit()
	b.out.clearBar()
}
