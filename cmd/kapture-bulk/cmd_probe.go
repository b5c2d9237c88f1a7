package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
)

// probeOptions is the probe command as parsed.
type probeOptions struct {
	env   *env
	api   apiFlags
	names namesFlag
	args  []string // TICKET_ID, if the user gave exactly one
}

// cmdProbe is the probe command. It parses args, then hands the options
// to runF if a test gave one, else to probeRun.
func cmdProbe(ctx context.Context, args []string, e *env, runF func(context.Context, *probeOptions) error) error {
	o := &probeOptions{env: e}
	pos, err := parseArgs(probeFlagSet(o), args)
	if err != nil {
		return err
	}
	o.args = pos
	if runF != nil {
		return runF(ctx, o)
	}
	return probeRun(ctx, o)
}

// probeUsage is the help of probe, before its flags.
const probeUsage = `Usage: kapture-bulk probe [flags] TICKET_ID

Reads one ticket through the Get Ticket API and prints the raw reply
(customer data masked, the token redacted), then what kapture-bulk reads
from it: whether the ticket was found, its status, sub-status, queue and
disposition, and for each whether it is a key or a name (given --names, a
run's RESULTS.names.csv for one). Probe a ticket of the tenant before a
migration, snapshot or verify: a reply in a shape kapture-bulk cannot read
shows here first. Exits 0 when the ticket was read, 1 when the reply does
not have it (not found: probe one that exists), 2 for bad flags or a reply
in a shape it cannot read, 3 when the API refused the token or stayed
down.

`

// probeFlagSet is the probe command's flags, parsed into o, with its help
// as Usage.
func probeFlagSet(o *probeOptions) *flag.FlagSet {
	fs := commandFlagSet(o.env, "probe", probeUsage)
	o.api.register(fs, false)
	registerNames(fs, &o.names, "to tell a key from a name in the read")
	return fs
}

// probeRun reads the ticket and prints the reply and what is read of it.
func probeRun(ctx context.Context, o *probeOptions) error {
	if len(o.args) != 1 {
		return errWrongArgs("kapture-bulk probe", "one TICKET_ID", len(o.args))
	}
	id := strings.TrimSpace(o.args[0])
	if id == "" || strings.ContainsAny(id, ", \t") {
		return usagef("probe: ticket id %q: give one id, without commas or spaces %s", o.args[0], helpHint("kapture-bulk probe"))
	}
	if err := o.api.check(); err != nil {
		return err
	}
	if err := checkFiles(slices.Concat(o.api.files(), o.names.files())); err != nil {
		return err
	}
	ctx, s, err := o.api.openSession(ctx, o.env, "nothing was read", func(c *batch.Config) { c.ReadBatch = 1 })
	if err != nil {
		return err
	}
	defer s.close()
	book, err := loadBook("", o.names, s.api)
	if err != nil {
		return err
	}
	body, status, tickets, err := s.eng.ReadRaw(ctx, []string{id})
	var b strings.Builder
	if body != nil || status != 0 {
		fmt.Fprintf(&b, "Get Ticket %s%s for ticket %s: HTTP %d\nthe reply (customer data masked, the token redacted):\n", s.api, batch.ReadEndpoint, id, status)
		if len(body) == 0 && len(tickets) == 1 && tickets[0].Unread != "" {
			body = []byte("(not kept: " + tickets[0].Unread + ")")
		}
		b.Write(indentJSON(body))
		b.WriteString("\n")
	}
	if err == nil && len(tickets) == 1 {
		describeRead(&b, tickets[0], book, len(o.names) > 0)
	}
	io.WriteString(o.env.stdout, b.String())
	switch {
	case err != nil:
		return err
	case len(tickets) == 1 && tickets[0].Unread != "":
		return withCode(exitRowsFailed, fmt.Errorf("ticket %s cannot be read: %s", id, tickets[0].Unread))
	case len(tickets) != 1 || !tickets[0].Found:
		return withCode(exitRowsFailed, fmt.Errorf("ticket %s not found: the reply does not have it, so it shows nothing of how this tenant's reads show a ticket; probe one that exists", id))
	}
	return nil
}

