package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestTokenNeverPrinted: a command that quotes a file holding the token
// (a token file given as the input or as the results, a results file
// with a token in a message) prints it nowhere, whether the token came
// from the environment or from --token-file: stderr, stdout, the summary
// JSON, the error column of --failed-rows (its other cells are the
// input's, as given). Each case must hide something, or it proves
// nothing.
func TestTokenNeverPrinted(t *testing.T) {
	const token = "YWRtaW46czNjcjN0fn5+UGFzc3cwcmQ/Pw==" // admin:s3cr3t~~~Passw0rd??
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	write := func(name, content string) {
		if err := os.WriteFile(path(name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("token", "Basic "+token+"\n")
	write("copy", "Basic "+token+"\n")
	write("in.csv", "ticket_id,sub_status\n713516000001,CL\n")
	write("quoting.csv", "ticket_id,sub_status,\n713516000001,CL,Basic "+token+"\n") // its row invalid, quoting the cell
	w, err := writer.Open(path("echo.results.csv"), writer.Create)
	if err != nil {
		t.Fatal(err)
	}
	// A message that masking alone would cut up: the token unquoted.
	if err := w.Write([]writer.Result{{TicketID: "x", Status: writer.StatusInvalid, Message: "refused key " + token + " here", Line: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	inEnv := map[string]string{"KAPTURE_API_TOKEN": token, "KAPTURE_BASE_URL": "http://127.0.0.1:9"}
	noEnv := map[string]string{"KAPTURE_BASE_URL": "http://127.0.0.1:9"}
	tests := []struct {
		name string
		vars map[string]string
		args []string
	}{
		{"run TOKEN", inEnv, []string{"run", "--summary-json", path("s.json"), path("copy")}},
		{"run --resume --results TOKEN", inEnv, []string{"run", "--resume", "--results", path("copy"), "--summary-json", path("s.json"), path("in.csv")}},
		{"run --log-format json TOKEN", inEnv, []string{"run", "--log-format", "json", path("copy")}},
		{"report TOKEN", inEnv, []string{"report", path("copy")}},
		{"validate TOKEN", inEnv, []string{"validate", path("copy")}},
		{"report of an echo", inEnv, []string{"report", path("echo.results.csv")}},
		{"report --json of an echo", inEnv, []string{"report", "--json", path("echo.results.csv")}},
		{"report --failed-rows of an input quoting it", inEnv, []string{"report", "--input", path("quoting.csv"), "--failed-rows", path("f.csv"), path("echo.results.csv")}},
		{"--token-file, a copy as the results", noEnv, []string{"run", "--token-file", path("token"), "--resume", "--results", path("copy"), "--summary-json", path("s.json"), path("in.csv")}},
		{"--token-file, dry run, a copy as the input", noEnv, []string{"run", "--dry-run", "--token-file", path("token"), "--summary-json", path("s.json"), path("copy")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(path("s.json"))
			os.Remove(path("f.csv"))
			var stdout, stderr bytes.Buffer
			cli(context.Background(), tt.args, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
				getenv: func(k string) string { return tt.vars[k] }})
			summary, _ := os.ReadFile(path("s.json"))
			out := stdout.String() + stderr.String() + string(summary) + errorColumn(t, path("f.csv"))
			if !strings.Contains(out, "[redacted]") {
				t.Fatalf("nothing hidden, so the case proves nothing:\n%s", out)
			}
			if l := strings.ToLower(out); strings.Contains(l, "ywrtaw46") || strings.Contains(l, "s3cr3t") || strings.Contains(l, "ugfzc3cwcmq") {
				t.Errorf("the token is shown:\n%s", out)
			}
		})
	}
}

// errorColumn is the error column of the failed rows file at path (its
// other cells are the input's own, as given), "" when there is none.
func errorColumn(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r[len(r)-1] + "\n")
	}
	return b.String()
}

// TestTokenFileIsNoOtherFile: a token file given as another file of the
// command is refused before anything is read, naming both.
func TestTokenFileIsNoOtherFile(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("Basic dGVzdDpzZWNyZXQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--dry-run", "--token-file", tok, tok},
		{"run", "--token-file", tok, "--names", tok, filepath.Join(dir, "in.csv")},
		{"snapshot", "--token-file", tok, "--out", filepath.Join(dir, "s.csv"), tok},
	} {
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			getenv: func(k string) string { return map[string]string{"KAPTURE_BASE_URL": "http://127.0.0.1:9"}[k] }})
		if code != exitUsage || !strings.Contains(stderr.String(), "--token-file "+tok+" is also") {
			t.Errorf("%q: exit %d, stderr %q; want 2, the token file named", args, code, stderr.String())
		}
	}
}
