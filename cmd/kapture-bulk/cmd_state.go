package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/syncstate"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// stateCommands are the state command's subcommands: a look at a sync
// state. Each opens the state read-only, so it fails at once (exit 3)
// while a run has it.
func stateCommands() []command {
	sub := func(name, synopsis, about string) command {
		return command{name: name, synopsis: synopsis, about: about,
			run:   func(_ context.Context, args []string, e *env) error { return cmdState(name, args, e) },
			flags: func(e *env) *flag.FlagSet { return stateFlagSet(e, name, synopsis, about, new(string)) }}
	}
	return []command{
		sub("show", "--sync-state PATH TICKET...", "what the state holds for each ticket"),
		sub("export", "--sync-state PATH", "the whole state as CSV on stdout"),
		sub("stats", "--sync-state PATH", "counts, the API and the last runs"),
	}
}

// stateFlagSet is the flags of state's subcommand sub, parsed into path,
// with its help as Usage.
func stateFlagSet(e *env, sub, synopsis, about string, path *string) *flag.FlagSet {
	fs := flag.NewFlagSet("kapture-bulk state "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stdout) // help is asked for: stdout
	fs.StringVar(path, "sync-state", "", "the sync state file (required)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kapture-bulk state %s %s\n\nPrints %s. Opens the state read-only: while a run has it, exits 3 at once.\n\nFlags:\n", sub, synopsis, about)
		printFlags(fs.Output(), fs)
	}
	return fs
}

// cmdState is the state subcommand sub with its arguments.
func cmdState(sub string, args []string, e *env) error {
	c, _ := findCommand(stateCommands(), sub)
	var path string
	fs := stateFlagSet(e, sub, c.synopsis, c.about, &path)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case path == "":
		return usagef("state %s: give --sync-state PATH %s", sub, helpHint(fs.Name()))
	case sub == "show" && len(pos) == 0:
		return usagef("state show: give one or more ticket ids %s", helpHint(fs.Name()))
	case sub != "show" && len(pos) > 0:
		return usagef("state %s takes no arguments, got %q %s", sub, pos, helpHint(fs.Name()))
	}
	st, err := syncstate.Open(path, syncstate.Options{ReadOnly: true})
	switch {
	case errors.Is(err, os.ErrNotExist):
		return usagef("--sync-state %s: no such file: a sync run makes it; give the path its runs use", path)
	case errors.Is(err, syncstate.ErrLockedState):
		return withCode(exitAborted, fmt.Errorf("%w: a run is using it; try again when it ends", err))
	case err != nil:
		return withCode(exitUsage, syncAdvice(err))
	}
	defer st.Close()
	out := bufio.NewWriter(e.stdout)
	switch sub {
	case "show":
		err = stateShow(out, st, pos)
	case "export":
		err = stateExport(out, st)
	default:
		err = stateStats(out, st)
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if errors.Is(err, syncstate.ErrDamaged) { // met past what Open read
		err = withCode(exitUsage, syncAdvice(err))
	}
	return err
}

// fingerprint spells a ticket's content as the results CSV does (without
// an occurrence), so that it can be looked up there.
func fingerprint(ticket string, e syncstate.Entry) string {
	if e.Content == 0 {
		return ""
	}
	return rowkey.Key{Content: e.Content, Ticket: rowkey.TicketHash(ticket)}.String()
}

func applied(e syncstate.Entry) string {
	if e.Applied.IsZero() {
		return ""
	}
	return e.Applied.UTC().Format("2006-01-02T15:04:05.000Z")
}

// stateShow prints one line per ticket asked for.
func stateShow(w io.Writer, st *syncstate.State, tickets []string) error {
	for _, t := range tickets {
		e, found, err := st.Get(t)
		if err != nil {
			return err
		}
		switch {
		case !found:
			fmt.Fprintf(w, "%s: not in the state (a sync run sends it)\n", t)
		case e.Status == syncstate.Applied:
			fmt.Fprintf(w, "%s: applied %s, fingerprint %s\n", t, applied(e), fingerprint(t, e))
		default:
			what := "its last row failed"
			if e.Status == syncstate.Unknown {
				what = "its last request's outcome is unknown (in flight when a run stopped)"
			}
			fmt.Fprintf(w, "%s: %s: the next sync run sends it", t, what)
			if !e.Applied.IsZero() {
				fmt.Fprintf(w, " (last applied %s, fingerprint %s)", applied(e), fingerprint(t, e))
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

// stateExport writes the state as CSV, in the order of the ticket ids as
// bytes; a ticket id a spreadsheet would run as a formula is neutralised
// as in the results CSV.
func stateExport(w io.Writer, st *syncstate.State) error {
	c := csv.NewWriter(w)
	c.Write([]string{"ticket_id", "fingerprint", "last_applied", "status"})
	err := st.Scan(func(t string, e syncstate.Entry) error {
		return c.Write([]string{writer.Inert(t), fingerprint(t, e), applied(e), e.Status.String()})
	})
	c.Flush()
	return errors.Join(err, c.Error())
}

// stateStats prints counts and the last runs.
func stateStats(w io.Writer, st *syncstate.State) error {
	s, err := st.Stats()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "sync state %s: %s\n", st.Path(), plural.Of(s.Bytes, "byte", "bytes"))
	if s.API != "" {
		fmt.Fprintf(w, "API: %s\n", s.API)
	} else {
		fmt.Fprintln(w, "API: not recorded yet (the next run records its own)")
	}
	fmt.Fprintf(w, "tickets: %d: %d applied, %d failed, %d unknown (sent again by the next run)\n", s.Tickets, s.Applied, s.Failed, s.Unknown)
	fmt.Fprintf(w, "last run started: %s\n", orNever(s.RunStarted))
	fmt.Fprintf(w, "last run finished: %s\n", orNever(s.RunFinished))
	fmt.Fprintf(w, "last --full run finished: %s\n", orNever(s.FullFinished))
	if s.Results != "" {
		fmt.Fprintf(w, "last results file: %s\n", s.Results)
	}
	if s.Open {
		fmt.Fprintln(w, "the last run did not close the state (killed, or the machine stopped): the next run sends again what it had in flight")
	}
	return nil
}

func orNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
