package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	snap "github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/internal/undo"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// undoOptions is the undo command as parsed.
type undoOptions struct {
	env      *env
	snapshot string
	results  string
	names    namesFlag
	out      string
	args     []string
}

// cmdUndo is the undo command. It parses args, then hands the options to
// runF if a test gave one, else to undoRun.
func cmdUndo(args []string, e *env, runF func(*undoOptions) error) error {
	o := &undoOptions{env: e}
	pos, err := parseArgs(undoFlagSet(o), args)
	if err != nil {
		return err
	}
	o.args = pos
	if runF != nil {
		return runF(o)
	}
	return undoRun(o)
}

// undoUsage is the help of undo, before its flags.
const undoUsage = `Usage: kapture-bulk undo --snapshot SNAP.csv [--results RESULTS] [--names FILE] --out RESTORE.csv

Writes RESTORE.csv, an ordinary input: run it to put each ticket back to
what the snapshot found, its sub-status, queue and disposition as keys. No
network, no token. A field the snapshot's reads did not carry is left blank
(unchanged), said once; comments and callback times cannot be undone. A
ticket not found when read, or whose prior value no pair (or more than one)
gives a key for, is left out and listed, with the line to add to a names
file. A snapshot of another tenant, or of none of the tickets the results
changed, is refused. Exits 0 when every ticket to restore has a row, 1 when
some were left out, 2 for bad input, files or flags.

`

// undoFlagSet is the undo command's flags, parsed into o, with its help
// as Usage.
func undoFlagSet(o *undoOptions) *flag.FlagSet {
	fs := commandFlagSet(o.env, "undo", undoUsage)
	fs.StringVar(&o.snapshot, "snapshot", "", "the snapshot of the tickets before the job: snapshot --out, or run --backup (required)")
	fs.StringVar(&o.results, "results", "", "the results CSV of the job: only the tickets it changed (a success, or an outcome nobody knows) are put back; its key-name pairs (RESULTS.names.csv) translate the snapshot's names (default: every ticket of the snapshot)")
	registerNames(fs, &o.names, "for the names of the snapshot no reply has shown")
	fs.StringVar(&o.out, "out", "", "the input to write (mode 0600; an earlier one is removed first, so a failed undo leaves none): ticket_id,sub_status,queue,disposition, as keys (required)")
	return fs
}

// files lists every file undo reads or writes, for checkFiles.
func (o *undoOptions) files() []file {
	return slices.Concat(input("--snapshot", o.snapshot), resultsInputs(o.results), o.names.files(), output("--out", o.out, tmpFile))
}

// check refuses what undo cannot do before anything is read.
func (o *undoOptions) check() error {
	hint := helpHint("kapture-bulk undo")
	switch {
	case len(o.args) > 0:
		return usagef("undo takes no arguments, got %q: give the files with --snapshot, --results and --out %s", o.args, hint)
	case o.snapshot == "":
		return usagef("undo: give --snapshot SNAP.csv, the snapshot of the tickets before the job %s", hint)
	case o.out == "":
		return usagef("undo: give --out RESTORE.csv, the input to write %s", hint)
	}
	if err := checkFiles(o.files()); err != nil {
		return err
	}
	if err := checkReadable(input("--snapshot", o.snapshot), input("--results", o.results), o.names.files()); err != nil {
		return err
	}
	return checkOutput("--out", o.out, header(undo.Header))
}

// undoRun writes RESTORE.csv and says on stdout what it holds and what it
// left out.
func undoRun(o *undoOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	if err := removeEarlier("--out", o.out); err != nil { // as verify's
		return err
	}
	api, err := snapshotAPI(o.snapshot)
	if err != nil {
		return err
	}
	if err := undo.SameTenant(o.snapshot, api, o.results); err != nil {
		return undoError(err)
	}
	book, err := loadBook(o.results, o.names, api)
	if err != nil {
		return err
	}
	outs, err := createOutputs(file{flag: "--out", path: o.out})
	if err != nil {
		return err
	}
	defer outs.abort()
	res, err := undo.Plan(undo.Options{Snapshot: o.snapshot, Results: o.results, Book: book, Out: outs.writer(0)})
	if err != nil {
		return undoError(err)
	}
	if err := outs.commit(); err != nil {
		return err
	}
	printUndo(o.env.stdout, o, res)
	if !res.Complete() {
		return withCode(exitRowsFailed, errSilent)
	}
	return nil
}

// errFirstEntry ends a read of a snapshot at its first entry.
var errFirstEntry = errors.New("first entry")

