package main

import (
	"flag"
	"strings"
)

// advice says what sends the rest of a run that stopped with rows not sent
// or of unknown outcome, so that it works as printed.
type advice struct {
	// sync: a --sync-state run, which refuses --resume: the next run
	// sends them.
	sync bool
	// command is the run's own command line with --resume instead of
	// --overwrite, quoted for a POSIX shell; stdin says it reads the
	// input from stdin, which must be given again.
	command string
	stdin   bool
	// token is where the token came from, set when the API refused it:
	// a person fixes it first, for no later run sends anything with it.
	token string
}

// text is the advice as a clause: "… sends them", or after a refused
// token "fix the token (…), then: …".
func (a advice) text() string {
	switch {
	case a.sync && a.token != "":
		return "fix the token (" + a.token + "); the next --sync-state run sends them"
	case a.sync:
		return "the next --sync-state run sends them"
	}
	next := a.command + " sends them"
	if a.token != "" {
		next = "fix the token (" + a.token + "), then: " + a.command
	}
	if a.stdin {
		next += ", given the same input on stdin again"
	}
	return next
}

// setFlag is a flag given on the command line, as parsed.
type setFlag struct {
	name, value string
	bool        bool
}

// setFlags returns the flags given to fs, in the order fs.Visit gives.
func setFlags(fs *flag.FlagSet) []setFlag {
	var set []setFlag
	fs.Visit(func(fl *flag.Flag) {
		b, ok := fl.Value.(interface{ IsBoolFlag() bool })
		set = append(set, setFlag{name: fl.Name, value: fl.Value.String(), bool: ok && b.IsBoolFlag()})
	})
	return set
}

// resumeCommand is the run command given flags and input, with --resume
// in place of --overwrite: the same input, results file, --limit and
// summary file, the same API and tuning. The token is never on a command
// line: it comes from the same file or environment.
func resumeCommand(set []setFlag, input string) string {
	args := []string{"kapture-bulk", "run", "--resume"}
	for _, f := range set {
		switch {
		case f.name == "resume" || f.name == "overwrite":
		case f.bool && f.value == "true":
			args = append(args, "--"+f.name)
		default:
			args = append(args, "--"+f.name+"="+f.value)
		}
	}
	if strings.HasPrefix(input, "-") && input != "-" {
		args = append(args, "--") // a file whose name starts with -
	}
	args = append(args, input)
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

// shellQuote returns s as one word for a POSIX shell: as it is when it
// holds nothing the shell would read otherwise, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
