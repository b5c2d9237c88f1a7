//go:build unix

// Package deploy holds the files that run kapture-bulk on a schedule (see
// README.md); its tests run them. The Kubernetes objects are checked by
// the module in k8scheck, which keeps the Kubernetes API types out of the
// main module.
package deploy

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// stubBulk stands for kapture-bulk: it records its arguments, writes the
// summary JSON it is given to --summary-json (if any), and exits with
// STUB_EXIT; called as verify, it records its arguments apart, prints a
// summary line and exits with STUB_VERIFY_EXIT.
const stubBulk = `#!/bin/sh
if [ "$1" = verify ]; then
	printf '%s\n' "$@" > "$STUB_DIR/verify.args"
	echo "acme.csv: 1 ticket verified: stub"
	exit "${STUB_VERIFY_EXIT:-0}"
fi
printf '%s\n' "$@" > "$STUB_DIR/args"
while [ $# -gt 0 ]; do
	if [ "$1" = --summary-json ] && [ -n "${STUB_SUMMARY:-}" ]; then printf '%s' "$STUB_SUMMARY" > "$2"; fi
	shift
done
exit "${STUB_EXIT:-0}"
`

// stubMail records what would be mailed.
const stubMail = `#!/bin/sh
printf '%s\n' "$@" > "$STUB_DIR/mail.args"
cat > "$STUB_DIR/mail.body"
`

// nightly is one tenant's setup for the wrapper, in temporary folders.
type nightly struct {
	t        *testing.T
	etc, lib string   // the wrapper's /etc/kapture-bulk and /var/lib/kapture-bulk
	stubs    string   // kapture-bulk and mail stubs, and what they recorded
	input    string   // the export's path
	env      []string // more environment for the wrapper
}

func newNightly(t *testing.T) *nightly {
	t.Helper()
	root := t.TempDir()
	n := &nightly{t: t, etc: filepath.Join(root, "etc"), lib: filepath.Join(root, "lib"),
		stubs: filepath.Join(root, "stubs"), input: filepath.Join(root, "outbox", "acme.csv")}
	for _, d := range []string{n.etc, n.stubs, filepath.Dir(n.input)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n.write(filepath.Join(n.stubs, "kapture-bulk"), stubBulk, 0o755)
	n.write(filepath.Join(n.stubs, "mail"), stubMail, 0o755)
	n.write(filepath.Join(n.etc, "acme.env"), "KAPTURE_SUBDOMAIN=acme\nKAPTURE_BULK_INPUT="+n.input+
		"\nKAPTURE_BULK_MAILTO=ops@example.com\n", 0o644)
	return n
}

func (n *nightly) write(path, content string, perm os.FileMode) {
	n.t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		n.t.Fatal(err)
	}
}

// read returns the file's content, "" when it does not exist.
func (n *nightly) read(path string) string {
	n.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		n.t.Fatal(err)
	}
	return string(b)
}

// run runs the wrapper with args and the stub's exit code and summary;
// it returns the wrapper's exit code and output.
func (n *nightly) run(stubExit, stubSummary string, args ...string) (int, string) {
	n.t.Helper()
	cmd := exec.Command("cron/kapture-bulk-nightly", args...)
	cmd.Env = []string{
		"PATH=" + n.stubs + ":/usr/bin:/bin",
		"KAPTURE_BULK_ETC=" + n.etc, "KAPTURE_BULK_LIB=" + n.lib,
		"STUB_DIR=" + n.stubs, "STUB_EXIT=" + stubExit, "STUB_SUMMARY=" + stubSummary,
	}
	cmd.Env = append(cmd.Env, n.env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	case err != nil:
		n.t.Fatal(err)
	}
	return 0, string(out)
}