// snapshotAPI is the API the snapshot at path was read from ("" for a
// snapshot without rows), the snapshot checked as far as its first row.
func snapshotAPI(path string) (string, error) {
	var api string
	err := snap.Read(path, func(e snap.Entry) error {
		api = e.API
		return errFirstEntry
	})
	if err != nil && !errors.Is(err, errFirstEntry) {
		return "", undoError(err)
	}
	return api, nil
}

// undoError is an error of reading undo's files: one that cannot be read
// is exit 2, as one refused (app.go).
func undoError(err error) error {
	if isReadSideRefusal(err) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) || errors.Is(err, writer.ErrNotRegular) || errors.Is(err, writer.ErrNotResults) {
		return withCode(exitUsage, err)
	}
	return err
}

// printUndo says what RESTORE.csv holds, what it cannot restore, and each
// ticket left out with why.
func printUndo(w io.Writer, o *undoOptions, res *undo.Result) {
	var b strings.Builder
	fmt.Fprintf(&b, "undo of %s (read from %s): %s written to %s", o.snapshot, orNone(res.API), plural.Of(res.Restored, "ticket", "tickets"), o.out)
	if res.LeftOutTotal > 0 {
		fmt.Fprintf(&b, ", %d left out", res.LeftOutTotal)
	}
	b.WriteString("\n")
	if o.results != "" {
		fmt.Fprintf(&b, "  %s: %s changed by the job (a success, or an outcome nobody knows)\n", o.results, plural.Of(res.Changed, "ticket", "tickets"))
		if note := noPairsNote(o.results); note != "" {
			fmt.Fprintf(&b, "  %s\n", note)
		}
	}
	if res.Unsnapped > 0 {
		lines := joinInts(res.UnsnappedLines)
		if int64(len(res.UnsnappedLines)) < res.Unsnapped {
			lines += ", …"
		}
		tickets := strings.Join(res.UnsnappedTickets, ", ")
		if int64(len(res.UnsnappedTickets)) < res.Unsnapped {
			tickets += ", …"
		}
		fmt.Fprintf(&b, "  %s no state in %s, so cannot be restored: %s %s (input %s %s)\n",
			plural.Of(res.Unsnapped, "changed ticket has", "changed tickets have"), o.snapshot,
			plural.Pick(res.Unsnapped, "ticket", "tickets"), tickets, plural.Pick(len(res.UnsnappedLines), "line", "lines"), lines)
	}
	if len(res.NotCarried) > 0 {
		fmt.Fprintf(&b, "  cannot restore %s: the snapshot's reads do not carry %s, so RESTORE.csv leaves %s blank (unchanged)\n",
			strings.Join(res.NotCarried, ", "), plural.Pick(len(res.NotCarried), "it", "them"), plural.Pick(len(res.NotCarried), "it", "them"))
	}
	b.WriteString("  comments and callback times cannot be undone: an update cannot take them back\n")
	for _, f := range []string{"queue", "disposition"} {
		if n := res.NoneBefore[f]; n > 0 {
			fmt.Fprintf(&b, "  %s no %s when read: an update cannot clear one, so %s left as the job left it\n",
				plural.Of(n, "ticket held", "tickets held"), f, plural.Pick(n, "it is", "they are"))
		}
	}
	if len(res.Names) > 0 {
		b.WriteString("names no known pair gives a single key for (add a line to a names file of the columns kind,key,name,parent, KEY being Kapture's key, then run undo again with --names):\n")
		for _, n := range res.Names {
			switch {
			case n.Add != "":
				fmt.Fprintf(&b, "  %s    (%s)\n", n.Add, plural.Of(n.Tickets, "ticket", "tickets"))
			default:
				fmt.Fprintf(&b, "  %s %q stands for several keys (%s): restore those %s by hand\n", n.Kind, n.Value, strings.Join(n.Keys, ", "), plural.Of(n.Tickets, "ticket", "tickets"))
			}
		}
	}
	if len(res.LeftOut) > 0 {
		b.WriteString("left out:\n")
		for _, l := range res.LeftOut {
			fmt.Fprintf(&b, "  %s (%s line %d): %s\n", l.TicketID, o.snapshot, l.Line, l.Reason)
		}
		if more := res.LeftOutTotal - int64(len(res.LeftOut)); more > 0 {
			fmt.Fprintf(&b, "  … and %d more\n", more)
		}
	}
	io.WriteString(w, b.String())
}

func orNone(s string) string {
	if s == "" {
		return "no API: the snapshot has no rows"
	}
	return s
}

// joinInts lists ns as "3, 7, 12".
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