// maxShown bounds the reply probe prints: a ticket's history may be long.
const maxShown = 64 << 10

// indentJSON is body indented for people when it is JSON, as it came
// otherwise, cut to maxShown bytes.
func indentJSON(body []byte) []byte {
	var buf bytes.Buffer
	if json.Indent(&buf, body, "", "  ") == nil {
		body = buf.Bytes()
	}
	if len(body) > maxShown {
		return append(body[:maxShown:maxShown], fmt.Sprintf("\n… (%d bytes more)", len(body)-maxShown)...)
	}
	return body
}

// describeRead says what kapture-bulk reads of t: each field, and whether
// its value is a key or a name as far as book tells (named: names files
// were given).
func describeRead(b *strings.Builder, t batch.Ticket, book *keynames.Book, named bool) {
	fmt.Fprintf(b, "what kapture-bulk reads of ticket %s:\n", t.ID)
	if t.Unread != "" {
		fmt.Fprintf(b, "  not read: %s\n", t.Unread)
		return
	}
	if !t.Found {
		b.WriteString("  found: no (the reply does not have it)\n")
		return
	}
	b.WriteString("  found: yes\n")
	for _, f := range []struct {
		kind keynames.Kind
		c    batch.Code
	}{{keynames.Status, t.Status}, {keynames.SubStatus, t.SubStatus}, {keynames.Queue, t.Queue}} {
		fmt.Fprintf(b, "  %-12s %s\n", string(f.kind)+":", describeCode(f.kind, t, f.c, book, named))
	}
	dispo := "not in the read: verify cannot check a disposition on this tenant, undo leaves it unchanged"
	if t.DispositionGiven {
		dispo = fmt.Sprintf("%q", t.Disposition)
	}
	fmt.Fprintf(b, "  %-12s %s\n", "disposition:", dispo)
}

// describeCode says what a field's value is: a key, a key's name, or
// what the book cannot tell.
func describeCode(k keynames.Kind, t batch.Ticket, c batch.Code, book *keynames.Book, named bool) string {
	v := strings.TrimSpace(c.Value)
	switch {
	case !c.Given:
		return fmt.Sprintf("not in the read: this tenant's reads may not carry the %s (verify then cannot check it; undo leaves it unchanged)", k)
	case c.Key != "":
		return fmt.Sprintf("key %q, named %q (the reply labels them)", c.Key, c.Name)
	case v == "" && c.Name != "":
		v = strings.TrimSpace(c.Name)
	case v == "":
		return "empty"
	}
	if !named {
		return fmt.Sprintf("%q: a key or a name? give --names (a run's RESULTS.names.csv) to tell", v)
	}
	key, err := book.ResolveIn(k, t)
	var unknown *keynames.UnknownError
	var amb *keynames.AmbiguousError
	switch {
	case errors.As(err, &unknown) && len(unknown.Known) > 0:
		return fmt.Sprintf("%q: the name of %s, none known to sit under status %q; add the line %s to a names file (columns kind,key,name,parent), KEY being Kapture's key", v, strings.Join(unknown.Known, ", "), unknown.Status, unknown.Add())
	case errors.As(err, &unknown):
		return fmt.Sprintf("%q: no known pair has it as key or name; if it is a name, add the line %s to a names file (columns kind,key,name,parent), KEY being Kapture's key", v, unknown.Add())
	case errors.As(err, &amb):
		return fmt.Sprintf("%q: the name of several keys (%s): a read that shows it cannot be translated", v, strings.Join(amb.Keys, ", "))
	case err != nil:
		return fmt.Sprintf("%q: %v", v, err)
	case key == v:
		if name, ok := book.Name(k, key); ok && name != key {
			return fmt.Sprintf("%q: a key, named %q", v, name)
		}
		return fmt.Sprintf("%q: a key", v)
	}
	return fmt.Sprintf("%q: the name of the key %s", v, key)
}
