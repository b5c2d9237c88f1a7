package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kapture-bulk/kapture-bulk/internal/syncstate"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// cmdState is the state command: a look at a sync state (show, export,
// stats). It opens the state read-only, so it fails at once (exit 3) while
// a run has it.
func cmdState(args []string, e *env) error {
	if len(args) == 0 {
		return usagef("state needs a subcommand: show TICKET..., export or stats")
	}
	sub := args[0]
	fs := flag.NewFlagSet("kapture-bulk state "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var path string
	fs.StringVar(&path, "sync-state", "", "the sync state file (required)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  kapture-bulk state show --sync-state PATH TICKET...\n  kapture-bulk state export --sync-state PATH   (CSV on stdout)\n  kapture-bulk state stats --sync-state PATH\n\nFlags:\n")
		printFlags(fs.Output(), fs)
	}
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub != "show" && sub != "export" && sub != "stats":
		fs.Usage()
		return usagef("unknown state subcommand %q: want show, export or stats", sub)
	case path == "":
		return usagef("state %s: give --sync-state PATH", sub)
	case sub == "show" && len(pos) == 0:
		return usagef("state show: give one or more ticket ids")
	case sub != "show" && len(pos) > 0:
		return usagef("state %s takes no arguments, got %q", sub, pos)
	}
	st, err := syncstate.Open(path, syncstate.Options{ReadOnly: true})
	switch {
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
	fmt.Fprintf(w, "sync state %s: %d bytes\n", st.Path(), s.Bytes)
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
