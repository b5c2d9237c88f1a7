package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// verify reads INPUT through the one file it opened: an export rewritten
// in place while verify reads the tickets back is exit 3, "the input
// changed while it was read", and neither VERIFY.csv nor FIX.csv is
// written (before, FIX.csv held the new rows, never verified, exit 1); an
// export renamed over the path changes nothing.
func TestVerifyInputChanged(t *testing.T) {
	for _, inPlace := range []bool{true, false} {
		dir := t.TempDir()
		in, ids := readInput(t, dir, 6, "CL")
		tonight, _ := readInput(t, t.TempDir(), 6, "PS")
		data, err := os.ReadFile(tonight)
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		srv := kapturetest.NewServer(t, kapturetest.Options{FailRead: func(int, []string) *kapturetest.Fault {
			once.Do(func() {
				if inPlace {
					err = os.WriteFile(in, data, 0o644)
				} else {
					err = os.Rename(tonight, in)
				}
			})
			return nil
		}})
		for _, id := range ids {
			if err := srv.SetTicket(id, kapturetest.Holding{SubStatus: "PS"}); err != nil {
				t.Fatal(err)
			}
		}
		out, fix := filepath.Join(dir, "verify.csv"), filepath.Join(dir, "fix.csv")
		r := kb(t, srv, "verify", "--read-batch", "2", "--names", catalogueNames(t, dir), "--out", out, "--differs", fix, in)
		if err != nil {
			t.Fatal(err)
		}
		if !inPlace {
			if r.code != exitRowsFailed || !strings.Contains(r.stdout, "6 differ") || strings.Count(fileText(t, fix), ",CL") != 6 {
				t.Errorf("renamed over: exit %d; want 1 and FIX.csv of the 6 CL rows verified\n%s%s", r.code, r.stdout, r.stderr)
			}
			continue
		}
		if r.code != exitAborted || !strings.Contains(r.stderr, "the input changed while it was read") || !strings.Contains(r.stderr, "nothing is written") {
			t.Errorf("rewritten in place: exit %d; want 3, the input changed\n%s%s", r.code, r.stdout, r.stderr)
		}
		for _, p := range []string{out, fix} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s written after the input changed", p)
			}
		}
	}
}
