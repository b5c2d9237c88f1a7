//go:build unix

package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verifyOn turns the nightly verify on in the tenant's file, with args as
// KAPTURE_BULK_VERIFY_ARGS.
func (n *nightly) verifyOn(value, args string) {
	env := filepath.Join(n.etc, "acme.env")
	n.write(env, n.read(env)+"KAPTURE_BULK_VERIFY="+value+"\nKAPTURE_BULK_VERIFY_ARGS=\""+args+"\"\n", 0o644)
}

// TestNightlyVerifyFoldsItsExit: with KAPTURE_BULK_VERIFY=1, a run that
// exited 0 or 1 is followed by verify, given the tenant's token, the
// pairs the runs kept, the tenant's names file and the verify flags, and
// writing verify.csv and fix.csv beside the summary; its exit code is
// logged and folded into the night's (0 keeps the run's, 1 makes it 1,
// any other is the night's). A run that exited otherwise is not verified.
// Last night's verify files are gone whatever happens.
func TestNightlyVerifyFoldsItsExit(t *testing.T) {
	for _, tt := range []struct {
		run, verify string // exit codes; verify "" when it must not run
		want        int
	}{
		{"0", "0", 0}, {"1", "0", 1}, {"0", "1", 1}, {"1", "1", 1},
		{"0", "2", 2}, {"1", "3", 3}, {"0", "130", 130},
		{"2", "", 2}, {"3", "", 3}, {"4", "", 4}, {"130", "", 130},
	} {
		t.Run("run "+tt.run+" verify "+tt.verify, func(t *testing.T) {
			n := newNightly(t)
			n.write(n.input, "ticket_id,sub_status\n713516551148,CL\n", 0o644)
			n.verifyOn("1", "--rate 2 --extra-columns priority")
			n.env = append(n.env, "STUB_VERIFY_EXIT="+tt.verify)
			dir := filepath.Join(n.lib, "acme")
			pairs := filepath.Join(dir, "results", "acme-20261206T021500Z.results.names.csv")
			if err := os.MkdirAll(filepath.Dir(pairs), 0o755); err != nil {
				t.Fatal(err)
			}
			n.write(pairs, "kind,key,name\nsub_status,CL,Closed\n", 0o600)
			tenantNames := filepath.Join(n.etc, "acme.names.csv")
			n.write(tenantNames, "kind,key,name\nsub_status,PS,Pending Seller\n", 0o644)
			for _, f := range []string{"verify.csv", "fix.csv"} {
				n.write(filepath.Join(dir, f), "yesterday", 0o600)
			}
			code, out := n.run(tt.run, `{"outcome":"tonight"}`, "acme")
			if code != tt.want {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tt.want, out)
			}
			for _, f := range []string{"verify.csv", "fix.csv"} {
				if n.read(filepath.Join(dir, f)) == "yesterday" {
					t.Errorf("last night's %s left", f)
				}
			}
			args := n.read(filepath.Join(n.stubs, "verify.args"))
			if tt.verify == "" {
				if args != "" || strings.Contains(out, "verify") {
					t.Errorf("run exit %s: verify ran with %q; output:\n%s", tt.run, args, out)
				}
				return
			}
			want := []string{"verify", "--quiet", "--log-format", "json", "--token-file", filepath.Join(n.etc, "acme.token"),
				"--out", filepath.Join(dir, "verify.csv"), "--differs", filepath.Join(dir, "fix.csv"),
				"--names", pairs, "--names", tenantNames, "--rate", "2", "--extra-columns", "priority", n.input}
			if args != strings.Join(want, "\n")+"\n" {
				t.Errorf("verify got\n%s\nwant\n%s", args, strings.Join(want, "\n"))
			}
			if !strings.Contains(out, "verify exit "+tt.verify+": acme.csv: 1 ticket verified") || !strings.Contains(out, "exit "+strconv.Itoa(tt.want)+": ") {
				t.Errorf("output does not log verify's exit %s and the night's %d:\n%s", tt.verify, tt.want, out)
			}
			body := n.read(filepath.Join(n.stubs, "mail.body"))
			if (body != "") != (tt.want != 0) || (body != "" && !strings.Contains(body, "verify:\nacme.csv: 1 ticket verified")) {
				t.Errorf("mailed %q; want it mailed (with verify's summary) exactly when the night is not 0", body)
			}
		})
	}
}

