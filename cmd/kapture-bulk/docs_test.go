package main

// The docs say what the binary does: every --flag they give a command is
// one of its flags, every relative link leads to a file and a heading.

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the repository, from this package's folder.
const repoRoot = "../.."

// docFiles are the markdown files the doc tests read: README.md, every
// docs/*.md and deploy/README.md, relative to the repository.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md", "deploy/README.md"}
	for _, p := range pages {
		files = append(files, filepath.ToSlash(strings.TrimPrefix(p, repoRoot+string(filepath.Separator))))
	}
	return files
}

// readDoc parses the markdown file name (relative to the repository).
func readDoc(t *testing.T, name string) mdDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return parseMarkdown(name, string(b))
}

// kbCall is a kapture-bulk command written in a doc or a deploy file:
// the words after "kapture-bulk", up to the end of the command.
type kbCall struct {
	where string
	words []string
}

// opWord ends a command: the words after it are another command's.
func opWord(w string) bool {
	switch w {
	case "|", "||", "&&", ";", "&", "(", "$(", "then", "do", "else", "!", "if", "while", "until", "sudo", "env", "exec", "time", "nohup", "$", "`":
		return true
	}
	return false
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// kbCalls finds the kapture-bulk commands of a line of shell (its comment
// taken off) or of a code span: "kapture-bulk" (or a path ending in it)
// where a command starts, $( and backquotes included.
func kbCalls(where, line string) []kbCall {
	var out []kbCall
	words := strings.Fields(line)
	start := true // a command may start at this word
	for i := 0; i < len(words); i++ {
		w := words[i]
		if start && assignment.MatchString(w) {
			_, v, _ := strings.Cut(w, "=")
			if !strings.HasPrefix(v, "$(") && !strings.HasPrefix(v, "`") {
				continue // VAR=value before a command
			}
			w = v
		}
		if strings.HasPrefix(w, "$(") || strings.HasPrefix(w, "(") || strings.HasPrefix(w, "`") {
			start, w = true, strings.TrimLeft(strings.TrimPrefix(w, "$("), "(`")
		}
		if !start || (w != "kapture-bulk" && !strings.HasSuffix(w, "/kapture-bulk")) {
			start = opWord(w) || endsCommand(w)
			continue
		}
		c := kbCall{where: where}
		for i++; i < len(words) && !opWord(words[i]) && !strings.HasPrefix(words[i], "#"); i++ {
			c.words = append(c.words, strings.TrimRight(words[i], ";)`|&"))
			if endsCommand(words[i]) {
				break
			}
		}
		out = append(out, c)
	}
	return out
}

// endsCommand reports whether a word ends with what ends a command
// (x.csv; or $(… x)), not a redirection's & (2>&1).
func endsCommand(w string) bool {
	return strings.ContainsAny(w, ";)`|") || strings.HasSuffix(w, "&&") ||
		(strings.HasSuffix(w, "&") && !strings.Contains(w, ">&"))
}

var (
	placeholder = regexp.MustCompile(`^[a-z][a-z-]*$`) // not CMD, COMMAND, <cmd>, …
	flagName    = regexp.MustCompile(`^--([^=]+)`)
)

// checkCall returns what is wrong with c: a command that is not one, or
// a flag its command does not have.
func checkCall(c kbCall, cmds []leaf) []string {
	if len(c.words) == 0 || !placeholder.MatchString(c.words[0]) && !strings.HasPrefix(c.words[0], "-") {
		return nil
	}
	name := alias(c.words[0])
	top, ok := findCommand(commands(), name)
	if !ok {
		return []string{c.where + ": kapture-bulk " + c.words[0] + ": no such command"}
	}
	args := c.words[1:]
	if top.subs != nil && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if !placeholder.MatchString(args[0]) {
			return nil
		}
		if _, ok := findCommand(top.subs, args[0]); !ok {
			return []string{c.where + ": kapture-bulk " + name + " " + args[0] + ": no such subcommand"}
		}
		name, args = name+" "+args[0], args[1:]
	}
	i := slices.IndexFunc(cmds, func(l leaf) bool { return l.path == name })
	var bad []string
	for _, a := range args {
		if a == "--" {
			break
		}
		m := flagName.FindStringSubmatch(a)
		if m == nil || m[1] == "help" {
			continue
		}
		if i < 0 || !slices.ContainsFunc(cmds[i].flags, func(f *flag.Flag) bool { return f.Name == m[1] }) {
			bad = append(bad, c.where+": kapture-bulk "+name+" has no flag --"+m[1])
		}
	}
	return bad
}

