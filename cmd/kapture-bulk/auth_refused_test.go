package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// A token the API refuses (break-test 3, A4) is exit 3, and the summary's
// next: line says a person fixes the token before the resume, not that
// the resume "sends them" as if it were a matter of time. A token file
// that starts with a quote or holds NAME= gets a hint, which never
// prints the token.
func TestAuthRefusalSaysFixTheToken(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	tok := kapturetest.DefaultToken
	for _, tt := range []struct {
		name, content, hint string
	}{
		{"a wrong token", "nope", ""},
		{"quoted", `"` + tok + `"`, "the token file starts with a quote: it should hold the token alone"},
		{"NAME=", "KAPTURE_API_TOKEN=" + tok + "\n", "the token file holds NAME=: it should hold the token alone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in, _ := readInput(t, dir, 3, "CL")
			tf := filepath.Join(dir, "token")
			if err := os.WriteFile(tf, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runOps(t, "", false, nil, "run", "--base-url", srv.URL, "--rate", "0", "--batch-size", "1", "--workers", "1", "--token-file", tf, in)
			if r.code != exitAborted {
				t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
			}
			next := fmt.Sprintf("next: fix the token (--token-file %s), then: kapture-bulk run --resume", tf)
			if !strings.Contains(r.stderr, next) || strings.Contains(r.stderr, "sends them") {
				t.Errorf("stderr:\n%s\nwant %q, and no \"sends them\"", r.stderr, next)
			}
			if tt.hint != "" && !strings.Contains(r.stderr, tt.hint) {
				t.Errorf("stderr:\n%s\nwant the hint %q", r.stderr, tt.hint)
			}
			if tt.hint == "" && strings.Contains(r.stderr, "it should hold the token alone") {
				t.Errorf("stderr:\n%s\nwant no hint", r.stderr)
			}
			if strings.Contains(r.stderr, tok) {
				t.Errorf("the token was printed:\n%s", r.stderr)
			}
		})
	}
}

// After a refused token, every form of the advice says to fix it first;
// a token with = padding is no NAME= line.
func TestRefusedTokenAdvice(t *testing.T) {
	for _, tt := range []struct {
		a    advice
		want string
	}{
		{advice{command: "kb run --resume in.csv", token: "KAPTURE_API_TOKEN"}, "fix the token (KAPTURE_API_TOKEN), then: kb run --resume in.csv"},
		{advice{command: "kb run --resume -", stdin: true, token: "--token-file t"}, "fix the token (--token-file t), then: kb run --resume -, given the same input on stdin again"},
		{advice{sync: true, token: "--token-file t"}, "fix the token (--token-file t); the next --sync-state run sends them"},
	} {
		if got := tt.a.text(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.a, got, tt.want)
		}
	}
	for tok, want := range map[string]bool{"KAPTURE_API_TOKEN=abc": true, "abc==": false, "YWJj=": false, "ab=c": true, "1A=b": false, "a-b=c": false} {
		if got := envLine(tok); got != want {
			t.Errorf("envLine(%q) = %v, want %v", tok, got, want)
		}
	}
}
