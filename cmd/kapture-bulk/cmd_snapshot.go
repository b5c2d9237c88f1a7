package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	snap "github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// snapshotOptions is the snapshot command as parsed.
type snapshotOptions struct {
	env       *env
	api       apiFlags
	input     inputFlags
	out       string
	names     namesFlag
	raw       bool
	readBatch int
	args      []string // INPUT, if the user gave exactly one
}

// cmdSnapshot is the snapshot command. It parses args, then hands the
// options to runF if a test gave one, else to snapshotRun.
func cmdSnapshot(ctx context.Context, args []string, e *env, runF func(context.Context, *snapshotOptions) error) error {
	o := &snapshotOptions{env: e}
	pos, err := parseArgs(snapshotFlagSet(o), args)
	if err != nil {
		return err
	}
	o.args = pos
	if runF != nil {
		return runF(ctx, o)
	}
	return snapshotRun(ctx, o)
}

// snapshotUsage is the help of snapshot, before its flags.
const snapshotUsage = `Usage: kapture-bulk snapshot --out SNAP.csv [flags] INPUT

Reads every ticket of INPUT's valid rows (a CSV file, or - for stdin)
through the Get Ticket API and writes what each holds to SNAP.csv, one row
per ticket, as the reads come (mode 0600, no customer data). Run it before
a job: kapture-bulk undo turns the snapshot into an input that puts the
tickets back. SNAP.csv may exist: the tickets it holds are not read again
(their first read is kept), so a snapshot stopped by Ctrl-C or a failure
goes on where it stopped; a snapshot of another API is refused. Reads count
against the rate limit as updates do. A ticket not found is written so: a
fact, not a failure. A ticket whose reply alone is larger than a reply
may be is listed and not written: it was not read. Exits 0 when every
ticket was read (found or not), 1 when some could not be, 2 for bad input,
files or flags, or a reply in a shape it cannot read (probe shows it), 3
when the API refused the token or stayed down, 130 when interrupted: the
same command then reads the rest.

`

// snapshotFlagSet is the snapshot command's flags, parsed into o, with its
// help as Usage.
func snapshotFlagSet(o *snapshotOptions) *flag.FlagSet {
	fs := commandFlagSet(o.env, "snapshot", snapshotUsage)
	o.api.register(fs, false)
	o.input.register(fs, "the extra columns the run is given (they decide which rows are valid): comma-separated names, or all")
	fs.StringVar(&o.out, "out", "", "the snapshot file to write, or to add to (required)")
	registerNames(fs, &o.names, "to write the keys of the names the reads show")
	fs.BoolVar(&o.raw, "raw", false, "keep each ticket's whole read too, in a last column raw, customer data masked (a snapshot started without it cannot take it)")
	readBatchFlag(fs, &o.readBatch)
	return fs
}

// files lists every file snapshot reads or writes, for checkFiles.
func (o *snapshotOptions) files() []file {
	return slices.Concat(input("INPUT", o.args[0]), o.api.files(), o.names.files(), output("--out", o.out))
}

