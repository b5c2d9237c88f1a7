package main

// The docs as the doc tests read them: a markdown file's fenced blocks,
// its prose, its headings, and its runnable blocks joined into one sh
// script, by the convention both doc helpers follow (docs-convention:
// ```sh blocks run unless "<!-- not run: … -->" is on the line before;
// a foreground kapture-bulk command exits 0, or the N of an "exit N" in
// its trailing comment; the tenant's two export lines are dropped).

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// mdFence is one fenced block of a markdown file.
type mdFence struct {
	info   string   // the info string: "sh", "text", …
	line   int      // the line of the opening fence, from 1
	body   []string // its lines, the fence's indentation taken off
	notRun bool     // "<!-- not run: … -->" on the line before
}

// mdLine is a line of prose: outside every fence.
type mdLine struct {
	n    int
	text string
}

// mdDoc is a markdown file: its fences and the lines outside them.
type mdDoc struct {
	name   string
	fences []mdFence
	prose  []mdLine
}

var notRunMark = regexp.MustCompile(`^\s*<!--\s*not run:.*-->\s*$`)

// parseMarkdown splits text into fences and prose. A fence opens with
// three or more backticks or tildes, indented or not (a block inside a
// list item), and closes with at least as many of the same.
func parseMarkdown(name, text string) mdDoc {
	d := mdDoc{name: name}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimLeft(line, " ")
		mark := fenceMark(trimmed)
		if mark == "" {
			d.prose = append(d.prose, mdLine{i + 1, line})
			continue
		}
		indent := len(line) - len(trimmed)
		f := mdFence{info: strings.TrimSpace(trimmed[len(mark):]), line: i + 1,
			notRun: i > 0 && notRunMark.MatchString(lines[i-1])}
		for i++; i < len(lines); i++ {
			body := lines[i]
			if t := strings.TrimSpace(body); strings.HasPrefix(t, mark) && strings.Trim(t, mark[:1]) == "" {
				break
			}
			for k := 0; k < indent && strings.HasPrefix(body, " "); k++ {
				body = body[1:]
			}
			f.body = append(f.body, body)
		}
		d.fences = append(d.fences, f)
	}
	return d
}

// fenceMark returns the run of ``` or ~~~ (three or more) that line
// opens a fence with, or "".
func fenceMark(line string) string {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return line[:n]
		}
	}
	return ""
}

// shellBlock reports whether a fence holds shell commands, run or not:
// its flags are checked either way.
func shellBlock(f mdFence) bool {
	switch f.info {
	case "sh", "bash", "shell", "console", "zsh":
		return true
	}
	return false
}

// runnable reports whether the doc test runs f.
func runnable(f mdFence) bool { return f.info == "sh" && !f.notRun }

// docCmd is a foreground kapture-bulk command of a runnable block.
type docCmd struct {
	where string // FILE:LINE
	text  string // as written, continuation lines joined
	want  int    // the N of its "exit N" comment; 0 without one
}

var (
	tenantLine = regexp.MustCompile(`^\s*export\s+KAPTURE_(SUBDOMAIN|API_TOKEN)=`)
	// kbStart is a command line that starts with kapture-bulk, after
	// the line's indentation and any VAR=value.
	kbStart     = regexp.MustCompile(`^(\s*)((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*kapture-bulk(?:\s|$))`)
	exitComment = regexp.MustCompile(`\bexit (\d+)\b`)
	heredoc     = regexp.MustCompile(`<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)['"]?`)
)

// docScript joins the runnable blocks of d into one sh script. Each
// foreground kapture-bulk command is prefixed with KB_AT=FILE:LINE, for
// the kapture-bulk the test puts on PATH to record its exit code; cmds
// lists those commands in order, with their expected codes.
func docScript(d mdDoc) (script string, cmds []docCmd) {
	var b strings.Builder
	for _, f := range d.fences {
		if !runnable(f) {
			continue
		}
		fmt.Fprintf(&b, "# %s:%d\n", d.name, f.line)
		for i := 0; i < len(f.body); i++ {
			first, n := i, f.line+1+i
			logical := f.body[i]
			for continued(logical) && i+1 < len(f.body) {
				i++
				logical = logical[:len(logical)-1] + f.body[i]
			}
			lines := f.body[first : i+1]
			code, comment := splitComment(logical)
			switch m := kbStart.FindStringSubmatchIndex(lines[0]); {
			case tenantLine.MatchString(logical):
				b.WriteString("# (the tenant's line, dropped by the doc test) " + logical + "\n")
				continue
			case m != nil && !background(code):
				c := docCmd{where: fmt.Sprintf("%s:%d", d.name, n), text: strings.TrimSpace(code)}
				if e := exitComment.FindStringSubmatch(comment); e != nil {
					c.want, _ = strconv.Atoi(e[1])
				}
				cmds = append(cmds, c)
				lines = append([]string{lines[0][:m[3]] + "KB_AT=" + c.where + " " + lines[0][m[3]:]}, lines[1:]...)
			}
			b.WriteString(strings.Join(lines, "\n") + "\n")
			if h := heredoc.FindStringSubmatch(code); h != nil {
				for i++; i < len(f.body); i++ { // the here-document, as written
					b.WriteString(f.body[i] + "\n")
					if end := f.body[i]; end == h[3] || (h[1] == "-" && strings.TrimLeft(end, "\t") == h[3]) {
						break
					}
				}
			}
		}
	}
	return b.String(), cmds
}

// continued reports whether a shell line goes on on the next one: it
// ends in an odd number of backslashes.
func continued(line string) bool {
	n := len(line) - len(strings.TrimRight(line, `\`))
	return n%2 == 1
}

// background reports whether a command line ends in & (not &&).
func background(code string) bool {
	c := strings.TrimSpace(code)
	return strings.HasSuffix(c, "&") && !strings.HasSuffix(c, "&&")
}

// splitComment splits a shell line at its comment: a # that starts a word
// outside quotes.
func splitComment(line string) (code, comment string) {
	var quote rune
	prev := ' '
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && unicode.IsSpace(prev):
			return line[:i], line[i:]
		}
		prev = r
	}
	return line, ""
}

// heading is one heading of a markdown file, with its GitHub anchor.
type heading struct {
	line   int
	anchor string
}

var (
	atxHeading = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$`)
	mdLink     = regexp.MustCompile(`!?\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
)

// headings lists d's headings (ATX, and setext with ===) with the anchors
// GitHub gives them: a second heading of the same text gets "-1".
func headings(d mdDoc) []heading {
	var out []heading
	seen := map[string]int{}
	add := func(n int, text string) {
		a := slug(text)
		if k := seen[a]; k > 0 {
			seen[a]++
			a = fmt.Sprintf("%s-%d", a, k)
		} else {
			seen[a] = 1
		}
		out = append(out, heading{n, a})
	}
	for i, l := range d.prose {
		if m := atxHeading.FindStringSubmatch(l.text); m != nil {
			add(l.n, m[1])
			continue
		}
		next := i + 1
		if next < len(d.prose) && d.prose[next].n == l.n+1 && strings.TrimSpace(l.text) != "" &&
			strings.Trim(strings.TrimSpace(d.prose[next].text), "=") == "" && strings.TrimSpace(d.prose[next].text) != "" {
			add(l.n, l.text)
		}
	}
	return out
}

// slug is GitHub's anchor of a heading's text: the text as rendered
// (links and code marks gone), lower case, every character but letters,
// digits, '_', '-' and spaces dropped, spaces made '-'.
func slug(text string) string {
	text = mdLink.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
