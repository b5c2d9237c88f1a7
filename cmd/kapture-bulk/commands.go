package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// command is one of kapture-bulk's commands. Dispatch, the usage text,
// help COMMAND and the shell completion all read commands(), so that a
// new command is one entry there.
type command struct {
	name     string
	synopsis string // after "kapture-bulk NAME " in the usage text
	about    string // what it does, for the usage text; \n breaks a line
	// run does the command with the arguments after its name; nil for a
	// command that only has subcommands.
	run func(ctx context.Context, args []string, e *env) error
	// flags returns the command's flags with its help as Usage, as run
	// parses them (for completion and the help tests); nil: none.
	flags func(e *env) *flag.FlagSet
	subs  []command // a command of commands: state
	// signals: the command stops cleanly on SIGINT, SIGTERM and SIGHUP
	// (main.go hands them over); the others end at once, by default.
	signals bool
}

// commands is every command, in the order the usage lists them.
func commands() []command {
	return []command{
		{name: "run", synopsis: "[flags] INPUT", about: "apply INPUT (a CSV path, or - for stdin)", signals: true,
			run:   func(ctx context.Context, args []string, e *env) error { return cmdRun(ctx, args, e, nil) },
			flags: func(e *env) *flag.FlagSet { return runFlagSet(&runOptions{env: e}) }},
		{name: "validate", synopsis: "[flags] INPUT", about: "check INPUT only: no token, no network",
			run:   func(_ context.Context, args []string, e *env) error { return cmdValidate(args, e, nil) },
			flags: func(e *env) *flag.FlagSet { return validateFlagSet(&validateOptions{env: e}) }},
		{name: "report", synopsis: "[flags] RESULTS", about: "what a results CSV says: every row's final\nstate, the failure reasons, the rows to fix",
			run:   func(_ context.Context, args []string, e *env) error { return cmdReport(args, e, nil) },
			flags: func(e *env) *flag.FlagSet { return reportFlagSet(&reportOptions{env: e}) }},
		{name: "snapshot", synopsis: "--out SNAP.csv [flags] INPUT", about: "read what INPUT's tickets hold now, before a job", signals: true,
			run:   func(ctx context.Context, args []string, e *env) error { return cmdSnapshot(ctx, args, e, nil) },
			flags: func(e *env) *flag.FlagSet { return snapshotFlagSet(&snapshotOptions{env: e}) }},
		{name: "verify", synopsis: "[flags] INPUT", about: "read INPUT's tickets back: does each hold its\nlast row?", signals: true,
			run:   func(ctx context.Context, args []string, e *env) error { return cmdVerify(ctx, args, e, nil) },
			flags: func(e *env) *flag.FlagSet { return verifyFlagSet(&verifyOptions{env: e}) }},
		{name: "undo", synopsis: "--snapshot SNAP.csv --out RESTORE.csv", about: "an input that puts the tickets back as the\nsnapshot found them; no network",
			run:   func(_ context.Context, args []string, e *env) error { return cmdUndo(args, e, nil) },
			flags: func(e *env) *flag.FlagSet { return undoFlagSet(&undoOptions{env: e}) }},
		{name: "probe", synopsis: "[flags] TICKET_ID", about: "read one ticket: the raw reply, and what\nkapture-bulk reads of it",
			run:   func(ctx context.Context, args []string, e *env) error { return cmdProbe(ctx, args, e, nil) },
			flags: func(e *env) *flag.FlagSet { return probeFlagSet(&probeOptions{env: e}) }},
		{name: "mock", synopsis: "[flags]", about: "serve a local fake Kapture API", signals: true,
			run:   func(ctx context.Context, args []string, e *env) error { return cmdMock(ctx, args, e, nil) },
			flags: func(e *env) *flag.FlagSet { return mockFlagSet(&mockOptions{env: e}) }},
		{name: "state", synopsis: "show|export|stats --sync-state PATH [TICKET...]", about: "what a sync state holds",
			subs: stateCommands()},
		{name: "completion", synopsis: "bash|zsh", about: "print a shell completion script",
			run:   func(_ context.Context, args []string, e *env) error { return cmdCompletion(args, e) },
			flags: func(e *env) *flag.FlagSet { return completionFlagSet(e) }},
		{name: "version", about: "print the version",
			run:   func(_ context.Context, args []string, e *env) error { return cmdVersion(args, e) },
			flags: func(e *env) *flag.FlagSet { return versionFlagSet(e) }},
		{name: "help", synopsis: "[COMMAND]", about: "this text, or COMMAND --help",
			run: cmdHelp},
	}
}

// alias returns the command a top-level name stands for: two commands
// have the other names other tools give them.
func alias(name string) string {
	switch name {
	case "--version", "-version":
		return "version"
	case "--help", "-help", "-h":
		return "help"
	}
	return name
}

// findCommand returns the command of cmds named name.
func findCommand(cmds []command, name string) (command, bool) {
	i := slices.IndexFunc(cmds, func(c command) bool { return c.name == name })
	if i < 0 {
		return command{}, false
	}
	return cmds[i], true
}

// signalsFor reports whether the command args name takes the signals over.
func signalsFor(args []string) bool {
	if len(args) == 0 {
		return false
	}
	c, ok := findCommand(commands(), args[0])
	return ok && c.signals
}