// snapshotRun reads INPUT's tickets into the snapshot, and says what it
// read on stdout.
func snapshotRun(ctx context.Context, o *snapshotOptions) error {
	e := o.env
	if len(o.args) != 1 {
		return errWrongArgs("kapture-bulk snapshot", "one INPUT (a CSV path, or - for stdin)", len(o.args))
	}
	if err := errors.Join(o.api.check(), checkReadBatch(o.readBatch)); err != nil {
		return withCode(exitUsage, err)
	}
	if o.out == "" {
		return usagef("snapshot: give --out SNAP.csv, the snapshot file to write %s", helpHint("kapture-bulk snapshot"))
	}
	if err := checkFiles(o.files()); err != nil {
		return err
	}
	ctx, s, err := o.api.openSession(ctx, e, "the tickets read are kept in "+o.out+"; the same command reads the rest", func(c *batch.Config) {
		c.ReadBatch, c.KeepRaw = o.readBatch, o.raw
	})
	if err != nil {
		return err
	}
	defer s.close()
	book, err := loadBook("", o.names, s.api)
	if err != nil {
		return err
	}
	in, name, err := openInput(o.args[0], e)
	if err != nil {
		return err
	}
	defer in.Close()
	ropts, err := o.input.options(name)
	if err != nil {
		return err
	}
	w, err := openSnapshot(o.out, s.api, o.raw)
	if err != nil {
		return err
	}
	defer w.Close()
	sn := &snapshotter{w: w, book: book, api: s.api, r: newTicketReader(s.eng, o.readBatch, o.api.workers)}
	stop := o.api.startReadProgress(ctx, s, sn.r, "snapshot")
	err = sn.readInput(ctx, in, ropts)
	stop()
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("--out %s: %w", o.out, cerr)
	}
	if err == nil || sn.r.read.Load()+sn.r.unread.Load() > 0 {
		sn.print(e.stdout, name, o.out, err)
	}
	if n := sn.r.unread.Load(); err == nil && n > 0 {
		return withCode(exitRowsFailed, fmt.Errorf("snapshot: %s could not be read, so %s not in %s (listed above)",
			plural.Of(n, "ticket", "tickets"), plural.Pick(n, "it is", "they are"), o.out))
	}
	return err
}

// openInput opens INPUT for one read: the file, or stdin for "-". name is
// how messages name it.
func openInput(path string, e *env) (in io.ReadCloser, name string, err error) {
	if path == "-" {
		return io.NopCloser(e.stdin), "stdin", nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, path, usagef("input %s: %w", path, writer.NotRegular(fi))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, path, fileError("input", path, err)
	}
	return f, path, nil
}

// openSnapshot opens the snapshot at path for adding reads of api. A
// file another command holds is exit 3 (writer.ErrLocked); one of
// another API, or no snapshot, exit 2 (app.go); one that cannot be
// opened, exit 2.
func openSnapshot(path, api string, raw bool) (*snap.Writer, error) {
	open := snap.Open
	if raw {
		open = snap.OpenRaw
	}
	w, err := open(path, api)
	switch {
	case err == nil:
		return w, nil
	case errors.Is(err, writer.ErrLocked), isReadSideRefusal(err):
		return nil, fmt.Errorf("--out: %w", err)
	}
	return nil, withCode(exitUsage, fmt.Errorf("--out: %w", err))
}

// snapshotter reads an input's tickets into a snapshot.
type snapshotter struct {
	w    *snap.Writer
	book *keynames.Book
	api  string
	r    *ticketReader

	rows, invalid int64
	mu            sync.Mutex
	untranslated  map[keynames.Kind]*untranslated
	unread        []batch.Ticket // the first maxListed the reads could not take
}

// maxListed bounds the tickets not read that snapshot lists.
const maxListed = 10

// untranslated counts the tickets whose value of a kind no pair (or more
// than one) gives a key for, with the first such value.
type untranslated struct {
	n     int64
	value string
}

// readInput reads the input's rows in order, and its valid rows' tickets
// that the snapshot lacks, a round at a time: every ticket of a round is
// in the snapshot before the next round is formed, so that the snapshot
// itself says which tickets are done, and nothing holds every id of a
// huge input.
func (sn *snapshotter) readInput(ctx context.Context, in io.Reader, ropts reader.Options) error {
	rd, err := reader.Open(in, ropts)
	if err != nil {
		return err
	}
	var ids []string
	pending := map[string]bool{}
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		sn.rows++
		switch {
		case rec.Invalid != "":
			sn.invalid++
		case pending[rec.TicketID] || sn.w.Has(rec.TicketID):
		default:
			pending[rec.TicketID] = true
			ids = append(ids, rec.TicketID)
		}
		if len(ids) < sn.r.round() {
			continue
		}
		if err := sn.readRound(ctx, ids); err != nil {
			return err
		}
		ids = ids[:0]
		clear(pending)
	}
	return sn.readRound(ctx, ids)
}