// TestNightlyRefusesAMissingOrEmptyExport: an export that is missing,
// empty, or a header alone is exit 66, said on stdout and mailed, and
// kapture-bulk is not run; yesterday's summary is neither mailed nor
// left behind.
func TestNightlyRefusesAMissingOrEmptyExport(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content *string
		say     string
	}{
		{"missing", nil, "is missing"},
		{"empty", ptr(""), "is empty"},
		{"header only", ptr("ticket_id,sub_status\r\n"), "has no data rows"},
		{"header and blank lines", ptr("ticket_id,sub_status\n\n  \n"), "has no data rows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newNightly(t)
			if tt.content != nil {
				n.write(n.input, *tt.content, 0o644)
			}
			summary := filepath.Join(n.lib, "acme", "last.json")
			if err := os.MkdirAll(filepath.Dir(summary), 0o755); err != nil {
				t.Fatal(err)
			}
			n.write(summary, `{"outcome":"yesterday"}`, 0o644)
			code, out := n.run("0", "", "acme")
			if code != 66 {
				t.Fatalf("exit %d, want 66; output:\n%s", code, out)
			}
			if !strings.Contains(out, n.input+" "+tt.say) || !strings.Contains(out, "exit 66") {
				t.Errorf("output %q, want it to say exit 66 and %q", out, n.input+" "+tt.say)
			}
			if args := n.read(filepath.Join(n.stubs, "args")); args != "" {
				t.Errorf("kapture-bulk ran with %q", args)
			}
			mailArgs, body := n.read(filepath.Join(n.stubs, "mail.args")), n.read(filepath.Join(n.stubs, "mail.body"))
			if !strings.Contains(mailArgs, "exit 66") || !strings.Contains(mailArgs, "ops@example.com") || !strings.Contains(body, tt.say) {
				t.Errorf("mailed %q with %q, want exit 66 to ops@example.com saying %q", mailArgs, body, tt.say)
			}
			if strings.Contains(body, "yesterday") || n.read(summary) != "" {
				t.Errorf("yesterday's summary mailed or left: body %q", body)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestNightlyReadsLineEndsAndSepLines: the wrapper counts rows as
// kapture-bulk reads them: LF, CRLF and CR line ends, a byte-order mark,
// and Excel's sep= first line, which is not the header. An export with a
// data row goes to kapture-bulk; one without is 66. A UTF-16 export is
// kapture-bulk's to read: it always goes to it, which decides.
func TestNightlyReadsLineEndsAndSepLines(t *testing.T) {
	for _, tt := range []struct {
		name, content string
		runs          bool
	}{
		{"CR line ends, rows", "ticket_id,sub_status\r713516551160,CL\r713516551161,CL\r", true},
		{"CR line ends, one row, no last line end", "ticket_id,sub_status\r713516551160,CL", true},
		{"CRLF line ends, rows", "ticket_id,sub_status\r\n713516551160,CL\r\n", true},
		{"sep= line, a header and a row", "sep=;\nticket_id;sub_status\n713516551160;CL\n", true},
		{"UTF-16 with rows", utf16LE("ticket_id,sub_status\r\n713516551160,CL\r\n"), true},
		{"UTF-16, a header only", utf16LE("ticket_id,sub_status\r\n"), true},
		{"CR line ends, a header only", "ticket_id,sub_status\r\r", false},
		{"sep= line and a header", "sep=;\nticket_id;sub_status\n", false},
		{"BOM, quoted sep= line and a header, CRLF", "\ufeff\"sep=;\"\r\nticket_id;sub_status\r\n\r\n", false},
		{"sep= line alone, CR", "sep=,\r", false},
		{"rows of delimiters alone, as Excel writes cleared rows", "ticket_id,sub_status,comment\n,,\n\"\",\"\", \n;\n", false},
		{"a row after a row of delimiters", "ticket_id,sub_status\n,\n713516551160,CL\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newNightly(t)
			n.write(n.input, tt.content, 0o644)
			code, out := n.run("0", `{"outcome":"tonight"}`, "acme")
			ran := n.read(filepath.Join(n.stubs, "args")) != ""
			switch {
			case tt.runs && (code != 0 || !ran):
				t.Errorf("exit %d, kapture-bulk ran %v; want it run, exit 0; output:\n%s", code, ran, out)
			case !tt.runs && (code != 66 || ran || !strings.Contains(out, "has no data rows")):
				t.Errorf("exit %d, kapture-bulk ran %v; want exit 66, no data rows; output:\n%s", code, ran, out)
			}
		})
	}
}

// utf16LE is s in UTF-16, little-endian, with its byte-order mark, as
// Excel's "Unicode text" writes it.
func utf16LE(s string) string {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// TestNightlyPassesTheRunOn: the run gets the tenant's files and flags,
// its exit code is the wrapper's, and a night that did not end in 0 is
// mailed with this night's summary, never yesterday's.
func TestNightlyPassesTheRunOn(t *testing.T) {
	for _, tt := range []struct {
		name, exit, summary string
		args                []string
		mailed              bool
	}{
		{"success", "0", `{"outcome":"tonight"}`, []string{"acme"}, false},
		{"rows failed", "1", `{"outcome":"tonight"}`, []string{"acme"}, true},
		{"weekly full", "0", `{"outcome":"tonight"}`, []string{"--full", "acme"}, false},
		{"stopped before any summary", "2", "", []string{"acme"}, true},
		{"aborted", "3", `{"outcome":"tonight"}`, []string{"acme"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newNightly(t)
			n.write(n.input, "ticket_id,sub_status\n713516551148,CL\n", 0o644)
			n.write(filepath.Join(n.etc, "acme.env"), n.read(filepath.Join(n.etc, "acme.env"))+"KAPTURE_BULK_ARGS=\"--rate 2 --extra-columns priority,queue\"\n", 0o644)
			dir := filepath.Join(n.lib, "acme")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			n.write(filepath.Join(dir, "last.json"), `{"outcome":"yesterday"}`, 0o644)
			code, out := n.run(tt.exit, tt.summary, tt.args...)
			if want, _ := strconv.Atoi(tt.exit); code != want {
				t.Fatalf("exit %d, want %d; output:\n%s", code, want, out)
			}
			if !strings.Contains(out, "exit "+tt.exit+":") {
				t.Errorf("output %q, want a line saying exit %s", out, tt.exit)
			}
			want := []string{"run", "--sync-state", filepath.Join(dir, "sync.state")}
			if len(tt.args) == 2 {
				want = append(want, "--full")
			}
			want = append(want, "--quiet", "--log-format", "json", "--token-file", filepath.Join(n.etc, "acme.token"),
				"--summary-json", filepath.Join(dir, "last.json"), "--rate", "2", "--extra-columns", "priority,queue", n.input)
			if got := n.read(filepath.Join(n.stubs, "args")); got != strings.Join(want, "\n")+"\n" {
				t.Errorf("kapture-bulk got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
			}
			body := n.read(filepath.Join(n.stubs, "mail.body"))
			if (body != "") != tt.mailed {
				t.Fatalf("mailed %q, want mailed %v", body, tt.mailed)
			}
			if strings.Contains(body, "yesterday") {
				t.Errorf("mailed yesterday's summary: %q", body)
			}
			if tt.mailed && tt.summary != "" && !strings.Contains(body, tt.summary) {
				t.Errorf("mailed %q, want tonight's summary %s", body, tt.summary)
			}
			if tt.mailed && !strings.Contains(n.read(filepath.Join(n.stubs, "mail.args")), "exit "+tt.exit) {
				t.Errorf("mail subject %q, want exit %s", n.read(filepath.Join(n.stubs, "mail.args")), tt.exit)
			}
		})
	}
}

// TestNightlyRefusesCRLFTenantFile: a TENANT.env saved with Windows line
// ends or a byte order mark is exit 64, saying so, not an export
// "missing" for the CR at the end of its path or a setting silently lost.
func TestNightlyRefusesCRLFTenantFile(t *testing.T) {
	n := newNightly(t)
	n.write(n.input, "ticket_id,sub_status\n713516551148,CL\n", 0o644)
	for _, tt := range []struct{ env, says string }{
		{"KAPTURE_SUBDOMAIN=acme\r\nKAPTURE_BULK_INPUT=" + n.input + "\r\n", "CRLF"},
		// A BOM hides the first line's setting (here --strict) from sh.
		{"\ufeffKAPTURE_BULK_ARGS=--strict\nKAPTURE_SUBDOMAIN=acme\nKAPTURE_BULK_INPUT=" + n.input + "\n", "byte order mark"},
		// Spaces around = make sh run the line as a command (break-test 4, C2).
		{"KAPTURE_BULK_ARGS = --strict\nKAPTURE_SUBDOMAIN=acme\nKAPTURE_BULK_INPUT=" + n.input + "\n", "line 1: not NAME=value"},
	} {
		n.write(filepath.Join(n.etc, "acme.env"), tt.env, 0o644)
		code, out := n.run("0", "", "acme")
		if code != 64 || !strings.Contains(out, tt.says) {
			t.Errorf("%q: exit %d, want 64 saying %q; output:\n%s", tt.env, code, tt.says, out)
		}
		if got := n.read(filepath.Join(n.stubs, "args")); got != "" {
			t.Errorf("%q: kapture-bulk ran with %q", tt.env, got)
		}
	}
}

// TestNightlyPrunesOldResults: a night removes the results, journals and
// API files older than KAPTURE_BULK_KEEP_DAYS and keeps the pairs files
// (the verify step reads them) and everything recent.
func TestNightlyPrunesOldResults(t *testing.T) {
	n := newNightly(t)
	n.write(n.input, "ticket_id,sub_status\n713516551148,CL\n", 0o644)
	res := filepath.Join(n.lib, "acme", "results")
	if err := os.MkdirAll(res, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().AddDate(0, 0, -40)
	files := map[string]bool{ // name → pruned
		"st-1.results.csv": true, "st-1.results.csv.inflight": true, "st-1.results.api": true,
		"st-1.results.names.csv": false, "st-9.results.csv": false, "st-9.results.api": false,
	}
	for name := range files {
		p := filepath.Join(res, name)
		n.write(p, "x", 0o644)
		if strings.HasPrefix(name, "st-1.") {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if code, out := n.run("0", `{"outcome":"tonight"}`, "acme"); code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, out)
	}
	for name, pruned := range files {
		_, err := os.Stat(filepath.Join(res, name))
		if gone := os.IsNotExist(err); gone != pruned {
			t.Errorf("%s: removed %v, want %v", name, gone, pruned)
		}
	}
}

// TestNightlyUsage: a wrong call or a missing tenant file is exit 64, and
// nothing runs.
func TestNightlyUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--full"}, {"acme", "more"}, {"../etc"}, {"other"}} {
		n := newNightly(t)
		if code, out := n.run("0", "", args...); code != 64 {
			t.Errorf("%q: exit %d, want 64; output:\n%s", args, code, out)
		}
		if got := n.read(filepath.Join(n.stubs, "args")); got != "" {
			t.Errorf("%q: kapture-bulk ran with %q", args, got)
		}
	}
}
