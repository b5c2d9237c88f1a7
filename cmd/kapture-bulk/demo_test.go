//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// make demo (scripts/demo.sh) walks backup → run → verify → undo against
// the mock, shows each command as it runs it (a not-applied row among the
// results), and leaves the checkout as it found it: it runs here in a
// copy of the files it reads, and nothing may appear there.
func TestDemoWalksTheReadSideAndLeavesTheCheckoutClean(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"scripts/demo.sh", "samples/status-migration.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(root, f), string(b))
	}
	before := treeOf(t, root)
	cmd := exec.Command("sh", "scripts/demo.sh", binary(t))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"demo: $ kapture-bulk run --base-url http://127.0.0.1:", " --backup backup.csv migration.csv\n",
		"demo: $ kapture-bulk verify --base-url http://127.0.0.1:", "not applied: the ticket holds",
		"1 differ", "demo: $ kapture-bulk undo --snapshot backup.csv --results migration.results.csv --names names.csv --out restore.csv\n",
		"demo: $ kapture-bulk run --base-url http://127.0.0.1:", " restore.csv\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo does not show %q:\n%s", want, out)
		}
	}
	if after := treeOf(t, root); !slices.Equal(after, before) {
		t.Errorf("the demo left files in the checkout: before %q, after %q", before, after)
	}
}

// treeOf lists the files under root.
func treeOf(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, root))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
