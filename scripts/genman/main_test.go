package main

import (
	"strings"
	"testing"
)

// helps answers as a binary would: its help texts by arguments.
func helps(texts map[string]string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) { return texts[strings.Join(args, " ")], nil }
}

const topHelp = `kapture-bulk applies a CSV of ticket updates to Kapture CRM.

Usage:
  kapture-bulk run [flags] INPUT        apply INPUT
  kapture-bulk version

Exit codes: 0 all rows succeeded.
`

const runHelp = `Usage: kapture-bulk run [flags] INPUT

.csv files only; a path like C:\exports is fine.

Flags:
  --token-file string
    	file holding the API token (default: env KAPTURE_API_TOKEN)
  -h, --help   help for run
`

// TestRender: the page has the top-level help as its description, a
// subsection per command with a help of its own, each flag as a tagged
// paragraph, and text that roff would take for requests escaped.
func TestRender(t *testing.T) {
	var b strings.Builder
	err := render(&b, helps(map[string]string{
		"--help": topHelp, "version": "kapture-bulk 1.2.0 (commit abc)\n",
		"run --help": runHelp, "version --help": "kapture-bulk 1.2.0 (commit abc)\n",
	}), "2026-12-07")
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		".TH KAPTURE\\-BULK 1 \"2026-12-07\" \"kapture\\-bulk 1.2.0\" \"User Commands\"\n",
		".SH NAME\nkapture\\-bulk \\- applies a CSV of ticket updates to Kapture CRM\n",
		".SH DESCRIPTION\nUsage:\n.PP\n.nf\n  kapture\\-bulk run [flags] INPUT        apply INPUT\n",
		".SS \"kapture\\-bulk run\"\nUsage: kapture-bulk run [flags] INPUT\n",
		"\\&.csv files only; a path like C:\\eexports is fine.\n",
		".TP\n.B \\-\\-token\\-file string\nfile holding the API token (default: env KAPTURE_API_TOKEN)\n",
		".TP\n.B \\-h, \\-\\-help\nhelp for run\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks\n%s\npage:\n%s", want, page)
		}
	}
	if strings.Contains(page, `.SS "kapture\-bulk version"`) {
		t.Error("version, which prints no usage, has a subsection")
	}
	for _, bad := range []string{".SH DESCRIPTION\n.PP", "\"\n.PP", ".nf\n.nf"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q:\n%s", bad, page)
		}
	}
}

// TestRenderRefusesNoHelp: a binary that prints no help text gives no page.
func TestRenderRefusesNoHelp(t *testing.T) {
	var b strings.Builder
	if err := render(&b, helps(map[string]string{"--help": "oops\n"}), "2026-12-07"); err == nil {
		t.Errorf("no error for a one-line help; page:\n%s", b.String())
	}
}
