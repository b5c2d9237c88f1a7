package tokenfile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRead: the token is the file's text without the white space around
// it nor a UTF-8 BOM before it (before, a BOM was sent with the token,
// and the API said 401 "Invalid Auth Key").
func TestRead(t *testing.T) {
	for name, content := range map[string]string{
		"plain":        "kapturetest-token",
		"line end":     "kapturetest-token\n",
		"CRLF":         "kapturetest-token\r\n",
		"spaces":       "  kapturetest-token \t\n",
		"BOM":          "\ufeffkapturetest-token\n",
		"BOM and CRLF": "\ufeffkapturetest-token\r\n",
	} {
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := Read(path); err != nil || got != "kapturetest-token" {
			t.Errorf("%s: Read = %q, %v", name, got, err)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v", err)
	}
}
