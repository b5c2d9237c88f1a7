// Package tokenfile judges whether a file holding a secret (the API
// token) can be read by someone the job did not mean to share it with,
// and what whoever can change the file should do about it.
//
// A file is fine when only its owner may read it, and in two more cases
// that the usual ways of handing a secret to a service produce:
//
//   - Another user (root) owns it and lets only the job's group read it,
//     and others nothing: root:kbulk 0640 for a systemd unit or cron job,
//     or a Kubernetes Secret mounted with defaultMode 0440 and fsGroup
//     (the kubelet makes it root:FSGROUP 0440). The group was given to
//     the job on purpose; its user could not chmod the file anyway.
//   - It is a file of a volume the kubelet projects (a Secret volume: the
//     file lives behind the volume's "..data" link). Only this pod's
//     containers see the volume, and the file's mode is the Secret's
//     defaultMode (0644 unless set), which no chmod inside can change.
//
// Anything else readable by others is reported: a world-readable file in
// a user's home, or root:root 0644 in /etc, which every local user reads.
// Windows files have no such permission bits: nothing is reported there.
package tokenfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Exposure is a token file that others may read: its mode and owner, and
// what to do about it.
type Exposure struct {
	Mode   fs.FileMode // permission bits
	UID    int         // the file's owner
	GID    int         // the file's group
	Advice string      // what to do, for whoever can change the file
}

// identity is who the process is to the file system.
type identity struct {
	uid    int
	groups []int // the effective group and the supplementary ones
}

// Check reports whether the file at path can be read by users other than
// the process's user and the groups it was given, following the rules of
// the package comment. A file that cannot be stat'ed is reported as not
// exposed: the caller has just read it, and a stat failing now says
// nothing about who else may read it.
func Check(path string) (Exposure, bool) {
	id, ok := self()
	if !ok {
		return Exposure{}, false
	}
	return check(path, id)
}

func check(path string, id identity) (Exposure, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return Exposure{}, false
	}
	uid, gid, ok := owner(fi)
	if !ok {
		return Exposure{}, false
	}
	e := Exposure{Mode: fi.Mode().Perm(), UID: uid, GID: gid}
	switch {
	case e.Mode&0o077 == 0:
		return Exposure{}, false
	case projected(path):
		return Exposure{}, false
	case uid != id.uid && e.Mode&0o007 == 0 && slices.Contains(id.groups, gid):
		return Exposure{}, false
	case uid == id.uid:
		e.Advice = "make it readable by its owner only (chmod 600)"
	default:
		e.Advice = fmt.Sprintf("have its owner make it readable by the job's group only "+
			"(chgrp %d FILE; chmod 640 FILE), or for a Kubernetes Secret set defaultMode: 0440 "+
			"with the pod's fsGroup", primary(id))
	}
	return e, true
}

// primary is the process's effective group.
func primary(id identity) int {
	if len(id.groups) == 0 {
		return -1
	}
	return id.groups[0]
}

// projected reports whether path is a file of a volume the kubelet
// projects (Secret, ConfigMap, projected): the file lives in a
// timestamped directory that the volume's "..data" symlink points to.
func projected(path string) bool {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false
	}
	for dir := filepath.Dir(real); ; {
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		if target, err := os.Readlink(filepath.Join(parent, "..data")); err == nil && target == filepath.Base(dir) {
			return true
		}
		dir = parent
	}
}
