package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// dryRun reads the input as a run would, writes the first payload and what
// would be sent to DryRunOut, and sends nothing. With Mode writer.Resume it
// reads the results file (never writes it) to skip what a resume would.
func (r *runner) dryRun(ctx context.Context, rd *reader.Reader) error {
	size := r.cfg.Engine.BatchSize
	if size < 1 {
		return refuse(fmt.Errorf("batch size %d: want 1 or more", size))
	}
	resuming := r.cfg.Mode == writer.Resume
	var plan *resume.Plan
	if resuming {
		st, rep, err := resume.Peek(r.cfg.Results)
		if err != nil {
			return refuse(err)
		}
		if plan, err = r.resumePlan(st, rep); err != nil {
			return err
		}
	}
	r.stats.dryRun.Store(true)
	out := r.cfg.DryRunOut
	if out == nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "dry run: a run would call %s\n", dryRunURL(r.cfg.Engine))
	invalid := newInvalidList(r.cfg.Reader.Name, Grouped, out)
	first, err := r.dryRead(ctx, rd, plan, size, invalid)
	if err != nil {
		return err
	}
	return printDryRun(out, r.stats.Snapshot(), first, r.cfg.Engine, resuming, invalid)
}

// dryRunURL says where a run would send: the request URL, or why a run
// would be refused it. A dry run needs no address, so it never fails on
// one.
func dryRunURL(cfg batch.Config) string {
	if cfg.BaseURL == "" {
		return "(no API address given yet: a run needs one)"
	}
	u, err := batch.RequestURL(cfg)
	if err != nil {
		return fmt.Sprintf("(nothing: %v)", err)
	}
	return "POST " + u
}

// dryRead counts the rows a run would send, skip, hold back and record as
// invalid, adds the invalid ones to invalid, and returns the first
// payload's rows, cut by the engine's rule (batch.Chunker) from the rows
// sent, in the order they go to the engine.
func (r *runner) dryRead(ctx context.Context, rd *reader.Reader, plan *resume.Plan, size int, invalid *invalidList) ([]batch.Row, error) {
	first := batch.NewChunker(size)
	var valid int64
	closed := false
	err := resume.Walk(rd, r.cfg.Limit, plan, func(row *resume.Row) error {
		if stopped(r.cfg.Stop) {
			return ErrInterrupted
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		r.stats.read.Add(1)
		if row.Invalid != "" {
			r.stats.invalid.Add(1)
			invalid.add(row.Line, row.Invalid)
			return nil
		}
		if row.Repeat {
			r.stats.duplicates.Add(1)
		}
		switch row.Decision {
		case resume.Skip:
			r.stats.skipped.Add(1)
			return nil
		case resume.HoldBack:
			r.stats.heldBack.Add(1)
			return nil
		}
		valid++
		r.stats.wouldSend.Store(valid)
		// The engine sends the first payload as it ends: at the first
		// row it refuses.
		closed = closed || !first.Add(rowOf(row))
		return nil
	})
	if errors.Is(err, errInputAborted) && stopped(r.cfg.Stop) {
		return nil, ErrInterrupted
	}
	if err != nil {
		return nil, err
	}
	if valid > 0 {
		r.stats.payloads.Store((valid + int64(size) - 1) / int64(size))
	}
	r.stats.blank.Store(int64(rd.Skipped()))
	return first.Rows(), nil
}

// printDryRun says what the dry run found, how long a run would take,
// and shows the first item of the first payload: one is enough to check
// the columns and values, where a whole payload would be hundreds of
// lines.
func printDryRun(out io.Writer, c Snapshot, first []batch.Row, eng batch.Config, resume bool, invalid *invalidList) error {
	fmt.Fprintf(out, "dry run: %s read: %d would be sent, %d invalid (would be recorded as invalid, never sent)", plural.Of(c.Read, "row", "rows"), c.WouldSend, c.Invalid)
	if resume {
		fmt.Fprintf(out, ", %d skipped (done in the run resumed)", c.Skipped)
	}
	if c.HeldBack > 0 {
		fmt.Fprintf(out, ", %d held back (a later row of their ticket, beyond --limit, has a result)", c.HeldBack)
	}
	fmt.Fprintln(out)
	invalid.write(validateAll)
	if c.Duplicates > 0 {
		fmt.Fprintf(out, "%s a ticket_id seen earlier; they go out in file order, never in one payload\n", plural.Of(c.Duplicates, "row repeats", "rows repeat"))
	}
	if len(first) == 0 {
		fmt.Fprintln(out, "nothing to send")
		return nil
	}
	fmt.Fprintf(out, "at least %s of up to %s\n", plural.Of(c.Payloads, "payload", "payloads"), plural.Of(eng.BatchSize, "row", "rows"))
	fmt.Fprintf(out, "time: %s\n", estimate(c.Payloads, eng))
	fmt.Fprintf(out, "the first item of the first payload (of %s), from line %d:\n", plural.Of(len(first), "item", "items"), first[0].Line)
	var buf bytes.Buffer
	if err := json.Indent(&buf, first[0].Object, "", "  "); err != nil {
		return fmt.Errorf("indent payload item: %w", err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(out)
	return err
}

// estimate says how long sending payloads takes at eng's rate, and what
// that assumes: the pacer lets eng.Burst requests go at once, then one
// every 1/rate; answers come fast enough for eng.Workers to keep that
// pace; nothing is retried or refused with 429.
func estimate(payloads int64, eng batch.Config) string {
	rate, at := eng.Rate, fmt.Sprintf("at --rate %v", eng.Rate)
	if eng.AutoRate {
		rate, at = batch.AutoStartRate, fmt.Sprintf("at %v requests a second, where --rate auto starts (it then finds the API's limit)", batch.AutoStartRate)
	}
	if rate <= 0 {
		return fmt.Sprintf("no estimate at --rate 0 (unlimited): it depends on how fast the API answers, %s at a time", plural.Of(eng.Workers, "request", "requests"))
	}
	d := time.Duration(float64(max(payloads-int64(max(eng.Burst, 1)), 0)) / rate * float64(time.Second))
	within := time.Duration(float64(max(eng.Workers, 1)) / rate * float64(time.Second)).Round(time.Millisecond)
	return fmt.Sprintf("about %s %s; assumes answers within %s (--workers %d at that rate), no retries or 429s, and no more payloads than counted",
		roughly(d), at, within, eng.Workers)
}

// roughly is d for a person: seconds under a minute, minutes under an
// hour, else hours and minutes.
func roughly(d time.Duration) string {
	switch {
	case d < time.Second:
		return "a second or less"
	case d < time.Minute:
		return d.Round(time.Second).String()
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s") // 1h40m0s, 2h0m0s
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
