// Package undo turns a snapshot back into an input: RESTORE.csv, which
// puts each ticket a job changed back to what the snapshot found, by key
// (sub_status, queue, disposition). It is pure: files in, files out, no
// network. A ticket whose prior value has no key a pair gives (or several),
// or that was not found, is left out and listed, never guessed; a field the
// reads did not carry is left blank (unchanged) and said once.
package undo

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Header is RESTORE.csv's first line: an ordinary input.
const Header = "ticket_id,sub_status,queue,disposition"

// Refusals: Plan writes nothing.
var (
	// ErrOtherTickets: the snapshot holds none of the tickets the results
	// changed.
	ErrOtherTickets = errors.New("the snapshot holds none of the tickets the results changed")
	// ErrOtherTenant: the snapshot was read from another API than the one
	// the results' names file was saved for.
	ErrOtherTenant = errors.New("the snapshot was read from another API than the results were sent to")
)

// MaxListed bounds Result.LeftOut: the rest are counted.
const MaxListed = 1000

// Options say what to restore, and where to write it.
type Options struct {
	Snapshot string
	// Results is the results file of the job: the tickets with a success
	// in it (or a row not applied, or an outcome nobody knows) are
	// restored. "": every ticket of the snapshot.
	Results string
	// Book gives the keys of the names the snapshot holds; nil: an empty
	// one.
	Book *names.Book
	// Out receives RESTORE.csv; nil writes nothing.
	Out io.Writer
}

// Result is what Plan did.
type Result struct {
	API      string // the snapshot's
	Restored int64  // rows written to RESTORE.csv
	// Changed counts the tickets the results say the job changed (with
	// Results); Unsnapped those of them the snapshot lacks (no pre-image:
	// they cannot be restored), UnsnappedLines the input lines of the
	// first of them (in input order), UnsnappedTickets the ids of the
	// first few of those (from the results file).
	Changed, Unsnapped int64
	UnsnappedLines     []int
	UnsnappedTickets   []string
	// LeftOut lists the first MaxListed tickets left out, and LeftOutTotal
	// counts them all; Names groups the values no key could be found for,
	// with the line to add to a names file.
	LeftOut      []LeftOut
	LeftOutTotal int64
	Names        []Name
	// NotCarried lists the fields no entry of the snapshot holds (its
	// reads did not carry them): left blank, unchanged, for every ticket.
	NotCarried []string
	// NoneBefore counts, per field, the tickets that held none (no queue,
	// no disposition) when read: an update cannot clear a field, so the
	// row leaves it as the job left it.
	NoneBefore map[string]int64
}

// Complete reports whether every ticket to restore has a row.
func (r *Result) Complete() bool { return r.LeftOutTotal == 0 && r.Unsnapped == 0 }

// LeftOut is a ticket with no row in RESTORE.csv.
type LeftOut struct {
	TicketID string
	Line     int // the snapshot's line
	Reason   string
	// Add is the line to add to a names file, KEY standing for the key
	// Kapture uses ("" when no line would help).
	Add string
}

// Name is a value of a field that no pair, or several, give a key for.
type Name struct {
	Kind    names.Kind
	Value   string
	Status  string   // the parent status it was read under, for an unknown sub-status
	Keys    []string // the keys it may stand for; none: unknown
	Tickets int64
	Add     string // the line to add to a names file, for an unknown one
}

// Plan writes RESTORE.csv for the snapshot and returns what it did. It
// refuses (ErrOtherTenant) a snapshot read from another API than the one
// the results' names file (names.ResultsPath) was saved for, when both are
// known, and (ErrOtherTickets) one that holds none of the tickets the
// results changed; it writes nothing then, and nothing is to be used of
// what reached Out.
func Plan(opts Options) (*Result, error) {
	if opts.Book == nil {
		opts.Book = names.NewBook()
	}
	p := &planner{opts: opts, res: &Result{NoneBefore: map[string]int64{}}, names: map[nameKey]*Name{}}
	if opts.Results != "" {
		if err := p.loadResults(); err != nil {
			return nil, err
		}
	}
	if opts.Out != nil {
		p.bw = bufio.NewWriterSize(opts.Out, 64<<10)
		p.out = csv.NewWriter(p.bw)
		p.out.Write(strings.Split(Header, ","))
	}
	if err := snapshot.Read(opts.Snapshot, p.entry); err != nil {
		return nil, err
	}
	if err := p.settle(); err != nil {
		return nil, err
	}
	if p.out != nil {
		p.out.Flush()
		if err := errors.Join(p.out.Error(), p.bw.Flush()); err != nil {
			return nil, fmt.Errorf("write restore file: %w", err)
		}
	}
	return p.res, nil
}

// changed is a ticket the results changed.
type changed struct {
	line int   // an input line of it, for messages
	at   int64 // where its results row starts (resume.Result.At); -1: none
	seen bool  // the snapshot has it
}

type nameKey struct {
	kind          names.Kind
	value, status string // status: the parent status read, for an unknown sub-status
}

