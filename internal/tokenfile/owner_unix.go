//go:build unix

package tokenfile

import (
	"io/fs"
	"os"
	"syscall"
)

// owner returns the file's owner and group.
func owner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// self is the process's identity as the kernel checks file access: its
// effective user and group, and its supplementary groups (Kubernetes adds
// fsGroup there).
func self() (identity, bool) {
	groups, err := os.Getgroups()
	if err != nil {
		groups = nil // then only the effective group counts
	}
	return identity{uid: os.Geteuid(), groups: append([]int{os.Getegid()}, groups...)}, true
}