// dispatch runs the command args[0] names among cmds, the subcommands of
// parent ("kapture-bulk", or "kapture-bulk state"). A command of
// commands takes --help or -h as its own, and dispatches the rest.
func dispatch(ctx context.Context, parent string, cmds []command, args []string, e *env) error {
	name := args[0]
	if parent == "kapture-bulk" {
		name = alias(name)
	}
	c, ok := findCommand(cmds, name)
	if !ok {
		return unknownCommand(parent, name, cmds)
	}
	if c.subs == nil {
		return c.run(ctx, args[1:], e)
	}
	full := parent + " " + c.name
	switch {
	case len(args) == 1:
		return usagef("%s needs a subcommand: %s (%s --help for more)", strings.TrimPrefix(full, "kapture-bulk "), subNames(c.subs), full)
	case isHelpFlag(args[1]):
		printGroupUsage(e.stdout, full, c.subs)
		return nil
	}
	return dispatch(ctx, full, c.subs, args[1:], e)
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "--help" || s == "-help" || s == "help"
}

// subNames lists the names of cmds as "a, b or c".
func subNames(cmds []command) string {
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// unknownCommand is the error for a command that is not one of cmds, with
// the command meant when it is a near miss.
func unknownCommand(parent, name string, cmds []command) error {
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	what := "command"
	if parent != "kapture-bulk" {
		what = strings.TrimPrefix(parent, "kapture-bulk ") + " subcommand"
	}
	if s := suggest(name, names); s != "" {
		return usagef("unknown %s %q: did you mean %s? (%s --help for the commands)", what, name, s, parent)
	}
	return usagef("unknown %s %q: want %s (%s --help for more)", what, name, subNames(cmds), parent)
}

// cmdHelp is help [COMMAND [SUBCOMMAND]]: the usage, or COMMAND --help.
func cmdHelp(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || (len(args) == 1 && (args[0] == "help" || isHelpFlag(args[0]))) {
		printUsage(e.stdout)
		return nil
	}
	err := dispatch(ctx, "kapture-bulk", commands(), append(slices.Clone(args), "--help"), e)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// printUsage is the top-level help: every command with what it does.
func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("kapture-bulk applies a CSV of ticket updates to Kapture CRM.\n\nUsage:\n")
	writeCommandList(&b, "kapture-bulk", commands())
	b.WriteString(`
Run "kapture-bulk COMMAND --help" (or "kapture-bulk help COMMAND") for the
flags of a command.
Exit codes: 0 all rows succeeded; 1 some rows failed or were invalid
(verify: some tickets do not match; undo: some were left out); 2 usage,
configuration or input error (nothing applied), or a Get Ticket reply in
a shape kapture-bulk cannot read; 3 aborted (API down, results file
locked: try later; authentication rejected: fix the token, then
--resume); 4 the input broke off (a CSV
syntax error in stdin) after rows were sent: fix it and --resume; 130
interrupted by a signal: --resume (snapshot: run it again).
`)
	io.WriteString(w, b.String())
}

// printGroupUsage is the help of a command of commands: its subcommands,
// each with its flags.
func printGroupUsage(w io.Writer, full string, subs []command) {
	var b strings.Builder
	b.WriteString("Usage:\n")
	writeCommandList(&b, full, subs)
	for _, c := range subs {
		fs := c.flags(&env{stdout: io.Discard, stderr: io.Discard})
		fmt.Fprintf(&b, "\nFlags of %s %s:\n", full, c.name)
		printFlags(&b, fs)
	}
	io.WriteString(w, b.String())
}

// writeCommandList writes one line per command, its synopsis padded to a
// column and what it does beside it (under it, when the synopsis is long).
func writeCommandList(b *strings.Builder, parent string, cmds []command) {
	const col = 40
	for _, c := range cmds {
		line := strings.TrimSpace(fmt.Sprintf("  %s %s %s", parent, c.name, c.synopsis))
		about := strings.Split(c.about, "\n")
		if len(line)+2 < col {
			fmt.Fprintf(b, "  %-*s%s\n", col-2, line, about[0])
			about = about[1:]
		} else {
			fmt.Fprintf(b, "  %s\n", line)
		}
		for _, a := range about {
			fmt.Fprintf(b, "%*s%s\n", col, "", a)
		}
	}
}

// noArgsFlagSet is the FlagSet of a command without flags: only its help.
func noArgsFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("kapture-bulk "+name, flag.ContinueOnError)
	fs.SetOutput(e.stdout) // help is asked for: stdout
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	return fs
}

func versionFlagSet(e *env) *flag.FlagSet {
	return noArgsFlagSet(e, "version", "Usage: kapture-bulk version\n\nPrints the version, the commit and the build date (also: --version).\n")
}

// cmdVersion prints the version.
func cmdVersion(args []string, e *env) error {
	fs := versionFlagSet(e)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("version takes no arguments, got %q %s", pos, helpHint(fs.Name()))
	}
	fmt.Fprintf(e.stdout, "kapture-bulk %s (commit %s, built %s)\n", version, commit, date)
	return nil
}

// commandFlagSet is the FlagSet of the command name, whose help is usage
// (ending in a blank line) and then its flags, as printFlags lists them.
func commandFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("kapture-bulk "+name, flag.ContinueOnError)
	fs.SetOutput(e.stdout) // help is asked for: stdout
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage+"Flags:\n")
		printFlags(fs.Output(), fs)
	}
	return fs
}