// planner is one Plan.
type planner struct {
	opts    Options
	res     *Result
	api     string              // the API the results record (writer.APIOf), "" unknown
	changed map[uint64]*changed // with Results: the tickets to restore
	seen    int64               // of them, those the snapshot holds
	names   map[nameKey]*Name
	order   []nameKey
	filled  [4]int64 // by column: found entries with the field
	none    [4]int64 // by column: restored tickets without it
	out     *csv.Writer
	bw      *bufio.Writer
}

// loadResults reads which tickets the results say the job changed
// (resume.State.Changed), and the API of their names file.
func (p *planner) loadResults() error {
	path := p.opts.Results
	f, _, err := writer.OpenRead(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, _, err := resume.Peek(path)
	if err != nil {
		return err
	}
	p.changed = map[uint64]*changed{}
	err = st.Changed(writer.NewMessages(f), func(ticket uint64, r resume.Result) {
		if c := p.changed[ticket]; c == nil {
			p.changed[ticket] = &changed{line: r.Line, at: r.At}
		} else if r.Line > 0 && (c.line == 0 || r.Line < c.line) {
			c.line, c.at = r.Line, r.At
		}
	})
	if err != nil {
		return err
	}
	p.res.Changed = int64(len(p.changed))
	p.api, err = ResultsAPI(path)
	return err
}

// ResultsAPI returns the API the results file at path records runs
// against; for a file of an older version, the one the pairs kept beside
// it were learnt from; "" when neither says.
func ResultsAPI(path string) (string, error) {
	if api, err := writer.APIOf(path); err != nil || api != "" {
		return api, err
	}
	return names.APIOf(names.ResultsPath(path))
}

// SameTenant refuses (ErrOtherTenant) a snapshot read from snapAPI when
// the results file at results records runs against another API: checked
// first, so that the message says so rather than blame the results'
// names file, which is of the results' API.
func SameTenant(snapshot, snapAPI, results string) error {
	if snapAPI == "" || results == "" {
		return nil
	}
	api, err := ResultsAPI(results)
	if err != nil || api == "" || api == snapAPI {
		return err
	}
	return fmt.Errorf("%s: %w: it was read from %s, the results were sent to %s", snapshot, ErrOtherTenant, snapAPI, api)
}

// settle checks what the whole snapshot showed: its tickets against the
// results', the fields its reads carried.
func (p *planner) settle() error {
	if p.changed != nil && p.res.Changed > 0 && p.seen == 0 {
		return fmt.Errorf("%s: %w (%d tickets have a success in %s)", p.opts.Snapshot, ErrOtherTickets, p.res.Changed, p.opts.Results)
	}
	if err := p.unsnapped(); err != nil {
		return err
	}
	for i := 1; i < len(columns); i++ {
		switch {
		case p.filled[i] == 0:
			p.res.NotCarried = append(p.res.NotCarried, columns[i])
		case p.none[i] > 0:
			p.res.NoneBefore[columns[i]] = p.none[i]
		}
	}
	for _, k := range p.order {
		p.res.Names = append(p.res.Names, *p.names[k])
	}
	return nil
}

// entry restores one ticket of the snapshot, or leaves it out.
func (p *planner) entry(e snapshot.Entry) error {
	if p.api != "" && e.API != "" && e.API != p.api {
		return fmt.Errorf("%s:%d: %w: it was read from %s, the results were sent to %s", p.opts.Snapshot, e.Line, ErrOtherTenant, e.API, p.api)
	}
	p.res.API = e.API
	t := e.Ticket
	if t.Found { // what this tenant's reads carry, whatever is restored
		for i, has := range [...]bool{t.SubStatus.Given, t.Queue.Given, t.Disposition != ""} {
			if has {
				p.filled[1+i]++
			}
		}
	}
	if p.changed != nil {
		c := p.changed[rowkey.TicketHash(e.Ticket.ID)]
		if c == nil {
			return nil // the job did not change it
		}
		c.seen = true
		p.seen++
	}
	if !t.Found {
		p.leaveOut(e, "not found when the snapshot read it: nothing to restore", "")
		return nil
	}
	row := []string{t.ID, "", "", t.Disposition}
	for i, f := range []struct {
		k names.Kind
		c batch.Code
	}{{names.SubStatus, t.SubStatus}, {names.Queue, t.Queue}} {
		key, err := p.opts.Book.ResolveIn(f.k, t)
		if err != nil {
			p.untranslatable(e, f.k, err)
			return nil
		}
		row[1+i] = key
	}
	if row[1] == "" {
		p.leaveOut(e, "the snapshot has no sub-status for it", "")
		return nil
	}
	if col, v := formulaLike(row); col != "" {
		p.leaveOut(e, fmt.Sprintf("its prior %s %q would start a spreadsheet formula in RESTORE.csv: restore it by hand", col, v), "")
		return nil
	}
	p.res.Restored++
	for i := 2; i < len(row); i++ { // a blank sub-status is left out above
		if row[i] == "" {
			p.none[i]++
		}
	}
	if p.out != nil {
		p.out.Write(row)
	}
	return nil
}
