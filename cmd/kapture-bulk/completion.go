package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// The completion command prints a completion script for bash or zsh,
// made from commands() and each command's FlagSet: a new command or flag
// completes without a word written here. A flag's value and a command's
// arguments complete as file names.

func completionFlagSet(e *env) *flag.FlagSet {
	return noArgsFlagSet(e, "completion", `Usage: kapture-bulk completion bash|zsh

Prints a script that completes kapture-bulk's commands and flags in the
shell named. To use it:

  bash, now:        source <(kapture-bulk completion bash)
  bash, for good:   kapture-bulk completion bash > /etc/bash_completion.d/kapture-bulk
  zsh, for good:    kapture-bulk completion zsh > "${fpath[1]}/_kapture-bulk"
                    (then start a new shell; compinit must be on)
`)
}

// cmdCompletion is the completion command.
func cmdCompletion(args []string, e *env) error {
	fs := completionFlagSet(e)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errWrongArgs(fs.Name(), "one shell, bash or zsh", len(pos))
	}
	switch pos[0] {
	case "bash":
		writeBashCompletion(e.stdout, commands())
	case "zsh":
		writeZshCompletion(e.stdout, commands())
	default:
		return usagef("completion %q: want bash or zsh %s", pos[0], helpHint(fs.Name()))
	}
	return nil
}

// leaf is a command that runs (not a command of commands), with its full
// name ("run", "state show") and its flags.
type leaf struct {
	path  string
	about string
	flags []*flag.Flag
}

// leaves lists the commands of cmds that run, subcommands included.
func leaves(prefix string, cmds []command) []leaf {
	var out []leaf
	for _, c := range cmds {
		path := strings.TrimSpace(prefix + " " + c.name)
		if c.subs != nil {
			out = append(out, leaves(path, c.subs)...)
			continue
		}
		l := leaf{path: path, about: c.about}
		if c.flags != nil {
			c.flags(&env{stdout: io.Discard, stderr: io.Discard}).VisitAll(func(f *flag.Flag) { l.flags = append(l.flags, f) })
		}
		out = append(out, l)
	}
	return out
}

// words are the words a command's first argument may be: the shells for
// completion, the commands for help; nil: file names.
func words(path string, cmds []command) []string {
	switch path {
	case "completion":
		return []string{"bash", "zsh"}
	case "help":
		return names(cmds)
	}
	return nil
}

func names(cmds []command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.name)
	}
	return out
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func writeBashCompletion(w io.Writer, cmds []command) {
	var b strings.Builder
	b.WriteString(`# bash completion for kapture-bulk: kapture-bulk completion bash
_kapture_bulk() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd=${COMP_WORDS[1]} skip=1 flags= values= words=
	COMPREPLY=()
	case $cmd in
`)
	for _, c := range cmds {
		if c.subs != nil {
			fmt.Fprintf(&b, "\t%s)\n\t\tskip=2\n\t\tif [ \"$COMP_CWORD\" -eq 2 ]; then words=%q; fi\n\t\tcmd=\"%s ${COMP_WORDS[2]}\" ;;\n", c.name, strings.Join(names(c.subs), " "), c.name)
		}
	}
	b.WriteString("\tesac\n\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n")
	fmt.Fprintf(&b, "\t\twords=%q\n", strings.Join(names(cmds), " "))
	b.WriteString("\telse\n\t\tcase $cmd in\n")
	for _, l := range leaves("", cmds) {
		var all, values []string
		for _, f := range l.flags {
			all = append(all, "--"+f.Name)
			if !isBool(f) {
				values = append(values, "--"+f.Name, "-"+f.Name)
			}
		}
		fmt.Fprintf(&b, "\t\t%q) flags=%q; values=%q", l.path, strings.Join(all, " "), strings.Join(values, " "))
		if ws := words(l.path, cmds); ws != nil {
			fmt.Fprintf(&b, "\n\t\t\t[ \"$COMP_CWORD\" -eq $((skip + 1)) ] && words=%q", strings.Join(ws, " "))
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString(`		esac
	fi
	# A flag's value, or an argument: file names (complete -o default).
	case " $values " in *" $prev "*) return ;; esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
	elif [ -n "$words" ]; then
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	fi
}
complete -o default -F _kapture_bulk kapture-bulk
`)
	io.WriteString(w, b.String())
}

// zshQuote quotes s for a single-quoted zsh word holding an _arguments
// spec or a _describe entry: ' closes the quote, brackets end a
// description.
func zshQuote(s string) string {
	return strings.NewReplacer("'", `'\''`, "[", `\[`, "]", `\]`).Replace(s)
}

// zshAbout is the first line of a flag's or command's description,
// shortened to fit a completion menu.
func zshAbout(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 70 {
		cut := strings.LastIndexByte(s[:70], ' ')
		if cut < 40 {
			cut = 70
		}
		s = s[:cut] + "…"
	}
	return s
}

func writeZshCompletion(w io.Writer, cmds []command) {
	var b strings.Builder
	b.WriteString("#compdef kapture-bulk\n# zsh completion for kapture-bulk: kapture-bulk completion zsh\n_kapture-bulk() {\n")
	writeZshDescribe(&b, "\t", "commands", cmds, "CURRENT == 2")
	b.WriteString("\tlocal cmd=$words[2]\n\tcase $cmd in\n")
	for _, c := range cmds {
		if c.subs == nil {
			continue
		}
		fmt.Fprintf(&b, "\t%s)\n", c.name)
		writeZshDescribe(&b, "\t\t", "subcommands", c.subs, "CURRENT == 3")
		fmt.Fprintf(&b, "\t\tcmd=\"%s $words[3]\"\n\t\tshift words\n\t\t(( CURRENT-- )) ;;\n", c.name)
	}
	b.WriteString("\tesac\n\tshift words\n\t(( CURRENT-- ))\n\tcase $cmd in\n")
	for _, l := range leaves("", cmds) {
		fmt.Fprintf(&b, "\t%q)\n\t\t_arguments -S", l.path)
		for _, f := range l.flags {
			_, usage := flag.UnquoteUsage(f)
			spec := fmt.Sprintf("--%s[%s]", f.Name, zshQuote(zshAbout(usage)))
			if !isBool(f) {
				spec += ":value:_files"
			}
			fmt.Fprintf(&b, " \\\n\t\t\t'%s'", spec)
		}
		if ws := words(l.path, cmds); ws != nil {
			fmt.Fprintf(&b, " \\\n\t\t\t'1:word:(%s)'", strings.Join(ws, " "))
		} else {
			b.WriteString(" \\\n\t\t\t'*:file:_files'")
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString("\tesac\n}\n")
	b.WriteString(`if [ "$funcstack[1]" = "_kapture-bulk" ]; then
	_kapture-bulk "$@"
else
	compdef _kapture-bulk kapture-bulk
fi
`)
	io.WriteString(w, b.String())
}

// writeZshDescribe offers cmds with what they do when cond holds.
func writeZshDescribe(b *strings.Builder, indent, what string, cmds []command, cond string) {
	fmt.Fprintf(b, "%sif (( %s )); then\n%s\tlocal -a cmds=(", indent, cond, indent)
	for _, c := range cmds {
		fmt.Fprintf(b, "\n%s\t\t'%s:%s'", indent, c.name, zshQuote(zshAbout(strings.ReplaceAll(c.about, "\n", " "))))
	}
	fmt.Fprintf(b, "\n%s\t)\n%s\t_describe -t %s %s cmds\n%s\treturn\n%sfi\n", indent, indent, what, what, indent, indent)
}