// codeSpans returns the inline code spans of a line of prose.
func codeSpans(line string) []string {
	var out []string
	for {
		open := strings.Index(line, "`")
		if open < 0 {
			return out
		}
		n := len(line[open:]) - len(strings.TrimLeft(line[open:], "`"))
		rest := line[open+n:]
		end := strings.Index(rest, line[open:open+n])
		for end >= 0 && strings.HasPrefix(rest[end+n:], "`") { // a longer run is not the close
			next := strings.Index(rest[end+n:], line[open:open+n])
			if next < 0 {
				end = -1
				break
			}
			end += n + next
		}
		if end < 0 {
			return out
		}
		out = append(out, strings.TrimSpace(rest[:end]))
		line = rest[end+n:]
	}
}

// docCalls lists the kapture-bulk commands of a markdown file: in every
// shell block, run or not, and in its code spans.
func docCalls(d mdDoc) []kbCall {
	var out []kbCall
	for _, f := range d.fences {
		if !shellBlock(f) {
			continue
		}
		out = append(out, shellCalls(d.name, f.line+1, f.body)...)
	}
	for _, l := range d.prose {
		for _, s := range codeSpans(l.text) {
			out = append(out, kbCalls(d.name+":"+strconv.Itoa(l.n), s)...)
		}
	}
	return out
}

// shellCalls lists the kapture-bulk commands of lines of shell, the first
// of them line n of file: continuation lines joined, comments and
// console prompts ("$ ") taken off.
func shellCalls(file string, n int, lines []string) []kbCall {
	var out []kbCall
	for i := 0; i < len(lines); i++ {
		first, logical := i, lines[i]
		for continued(logical) && i+1 < len(lines) {
			i++
			logical = logical[:len(logical)-1] + " " + lines[i]
		}
		code, _ := splitComment(strings.TrimPrefix(strings.TrimSpace(logical), "$ "))
		out = append(out, kbCalls(file+":"+strconv.Itoa(n+first), code)...)
	}
	return out
}

var (
	execLine = regexp.MustCompile(`^Exec[A-Za-z]*=[-@:+!]*`)
	argsKey  = regexp.MustCompile(`^(\s*)args:\s*(\[.*\])?\s*$`)
	listItem = regexp.MustCompile(`^\s*-\s+(.*?)\s*$`)
)