// readRound reads ids and adds them to the snapshot as each request
// answers: a stop keeps what was read.
func (sn *snapshotter) readRound(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return sn.r.each(ctx, ids, func(_ int, ts []batch.Ticket) error {
		at := time.Now()
		es := make([]snap.Entry, 0, len(ts))
		for _, t := range ts {
			if t.Unread != "" { // not "not found": not written, read again next time
				sn.noteUnread(t)
				continue
			}
			es = append(es, snap.NewEntry(t, at, sn.api, sn.book))
			sn.note(es[len(es)-1])
		}
		if err := sn.w.Add(es); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		return nil
	})
}

// noteUnread keeps a ticket the read could not take, to list.
func (sn *snapshotter) noteUnread(t batch.Ticket) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if len(sn.unread) < maxListed {
		sn.unread = append(sn.unread, t)
	}
}

// note counts an entry whose sub-status or queue no pair translates.
func (sn *snapshotter) note(e snap.Entry) {
	t := e.Ticket
	for _, f := range []struct {
		k   keynames.Kind
		c   batch.Code
		key string
	}{{keynames.SubStatus, t.SubStatus, e.SubStatusKey}, {keynames.Queue, t.Queue, e.QueueKey}} {
		v := strings.TrimSpace(f.c.Value + f.c.Name)
		if !t.Found || f.key != "" || f.c.Key != "" || v == "" {
			continue
		}
		sn.mu.Lock()
		if sn.untranslated == nil {
			sn.untranslated = map[keynames.Kind]*untranslated{}
		}
		u := sn.untranslated[f.k]
		if u == nil {
			u = &untranslated{value: v}
			sn.untranslated[f.k] = u
		}
		u.n++
		sn.mu.Unlock()
	}
}

// print says what the snapshot read: on stdout, however it ended (after
// an error, what was kept).
func (sn *snapshotter) print(w io.Writer, input, out string, err error) {
	var b strings.Builder
	read, found := sn.r.read.Load(), sn.r.found.Load()
	fmt.Fprintf(&b, "snapshot %s of %s: %s", out, input, readText(read, found))
	if read-found > 0 {
		b.WriteString(": a ticket not found is kept so, a fact and not a failure")
	}
	b.WriteString("\n")
	unread := sn.r.unread.Load()
	switch {
	case err == nil && unread == 0:
		fmt.Fprintf(&b, "  every ticket of the %s is in %s now (those it held already were not read again)\n", plural.Of(sn.rows-sn.invalid, "valid row", "valid rows"), out)
	case err == nil:
		fmt.Fprintf(&b, "  %s could not be read and %s not in %s (not \"not found\": nothing of %s is known); every other ticket is; the same command tries %s again:\n",
			plural.Of(unread, "ticket", "tickets"), plural.Pick(unread, "is", "are"), out, plural.Pick(unread, "it", "them"), plural.Pick(unread, "it", "them"))
		for _, t := range sn.unread {
			fmt.Fprintf(&b, "    ticket %s: %s\n", t.ID, t.Unread)
		}
		if more := unread - int64(len(sn.unread)); more > 0 {
			fmt.Fprintf(&b, "    … and %d more\n", more)
		}
	default:
		fmt.Fprintf(&b, "  stopped: the tickets read are kept in %s; the same command reads the rest\n", out)
	}
	if sn.invalid > 0 {
		fmt.Fprintf(&b, "  %s skipped (kapture-bulk validate lists them)\n", plural.Of(sn.invalid, "invalid row", "invalid rows"))
	}
	for _, k := range []keynames.Kind{keynames.SubStatus, keynames.Queue} {
		if u := sn.untranslated[k]; u != nil {
			fmt.Fprintf(&b, "  %s a %s that no known pair, or more than one, gives a key for (e.g. %q): undo lists them with the lines to add to a names file\n",
				plural.Of(u.n, "ticket holds", "tickets hold"), k, u.value)
		}
	}
	io.WriteString(w, b.String())
}
