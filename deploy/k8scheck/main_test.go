package k8scheck

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// shared is a folder every user may read, for what the tests run as the
// pod's user; bin is the kapture-bulk binary in it: a copy of
// $KAPTURE_BULK_BIN, or one built from the repository.
var shared, bin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if shared, err = os.MkdirTemp("", "k8scheck"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(shared)
	bin = filepath.Join(shared, "kapture-bulk")
	if err = os.Chmod(shared, 0o755); err == nil {
		err = getBinary(bin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func getBinary(dst string) error {
	src := os.Getenv("KAPTURE_BULK_BIN")
	if src == "" {
		build := exec.Command("go", "build", "-o", dst, "./cmd/kapture-bulk")
		build.Dir = filepath.Join("..", "..")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build kapture-bulk: %w", err)
		}
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("KAPTURE_BULK_BIN: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