// deployCalls lists the kapture-bulk commands of the scheduler files in
// deploy/: the cron wrapper's lines, the systemd units' Exec lines and
// the Kubernetes containers' args (a list that starts with a command).
func deployCalls(t *testing.T) []kbCall {
	t.Helper()
	var out []kbCall
	for _, pattern := range []string{"deploy/cron/*", "deploy/cron/cron.d/*", "deploy/systemd/*", "deploy/kubernetes/*.yaml"} {
		paths, err := filepath.Glob(filepath.Join(repoRoot, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(filepath.ToSlash(p), repoRoot+"/")
			lines := strings.Split(string(b), "\n")
			switch {
			case strings.HasSuffix(p, ".yaml"):
				out = append(out, yamlArgs(name, lines)...)
			case strings.Contains(name, "/systemd/"):
				for i, l := range lines {
					if execLine.MatchString(l) {
						out = append(out, shellCalls(name, i+1, []string{execLine.ReplaceAllString(l, "")})...)
					}
				}
			default:
				out = append(out, shellCalls(name, 1, lines)...)
			}
		}
	}
	return out
}

// yamlArgs returns the args lists of a YAML file that start with a
// kapture-bulk command, as calls.
func yamlArgs(name string, lines []string) []kbCall {
	var out []kbCall
	for i := 0; i < len(lines); i++ {
		m := argsKey.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		c := kbCall{where: name + ":" + strconv.Itoa(i+1)}
		if m[2] != "" { // args: [run, --x]
			for _, w := range strings.Split(strings.Trim(m[2], "[]"), ",") {
				c.words = append(c.words, strings.Trim(strings.TrimSpace(w), `'"`))
			}
		}
		for ; m[2] == "" && i+1 < len(lines); i++ {
			item := listItem.FindStringSubmatch(lines[i+1])
			if item == nil || len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) < len(m[1]) {
				break
			}
			w, _ := splitComment(item[1])
			c.words = append(c.words, strings.Trim(strings.TrimSpace(w), `'"`))
		}
		if len(c.words) > 0 {
			if _, ok := findCommand(commands(), c.words[0]); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

// Every --flag the docs and the deploy files give a kapture-bulk command
// is one of its flags (checked against the command table, as the help
// and the completion read it), and every command named is one.
func TestDocsFlagsExist(t *testing.T) {
	t.Parallel()
	cmds := leaves("", commands())
	var calls []kbCall
	for _, name := range docFiles(t) {
		calls = append(calls, docCalls(readDoc(t, name))...)
	}
	if len(calls) < 10 {
		t.Fatalf("only %d kapture-bulk commands found in the docs: is the parser blind?", len(calls))
	}
	deploy := deployCalls(t)
	for _, file := range []string{"deploy/cron/kapture-bulk-nightly", "deploy/kubernetes/cronjob.yaml"} {
		if !slices.ContainsFunc(deploy, func(c kbCall) bool { return strings.HasPrefix(c.where, file+":") }) {
			t.Errorf("no kapture-bulk command found in %s: is the reader blind, or did it move?", file)
		}
	}
	calls = append(calls, deploy...)
	for _, c := range calls {
		for _, bad := range checkCall(c, cmds) {
			t.Error(bad)
		}
	}
}

var scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// Every relative link of the docs leads to a file of the repository, and
// its #anchor, if any, to a heading of that file (a .md).
func TestDocsLinks(t *testing.T) {
	t.Parallel()
	anchors := map[string][]string{} // file → its headings' anchors
	anchorsOf := func(name string) []string {
		if a, ok := anchors[name]; ok {
			return a
		}
		for _, h := range headings(readDoc(t, name)) {
			anchors[name] = append(anchors[name], h.anchor)
		}
		return anchors[name]
	}
	links := 0
	for _, name := range docFiles(t) {
		for _, l := range readDoc(t, name).prose {
			for _, m := range mdLink.FindAllStringSubmatch(stripSpans(l.text), -1) {
				target := m[2]
				if target == "" || scheme.MatchString(target) {
					continue
				}
				links++
				where := name + ":" + strconv.Itoa(l.n) + ": " + m[0]
				if bad := checkLink(name, target, anchorsOf); bad != "" {
					t.Errorf("%s: %s", where, bad)
				}
			}
		}
	}
	if links == 0 {
		t.Fatal("no relative link found in the docs: is the parser blind?")
	}
}

// checkLink returns what is wrong with a link to target written in the
// file from (both relative to the repository), or "".
func checkLink(from, target string, anchorsOf func(string) []string) string {
	path, anchor, _ := strings.Cut(target, "#")
	file := from
	if path != "" {
		file = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(from), path)))
		if file == ".." || strings.HasPrefix(file, "../") {
			return "leads out of the repository"
		}
		if _, err := os.Stat(filepath.Join(repoRoot, file)); err != nil {
			return "no such file " + file
		}
	}
	if anchor == "" || !strings.HasSuffix(file, ".md") {
		return ""
	}
	if !slices.Contains(anchorsOf(file), anchor) {
		return file + " has no heading #" + anchor
	}
	return ""
}

// stripSpans takes the code spans out of a line of prose: a link in one
// is not a link.
func stripSpans(line string) string {
	for _, s := range codeSpans(line) {
		line = strings.Replace(line, s, "", 1)
	}
	return line
}
