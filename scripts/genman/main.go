// Command genman writes kapture-bulk's man page, kapture-bulk(1), from
// what the binary prints: its --help, and each command's --help under
// COMMANDS. Nothing is written by hand, so the page says what the help
// says, whatever its wording.
//
//	go run ./scripts/genman -bin bin/kapture-bulk -o dist/kapture-bulk.1
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("genman", flag.ContinueOnError)
	bin := fs.String("bin", "bin/kapture-bulk", "the kapture-bulk binary whose help to turn into the page")
	out := fs.String("o", "", "write the page to this file (default: stdout)")
	date := fs.String("date", time.Now().UTC().Format("2006-01-02"), "the page's date")
	if err := fs.Parse(args); err != nil {
		return err
	}
	help := func(args ...string) (string, error) {
		// Help may go to stdout or stderr, with any exit code: take both.
		b, err := exec.Command(*bin, args...).CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			return "", err
		}
		return string(b), nil
	}
	var page bytes.Buffer
	if err := render(&page, help, *date); err != nil {
		return err
	}
	if *out == "" {
		_, err := stdout.Write(page.Bytes())
		return err
	}
	return os.WriteFile(*out, page.Bytes(), 0o644)
}

// commandRe finds the commands the top-level help lists.
var commandRe = regexp.MustCompile(`(?m)^\s+kapture-bulk ([a-z][a-z-]*)`)

// render writes the page: NAME and DESCRIPTION from the top-level help,
// and a subsection per command whose --help is a usage text.
func render(w io.Writer, help func(args ...string) (string, error), date string) error {
	top, err := help("--help")
	if err != nil {
		return fmt.Errorf("kapture-bulk --help: %w", err)
	}
	version, err := help("version")
	if err != nil {
		return fmt.Errorf("kapture-bulk version: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(top), "\n")
	if len(lines) < 2 {
		return fmt.Errorf("kapture-bulk --help printed %q: not a help text", top)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(lines[0], "kapture-bulk "), ".")
	ver := "dev" // "kapture-bulk VERSION (commit ...)"
	if f := strings.Fields(version); len(f) >= 2 {
		ver = f[1]
	}
	fmt.Fprintf(w, ".TH KAPTURE\\-BULK 1 %q \"kapture\\-bulk %s\" \"User Commands\"\n", date, escapeDashes(ver))
	fmt.Fprintf(w, ".SH NAME\nkapture\\-bulk \\- %s\n.SH DESCRIPTION\n", escape(name))
	writeText(w, strings.Join(lines[1:], "\n"))
	fmt.Fprintln(w, ".SH COMMANDS")
	seen := map[string]bool{}
	for _, m := range commandRe.FindAllStringSubmatch(top, -1) {
		cmd := m[1]
		if seen[cmd] {
			continue
		}
		seen[cmd] = true
		text, err := help(cmd, "--help")
		if err != nil {
			return fmt.Errorf("kapture-bulk %s --help: %w", cmd, err)
		}
		if !strings.Contains(strings.ToLower(text), "usage") || text == top {
			continue // version prints the version; a command without help of its own
		}
		fmt.Fprintf(w, ".SS \"kapture\\-bulk %s\"\n", escape(cmd))
		writeText(w, text)
	}
	return nil
}

var (
	// flagRe is a flag's line: "  --name type", "  -n, --name type",
	// possibly followed by its description after two spaces or more.
	flagRe = regexp.MustCompile(`^ {1,4}(-{1,2}[A-Za-z][^ ]*(?:, -{1,2}[A-Za-z][^ ]*)?(?: [^ ]+)?)(?: {2,}(.*))?$`)
	// descRe is a flag's description line, indented deeper than a flag.
	descRe = regexp.MustCompile(`^(?: *\t| {6,})\s*(.*)$`)
)

// writeText turns a help text into roff: flags with their descriptions
// into tagged paragraphs, other indented lines kept as they are (usage
// lines, tables), unindented lines filled into paragraphs.
func writeText(w io.Writer, text string) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	mode := ""    // "p" filling a paragraph, "nf" no-fill, "tp" a flag's description
	first := true // right after a heading, which starts a paragraph itself
	set := func(m string) {
		if m == mode && m != "tp" {
			return
		}
		if mode == "nf" {
			fmt.Fprintln(w, ".fi")
		}
		if (m == "p" || m == "nf") && !first {
			fmt.Fprintln(w, ".PP")
		}
		if m == "nf" {
			fmt.Fprintln(w, ".nf")
		}
		mode, first = m, false
	}
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		switch {
		case l == "":
			if mode == "nf" {
				set("")
			}
			mode = ""
		case flagRe.MatchString(l):
			m := flagRe.FindStringSubmatch(l)
			set("tp")
			fmt.Fprintf(w, ".TP\n.B %s\n", escapeDashes(m[1]))
			if m[2] != "" {
				fmt.Fprintln(w, escape(m[2]))
			}
		case mode == "tp" && descRe.MatchString(l):
			fmt.Fprintln(w, escape(descRe.FindStringSubmatch(l)[1]))
		case l[0] == ' ' || l[0] == '\t':
			set("nf")
			fmt.Fprintln(w, escapeDashes(strings.ReplaceAll(l, "\t", "        ")))
		default:
			set("p")
			fmt.Fprintln(w, escape(l))
		}
	}
	if mode == "nf" {
		fmt.Fprintln(w, ".fi")
	}
}

// escape makes s a line of roff text: backslashes printed as such, and a
// line that starts with a control character not taken for a request.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// escapeDashes is escape with every "-" a minus sign, as options and
// commands are set, so that they can be copied from the page.
func escapeDashes(s string) string {
	return strings.ReplaceAll(escape(s), "-", `\-`)
}
