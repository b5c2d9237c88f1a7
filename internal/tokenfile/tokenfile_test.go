//go:build unix

package tokenfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/internal/tokenfile/tokenfiletest"
)

// ownerOf returns the owner and group the test's files get.
func ownerOf(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// writeToken writes a token file with mode perm at path.
func writeToken(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// kubeletSecret lays dir out as a Secret volume holding key, and returns
// the path a pod reads.
func kubeletSecret(t *testing.T, dir, key string, perm os.FileMode) string {
	t.Helper()
	path, err := tokenfiletest.KubeletSecret(dir, key, []byte("a-token\n"), perm)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheck: who besides the process may read the file decides, as the
// package comment says. The process's identity is given relative to the
// file's real owner and group, so that the cases need no root.
func TestCheck(t *testing.T) {
	const (
		owner   = "owner"   // the process owns the file
		member  = "member"  // another user owns it; the process is in its group
		outside = "outside" // another user owns it; the process is not in its group
	)
	tests := []struct {
		perm    os.FileMode
		who     string
		kubelet bool // in a Secret volume's layout
		exposed bool
		advice  string
	}{
		{0o600, owner, false, false, ""},
		{0o400, owner, false, false, ""},
		{0o640, owner, false, true, "chmod 600"},
		{0o604, owner, false, true, "chmod 600"},
		{0o644, owner, false, true, "chmod 600"}, // a world-readable file in a home
		{0o640, member, false, false, ""},        // root:kbulk 0640 in /etc
		{0o440, member, false, false, ""},        // a Secret with defaultMode 0440 and fsGroup, mounted by subPath
		{0o660, member, false, false, ""},
		{0o644, member, false, true, "chmod 640"}, // root:kbulk 0644 in /etc: every local user reads it
		{0o604, member, false, true, "chmod 640"},
		{0o640, outside, false, true, "chmod 640"},
		{0o644, outside, false, true, "defaultMode: 0440"}, // root:root 0644 in /etc, or a Secret by subPath
		{0o644, outside, true, false, ""},                  // a Secret volume, defaultMode left at 0644, no fsGroup
		{0o644, member, true, false, ""},                   // the same with fsGroup
		{0o440, member, true, false, ""},                   // defaultMode 0400 or 0440 with fsGroup
		{0o644, owner, true, false, ""},                    // a pod running as root
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%04o-%s-kubelet=%v", tt.perm, tt.who, tt.kubelet)
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token")
			if tt.kubelet {
				path = kubeletSecret(t, dir, "token", tt.perm)
			} else {
				writeToken(t, path, tt.perm)
			}
			uid, gid := ownerOf(t, path)
			id := identity{uid: uid, groups: []int{gid}}
			switch tt.who {
			case member:
				id = identity{uid: uid + 1000, groups: []int{gid + 1000, gid}}
			case outside:
				id = identity{uid: uid + 1000, groups: []int{gid + 1000}}
			}
			e, exposed := check(path, id)
			if exposed != tt.exposed {
				t.Fatalf("exposed %v, want %v (%+v)", exposed, tt.exposed, e)
			}
			if !exposed {
				return
			}
			if e.Mode != tt.perm || e.UID != uid || e.GID != gid {
				t.Errorf("got mode %04o owner %d:%d, want %04o %d:%d", e.Mode, e.UID, e.GID, tt.perm, uid, gid)
			}
			if !strings.Contains(e.Advice, tt.advice) {
				t.Errorf("advice %q, want it to say %q", e.Advice, tt.advice)
			}
		})
	}
}

// TestCheckLookalikes: a file that only looks like a Secret volume's (its
// directory is not the one "..data" points to) is judged as any file, and
// a file that cannot be stat'ed is not reported.
func TestCheckLookalikes(t *testing.T) {
	dir := t.TempDir()
	kubeletSecret(t, dir, "token", 0o644)
	if err := os.Remove(filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("elsewhere", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "..2026_12_07_02_15_00.1234567890", "token")
	uid, gid := ownerOf(t, file)
	me := identity{uid: uid, groups: []int{gid}}
	if _, exposed := check(file, me); !exposed {
		t.Errorf("%s: 0644 beside a ..data link to another directory: not reported", file)
	}
	if _, exposed := check(filepath.Join(dir, "missing"), me); exposed {
		t.Error("a missing file reported")
	}
}
