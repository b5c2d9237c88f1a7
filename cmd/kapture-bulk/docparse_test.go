package main

import (
	"reflect"
	"strings"
	"testing"
)

// fenced turns ”' into ``` : a raw string cannot hold backticks.
func fenced(s string) string { return strings.ReplaceAll(s, "'''", "```") }

// The extraction: which blocks run, which lines are checked commands and
// with which code, and what the script holds.
func TestDocScript(t *testing.T) {
	doc := parseMarkdown("doc.md", fenced(`# Doc

<!-- not run: a real server -->
'''sh
kapture-bulk run --token-file /etc/token big.csv
'''

'''text
kapture-bulk validate not-run.csv
'''

'''sh
export KAPTURE_SUBDOMAIN=acme        # your tenant
export KAPTURE_API_TOKEN=...
kapture-bulk validate samples/x.csv   # exit 1: 3 invalid rows
kapture-bulk mock --addr 127.0.0.1:8080 &
kapture-bulk run --limit 20 \
  --batch-size 5 x.csv    # exit 2 (a flag error)
cat > in.csv <<'EOF'
kapture-bulk inside a here-document   # exit 9
EOF
kapture-bulk report --comment "fix #3" r.csv   # read it; exit is 0
kapture-bulk validate a.csv && kapture-bulk run a.csv
'''

1. A list item:

   '''sh
   KAPTURE_TIMEOUT=5s kapture-bulk version
   '''
`))
	script, cmds := docScript(doc)
	want := []docCmd{
		{"doc.md:15", "kapture-bulk validate samples/x.csv", 1},
		{"doc.md:17", "kapture-bulk run --limit 20   --batch-size 5 x.csv", 2},
		{"doc.md:22", `kapture-bulk report --comment "fix #3" r.csv`, 0},
		{"doc.md:23", "kapture-bulk validate a.csv && kapture-bulk run a.csv", 0},
		{"doc.md:29", "KAPTURE_TIMEOUT=5s kapture-bulk version", 0},
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("commands:\n%+v\nwant\n%+v", cmds, want)
	}
	for _, w := range []string{
		"# (the tenant's line, dropped by the doc test) export KAPTURE_SUBDOMAIN=acme",
		"\nKB_AT=doc.md:15 kapture-bulk validate samples/x.csv   # exit 1",
		"\nkapture-bulk mock --addr 127.0.0.1:8080 &\n", // background: not tagged
		"\nKB_AT=doc.md:17 kapture-bulk run --limit 20 \\\n  --batch-size 5 x.csv",
		"<<'EOF'\nkapture-bulk inside a here-document   # exit 9\nEOF\n",
		"\nKB_AT=doc.md:29 KAPTURE_TIMEOUT=5s kapture-bulk version\n",
	} {
		if !strings.Contains(script, w) {
			t.Errorf("the script has no %q:\n%s", w, script)
		}
	}
	for _, no := range []string{"big.csv", "not-run.csv", "export KAPTURE_API_TOKEN=...\n"} {
		if strings.Contains(script, no) && !strings.Contains(script, "dropped by the doc test) "+no) {
			t.Errorf("the script runs %q:\n%s", no, script)
		}
	}
}

// The commands found for the flag check, in shell and in code spans.
func TestKbCalls(t *testing.T) {
	for _, tc := range []struct {
		line string
		want [][]string
	}{
		{"kapture-bulk run --resume x.csv", [][]string{{"run", "--resume", "x.csv"}}},
		{"./bin/kapture-bulk state stats --sync-state s > out 2>&1", [][]string{{"state", "stats", "--sync-state", "s", ">", "out", "2>&1"}}},
		{"kapture-bulk validate a.csv && kapture-bulk run --limit 5 a.csv", [][]string{{"validate", "a.csv"}, {"run", "--limit", "5", "a.csv"}}},
		{"cat x | kapture-bulk run --results r.csv -", [][]string{{"run", "--results", "r.csv", "-"}}},
		{"KAPTURE_SUBDOMAIN=acme kapture-bulk probe 1; echo done", [][]string{{"probe", "1"}}},
		{"v=$(kapture-bulk state export --sync-state s)", [][]string{{"state", "export", "--sync-state", "s"}}},
		{"echo `kapture-bulk version` | kapture-bulk run -", [][]string{{"version"}, {"run", "-"}}},
		{"mv kapture-bulk-1.0-linux-amd64 kapture-bulk", nil},
		{"chmod +x kapture-bulk", nil},
		{"kapture-bulk", [][]string{nil}},
	} {
		var got [][]string
		for _, c := range kbCalls("x", tc.line) {
			got = append(got, c.words)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.line, got, tc.want)
		}
	}
}

