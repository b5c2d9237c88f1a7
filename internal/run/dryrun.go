package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kapture-bulk/kapture-bulk/batch"
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
	first, err := r.dryRead(ctx, rd, plan, size, out)
	if err != nil {
		return err
	}
	return printDryRun(out, r.stats.Snapshot(), first, size, resuming)
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
// invalid, lists the invalid ones on out as NAME:LINE: message (as
// Validate does), and returns the first payload's rows, cut by the
// engine's rule (batch.Chunker) from the rows sent, in the order they go
// to the engine.
func (r *runner) dryRead(ctx context.Context, rd *reader.Reader, plan *resume.Plan, size int, out io.Writer) ([]batch.Row, error) {
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
			fmt.Fprintf(out, "%s:%d: %s\n", r.cfg.Reader.Name, row.Line, row.Invalid)
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

// printDryRun says what the dry run found and shows the first item of the
// first payload: one is enough to check the columns and values, where a
// whole payload would be hundreds of lines.
func printDryRun(out io.Writer, c Snapshot, first []batch.Row, size int, resume bool) error {
	fmt.Fprintf(out, "dry run: %d rows read: %d would be sent, %d invalid (would be recorded as invalid, never sent)", c.Read, c.WouldSend, c.Invalid)
	if resume {
		fmt.Fprintf(out, ", %d skipped (done in the run resumed)", c.Skipped)
	}
	if c.HeldBack > 0 {
		fmt.Fprintf(out, ", %d held back (a later row of their ticket, beyond --limit, has a result)", c.HeldBack)
	}
	fmt.Fprintln(out)
	if c.Duplicates > 0 {
		fmt.Fprintf(out, "%d rows repeat a ticket_id seen earlier; they go out in file order, never in one payload\n", c.Duplicates)
	}
	if len(first) == 0 {
		fmt.Fprintln(out, "nothing to send")
		return nil
	}
	fmt.Fprintf(out, "at least %d payloads of up to %d rows; the first item of the first payload (of %d items), from line %d:\n",
		c.Payloads, size, len(first), first[0].Line)
	var buf bytes.Buffer
	if err := json.Indent(&buf, first[0].Object, "", "  "); err != nil {
		return fmt.Errorf("indent payload item: %w", err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(out)
	return err
}