// TestNightlyVerifyOff: verify is off unless KAPTURE_BULK_VERIFY=1; a
// value other than 0 or 1 is exit 64, and nothing runs.
func TestNightlyVerifyOff(t *testing.T) {
	for _, value := range []string{"", "0", "yes"} {
		n := newNightly(t)
		n.write(n.input, "ticket_id,sub_status\n713516551148,CL\n", 0o644)
		if value != "" {
			n.verifyOn(value, "")
		}
		code, out := n.run("0", "", "acme")
		verified := n.read(filepath.Join(n.stubs, "verify.args")) != ""
		ran := n.read(filepath.Join(n.stubs, "args")) != ""
		switch {
		case value == "yes" && (code != 64 || ran || !strings.Contains(out, "KAPTURE_BULK_VERIFY=yes")):
			t.Errorf("KAPTURE_BULK_VERIFY=yes: exit %d, ran %v; want 64, nothing run; output:\n%s", code, ran, out)
		case value != "yes" && (code != 0 || verified):
			t.Errorf("KAPTURE_BULK_VERIFY=%q: exit %d, verified %v; want 0, no verify; output:\n%s", value, code, verified, out)
		}
	}
}

// TestNightlyVerifyAgainstTheMock: the wrapper with the real kapture-bulk
// against its mock. A night whose updates hold verifies every ticket
// (exit 0, verify.csv written); on a tenant whose workflow silently keeps
// the old sub-status (--keep-sub-status 1) the run's rows fail, verify
// finds the tickets differ, fix.csv holds their rows, and the night is 1,
// mailed with verify's summary.
func TestNightlyVerifyAgainstTheMock(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kapture-bulk")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kapture-bulk")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build kapture-bulk: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		name string
		mock []string
		want int
		says string
	}{
		{"updates hold", nil, 0, "verify: every ticket holds what the export says"},
		{"workflow keeps the old sub-status", []string{"--keep-sub-status", "1"}, 1, "verify: not every ticket holds"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newNightly(t)
			os.Remove(filepath.Join(n.stubs, "kapture-bulk")) // the real one, not the stub
			if err := os.Symlink(bin, filepath.Join(n.stubs, "kapture-bulk")); err != nil {
				t.Fatal(err)
			}
			url := startMock(t, bin, tt.mock...)
			n.write(filepath.Join(n.etc, "acme.env"), "KAPTURE_BASE_URL="+url+"\nKAPTURE_BULK_INPUT="+n.input+
				"\nKAPTURE_BULK_MAILTO=ops@example.com\nKAPTURE_BULK_VERIFY=1\n", 0o644)
			n.write(filepath.Join(n.etc, "acme.token"), mockToken+"\n", 0o600)
			n.write(n.input, "ticket_id,sub_status\n713516551148,CL\n713516551149,CL\n713516551150,PS\n", 0o644)
			code, out := n.run("", "", "acme")
			if code != tt.want || !strings.Contains(out, tt.says) {
				t.Fatalf("exit %d, want %d saying %q; output:\n%s", code, tt.want, tt.says, out)
			}
			dir := filepath.Join(n.lib, "acme")
			if rows := strings.Count(n.read(filepath.Join(dir, "verify.csv")), "\n"); rows != 4 {
				t.Errorf("verify.csv has %d lines, want a header and 3 tickets:\n%s", rows, n.read(filepath.Join(dir, "verify.csv")))
			}
			fix := n.read(filepath.Join(dir, "fix.csv"))
			if differ := strings.Count(fix, "\n") - 1; (tt.want == 0) != (differ <= 0) {
				t.Errorf("fix.csv holds %d rows:\n%s", differ, fix)
			}
			if body := n.read(filepath.Join(n.stubs, "mail.body")); (body != "") != (tt.want != 0) || (body != "" && !strings.Contains(body, "verify:\n")) {
				t.Errorf("mailed %q; want verify's summary mailed exactly when the night is not 0", body)
			}
		})
	}
}

// mockToken is the token the mock of TestNightlyVerifyAgainstTheMock takes.
const mockToken = "nightly-token"

// startMock starts bin's mock on a free port with flags; it returns its URL.
func startMock(t *testing.T, bin string, flags ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urlFile := filepath.Join(t.TempDir(), "url")
	cmd := exec.CommandContext(ctx, bin, append([]string{"mock", "--addr", "127.0.0.1:0", "--url-file", urlFile}, flags...)...)
	cmd.Env = append(os.Environ(), "KAPTURE_API_TOKEN="+mockToken)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the mock did not start:\n%s", log.String())
	return ""
}