// A flag a command does not have, a command that is not one; the rest
// passes, placeholders (CMD) included.
func TestCheckCall(t *testing.T) {
	cmds := leaves("", commands())
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"run", "--resume", "--rate=auto", "x.csv"}, ""},
		{[]string{"run", "--help"}, ""},
		{[]string{"state", "stats", "--sync-state", "s"}, ""},
		{[]string{"CMD", "--anything"}, ""},
		{[]string{"--version"}, ""},
		{[]string{"run", "--", "--not-a-flag.csv"}, ""},
		{[]string{"validate", "--resume", "x.csv"}, "x: kapture-bulk validate has no flag --resume"},
		{[]string{"state", "stats", "--full"}, "x: kapture-bulk state stats has no flag --full"},
		{[]string{"state", "list"}, "x: kapture-bulk state list: no such subcommand"},
		{[]string{"sync", "--full"}, "x: kapture-bulk sync: no such command"},
	} {
		got := strings.Join(checkCall(kbCall{"x", tc.words}, cmds), "\n")
		if got != tc.want {
			t.Errorf("%q: %q, want %q", tc.words, got, tc.want)
		}
	}
}

// Code spans, and links and headings outside them.
func TestCodeSpansAndAnchors(t *testing.T) {
	spans := codeSpans("run `kapture-bulk run --resume x` or ``a ` b`` then `c`")
	if want := []string{"kapture-bulk run --resume x", "a ` b", "c"}; !reflect.DeepEqual(spans, want) {
		t.Errorf("spans %q, want %q", spans, want)
	}
	for text, want := range map[string]string{
		"Nightly sync (`--sync-state`)":       "nightly-sync---sync-state",
		"How `--resume` decides":              "how---resume-decides",
		"`--rate auto`":                       "--rate-auto",
		"Backup, verify & undo: the way back": "backup-verify--undo-the-way-back",
		"See [the docs](docs/x.md) — Ünïcode": "see-the-docs--ünïcode",
	} {
		if got := slug(text); got != want {
			t.Errorf("slug(%q) = %q, want %q", text, got, want)
		}
	}
	d := parseMarkdown("d.md", fenced("# Same\n\n'''sh\n# not a heading\n'''\n\n## Same\n\nSetext\n===\n"))
	var got []string
	for _, h := range headings(d) {
		got = append(got, h.anchor)
	}
	if want := []string{"same", "same-1", "setext"}; !reflect.DeepEqual(got, want) {
		t.Errorf("anchors %q, want %q", got, want)
	}
}

// A Kubernetes container's args, block or flow style, are a command when
// they start with one; another container's are not.
func TestYAMLArgs(t *testing.T) {
	lines := strings.Split(`containers:
  - name: kapture-bulk
    args:
      - run
      - --sync-state=/data/acme.state   # the state
      - "--full"
      - /data/acme.csv
    env: []
  - name: other
    args: [sh, -c, "--not-ours"]
  - name: flow
    args: [state, stats, '--sync-state=/s']`, "\n")
	var got [][]string
	for _, c := range yamlArgs("c.yaml", lines) {
		got = append(got, append([]string{c.where}, c.words...))
	}
	want := [][]string{
		{"c.yaml:3", "run", "--sync-state=/data/acme.state", "--full", "/data/acme.csv"},
		{"c.yaml:12", "state", "stats", "--sync-state=/s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
}

// A link to a file that is not there, out of the repository, or to a
// heading a page does not have.
func TestCheckLink(t *testing.T) {
	anchors := func(file string) []string { return map[string][]string{"README.md": {"exit-codes"}}[file] }
	for _, tc := range []struct{ from, target, want string }{
		{"docs/x.md", "../README.md#exit-codes", ""},
		{"README.md", "#exit-codes", ""},
		{"README.md", "samples/march-closures.csv", ""},
		{"README.md", "deploy/", ""},
		{"README.md", "Makefile#L10", ""}, // not a page: the anchor is a line
		{"README.md", "#exit-code", "README.md has no heading #exit-code"},
		{"docs/x.md", "../README.md#nope", "README.md has no heading #nope"},
		{"docs/x.md", "nope.md", "no such file docs/nope.md"},
		{"docs/x.md", "../../etc/passwd", "leads out of the repository"},
	} {
		if got := checkLink(tc.from, tc.target, anchors); got != tc.want {
			t.Errorf("%s → %s: %q, want %q", tc.from, tc.target, got, tc.want)
		}
	}
}
