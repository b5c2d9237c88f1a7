package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// helpCase is a command (or a command of commands) and what its help
// must list: its flags, or its subcommands.
type helpCase struct {
	path []string
	want []string
}

// helpCases walks commands(): every command and subcommand.
func helpCases(prefix []string, cmds []command) []helpCase {
	var out []helpCase
	for _, c := range cmds {
		path := append(append([]string{}, prefix...), c.name)
		hc := helpCase{path: path}
		switch {
		case c.subs != nil:
			hc.want = names(c.subs)
			out = append(out, helpCases(path, c.subs)...)
		case c.flags != nil:
			for _, l := range leaves(strings.Join(prefix, " "), []command{c}) {
				for _, f := range l.flags {
					hc.want = append(hc.want, "--"+f.Name)
				}
			}
		}
		out = append(out, hc)
	}
	return out
}

// Every command's and subcommand's help, however asked for (--help, -h,
// help COMMAND), goes to stdout, exits 0 and lists its own flags (or
// subcommands).
func TestEveryHelpOnStdoutWithItsFlags(t *testing.T) {
	for _, hc := range helpCases(nil, commands()) {
		full := "kapture-bulk " + strings.Join(hc.path, " ")
		for _, args := range [][]string{
			append(append([]string{}, hc.path...), "--help"),
			append(append([]string{}, hc.path...), "-h"),
			append([]string{"help"}, hc.path...),
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := runOps(t, "", false, nil, args...)
				if r.code != exitOK || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
				}
				if !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, full) {
					t.Errorf("stdout does not start the help of %s:\n%s", full, r.stdout)
				}
				for _, w := range hc.want {
					if !strings.Contains(r.stdout, w) {
						t.Errorf("the help of %s does not list %s:\n%s", full, w, r.stdout)
					}
				}
			})
		}
	}
}

// A command of commands without one, or with a wrong one, is a usage
// error that lists them.
func TestStateWithoutSubcommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"state"}, "show, export or stats"},
		{[]string{"state", "stat"}, "did you mean stats?"},
		{[]string{"help", "stat"}, "did you mean state?"},
		{[]string{"version", "extra"}, "takes no arguments"},
	} {
		r := runOps(t, "", false, nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// The flags whose descriptions say what the command does with them.
func TestExtraColumnsSaysWhatEachCommandDoes(t *testing.T) {
	for cmd, want := range map[string]string{
		"run":      "also send these extra columns",
		"validate": "check these extra columns",
		"report":   "the extra columns the run was given",
	} {
		r := runOps(t, "", false, nil, cmd, "--help")
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%s --help: --extra-columns not described as %q", cmd, want)
		}
	}
}

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	r := runOps(t, "", false, nil, "completion", shell)
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("completion %s: exit %d, stderr %q", shell, r.code, r.stderr)
	}
	path := filepath.Join(t.TempDir(), "completion."+shell)
	if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The bash script, sourced by bash, completes commands, subcommands,
// flags and the words of completion and help; a flag's value and an
// argument are left to file names.
func TestBashCompletion(t *testing.T) {
	script := completionScript(t, "bash")
	for _, tc := range []struct {
		words []string // the last is the word being completed
		want  string
	}{
		{[]string{"ru"}, "run"},
		{[]string{"st"}, "state"},
		{[]string{"run", "--work"}, "--workers"},
		{[]string{"run", "in.csv", "--summ"}, "--summary-json"},
		{[]string{"run", "--results", ""}, ""},
		{[]string{"run", ""}, ""},
		{[]string{"state", "s"}, "show stats"},
		{[]string{"state", "stats", "--sy"}, "--sync-state"},
		{[]string{"completion", ""}, "bash zsh"},
		{[]string{"help", "va"}, "validate"},
		{[]string{"validate", "--all", "--l"}, "--limit"},
	} {
		words := append([]string{"kapture-bulk"}, tc.words...)
		var q []string
		for _, w := range words {
			q = append(q, "'"+w+"'")
		}
		prog := "source " + script + "\nCOMP_WORDS=(" + strings.Join(q, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_kapture_bulk\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command("bash", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.words, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("complete %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

// The zsh script parses, and its function hands _arguments each
// command's flags (zsh's completion functions stubbed to print).
func TestZshCompletion(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("no zsh here (.ci/run installs it)")
	}
	script := completionScript(t, "zsh")
	if out, err := exec.Command("zsh", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"r"}, []string{"_describe", "run:apply INPUT"}},
		{[]string{"run", "--w"}, []string{"_arguments", "--workers[payloads in flight, 1 to 64]:value:_files", "--resume[", "*:file:_files"}},
		{[]string{"state", "s"}, []string{"_describe", "stats:counts"}},
		{[]string{"state", "stats", "--s"}, []string{"_arguments", "--sync-state["}},
		{[]string{"completion", ""}, []string{"_arguments", "1:word:(bash zsh)"}},
	} {
		words := append([]string{"kapture-bulk"}, tc.words...)
		var q []string
		for _, w := range words {
			q = append(q, "'"+w+"'")
		}
		prog := `compdef() { :; }
_describe() { print -r -- _describe; print -rl -- "${(@P)4}"; }
_arguments() { print -r -- _arguments; print -rl -- "$@"; }
source ` + script + `
words=(` + strings.Join(q, " ") + `)
CURRENT=` + strconv.Itoa(len(words)) + `
_kapture-bulk
`
		var out bytes.Buffer
		cmd := exec.Command("zsh", "-f", "-c", prog)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%q: %v\n%s", tc.words, err, out.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("complete %q: %q not offered:\n%s", tc.words, w, out.String())
			}
		}
	}
}
