package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportOfABinaryFile: report given a file that is no text says so,
// as validate does, in one short line (before: the first line as ~200
// escaped bytes, "first line is \"\xef\xbb…\"").
func TestReportOfABinaryFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"junk.bin": "\xef\xbb\xbf\x00\x01\x02\x03" + strings.Repeat("\xfe\x10", 200) + "\n",
		"book.zip": "PK\x03\x04" + strings.Repeat("\x00", 40),
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		r := runOps(t, "", false, nil, "report", path)
		if r.code != exitUsage || !strings.Contains(r.stderr, "not a results CSV: this is") || len(r.stderr) > 250 {
			t.Errorf("report %s: exit %d, stderr %q; want 2, \"this is not a text file\" or what it is, short", name, r.code, r.stderr)
		}
	}
}
