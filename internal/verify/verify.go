// Package verify holds what Kapture holds against what an input asks: each
// ticket's last valid row, field by field for the fields the row sets
// (sub_status always; queue and disposition when its cell is not empty).
// Per ticket it says match, differs (what the ticket holds, what the row
// wants), not_found, or unknown (a field this tenant's reads carry is
// missing for the ticket, shows a name no pair or several pairs give a
// key for, or the ticket could not be read: batch.Ticket.Unread). A field no read carried at all is not verifiable on this
// tenant: said once, it makes no ticket unknown.
//
// It reads the input twice (three times with Differs), through the one
// file it opened, and never holds its rows: a first pass keeps,
// per ticket, where its last valid row is (by rowkey.TicketHash: about 20
// bytes a ticket); the second hands those rows out in batches to a read
// function (the engine's Get Ticket client) and writes each verdict to a
// temporary file, so that a field first carried by a late read can still
// make earlier tickets unknown before VERIFY.csv is written. It knows
// nothing of the network, flags or exit codes.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// Verdict is what verify says of a ticket.
type Verdict string

const (
	Match    Verdict = "match"
	Differs  Verdict = "differs"
	NotFound Verdict = "not_found"
	Unknown  Verdict = "unknown"
)

// Header is VERIFY.csv's first line: one row per ticket, in the order of
// the tickets' last rows in the input. field, holds and wants list the
// fields behind the verdict (all the fields compared, for a match), joined
// with "; "; line is the input line of the ticket's last valid row.
const Header = "ticket_id,verdict,field,holds,wants,line,detail"

// DefaultBatch is how many tickets Check hands to one call of Read: the
// engine splits them into requests of its own size.
const DefaultBatch = 500

// Options say what to verify, and where to write.
type Options struct {
	// Input is the input's path. It is opened once and read two or three
	// times through that file; a file rewritten in place in between is
	// reader.ErrChanged.
	Input  string
	Reader reader.Options
	// Book translates the names reads show into keys; nil: an empty one.
	Book *names.Book
	// Read reads tickets: one Ticket per id, in order (batch.Engine.Read).
	// Its error stops Check.
	Read func(ctx context.Context, ids []string) ([]batch.Ticket, error)
	// Batch is the number of ids per call of Read; 0: DefaultBatch.
	Batch int
	// Out receives VERIFY.csv; Differs the input rows of the tickets that
	// differ, in the input's own columns plus error (package failedrows):
	// an input to run. nil writes nothing.
	Out, Differs io.Writer
	// TempDir holds the verdicts while the reads go on; "": os.TempDir.
	TempDir string
}

// Result is what Check found.
type Result struct {
	Tickets                           int64 // tickets with a valid row: those verified
	Match, Differs, NotFound, Unknown int64
	InvalidRows                       int64 // rows invalid in the input: not verified
	// NotVerifiable lists the fields rows set that no read carried: they
	// were not verified, on any ticket.
	NotVerifiable []string
	// Reasons groups the tickets that do not match by verdict and
	// masked detail, as report groups failures.
	Reasons        []reason.Group
	DiffersWritten int64 // rows written to Options.Differs
}

// AllMatch reports whether there were tickets to verify and every one
// matches.
func (r *Result) AllMatch() bool { return r.Tickets > 0 && r.Match == r.Tickets }

// Check verifies every ticket of the input against what opts.Read says
// it holds, writes VERIFY.csv and the rows to fix, and returns the
// counts. It returns the first error of reading the input or a ticket,
// of writing, or ctx's, or reader.ErrChanged when the input changed
// between two of its reads; what it wrote to Out and Differs is then
// incomplete.
func Check(ctx context.Context, opts Options) (*Result, error) {
	if opts.Read == nil {
		return nil, errors.New("verify: no read function")
	}
	if opts.Book == nil {
		opts.Book = names.NewBook()
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	res := &Result{}
	in, err := openInput(opts.Input, opts.Reader.Name)
	if err != nil {
		return res, err
	}
	defer in.close()
	last, err := lastRows(in, opts, res)
	if err != nil {
		return res, err
	}
	sp, err := newSpill(opts.TempDir)
	if err != nil {
		return res, err
	}
	defer sp.remove()
	c := &checker{opts: opts, in: in, sp: sp, last: last}
	if err := c.walk(ctx); err != nil {
		return res, err
	}
	if err := c.finish(res); err != nil {
		return res, err
	}
	if opts.Differs != nil {
		res.DiffersWritten, err = c.writeDiffers()
	}
	return res, err
}

// eachRow reads the input in one pass and calls fn with each data row
// and its ordinal among them (as package failedrows counts them); at the
// end it holds the pass against the first (pass.end).
func eachRow(in *input, opts Options, fn func(rec *reader.Record, ordinal int) error) error {
	p := in.pass()
	rd, err := reader.Open(p, opts.Reader)
	if err != nil {
		return err
	}
	for n := 0; ; n++ {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return p.end(rd)
		}
		if err != nil {
			return err
		}
		if err := fn(&rec, n); err != nil {
			return err
		}
	}
}

// lastRows is the first pass: the ordinal of each ticket's last valid
// row, by ticket hash; it counts the invalid rows in res.
func lastRows(in *input, opts Options, res *Result) (map[uint64]uint32, error) {
	last := map[uint64]uint32{}
	err := eachRow(in, opts, func(rec *reader.Record, n int) error {
		if rec.Invalid != "" {
			res.InvalidRows++
			return nil
		}
		last[rowkey.TicketHash(rec.TicketID)] = uint32(n)
		return nil
	})
	return last, err
}

// checker is the second pass and what follows it.
type checker struct {
	opts    Options
	in      *input
	sp      *spill
	last    map[uint64]uint32
	pending []want
	carried [nFields]bool // a read carried the field
	set     [nFields]bool // a row set it, on a ticket found
	differs []uint32      // the ordinals of the rows of the tickets that differ
}

// walk reads the input again and verifies each ticket's last row, a batch
// at a time.
func (c *checker) walk(ctx context.Context) error {
	err := eachRow(c.in, c.opts, func(rec *reader.Record, n int) error {
		if rec.Invalid != "" || c.last[rowkey.TicketHash(rec.TicketID)] != uint32(n) {
			return nil
		}
		c.pending = append(c.pending, wantOf(rec, n))
		if len(c.pending) < c.opts.Batch {
			return nil
		}
		return c.flush(ctx)
	})
	if err != nil {
		return err
	}
	return c.flush(ctx)
}

// flush reads the pending tickets and writes their verdicts.
func (c *checker) flush(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	ids := make([]string, len(c.pending))
	for i, w := range c.pending {
		ids[i] = w.id
	}
	got, err := c.opts.Read(ctx, ids)
	if err != nil {
		return fmt.Errorf("read tickets: %w", err)
	}
	if len(got) != len(ids) {
		return fmt.Errorf("read tickets: %d tickets for %d ids", len(got), len(ids))
	}
	for i, t := range got {
		if t.ID != ids[i] {
			return fmt.Errorf("read tickets: ticket %q where %q was asked", t.ID, ids[i])
		}
		if t.Found {
			for f := range nFields {
				c.carried[f] = c.carried[f] || given(t, f)
			}
		}
	}
	for i, t := range got {
		j := c.judge(c.pending[i], t)
		if err := c.sp.add(j); err != nil {
			return err
		}
		if j.verdict == Differs {
			c.differs = append(c.differs, c.pending[i].ordinal)
		}
	}
	c.pending = c.pending[:0]
	return nil
}
