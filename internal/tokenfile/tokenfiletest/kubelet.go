// Package tokenfiletest lays out files the way Kubernetes mounts them, for
// the tests of the token file check.
package tokenfiletest

import (
	"io/fs"
	"os"
	"path/filepath"
)

// KubeletSecret writes data as the key of a Secret volume mounted at dir,
// laid out as the kubelet's atomic writer does: the key is a symlink into
// "..data", itself a symlink to a timestamped directory that holds the
// file, whose mode is perm. It returns the path a pod reads. Ownership is
// the caller's: the kubelet makes the file root's, and with fsGroup gives
// it that group.
func KubeletSecret(dir, key string, data []byte, perm fs.FileMode) (string, error) {
	const ts = "..2026_12_07_02_15_00.1234567890"
	if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
		return "", err
	}
	file := filepath.Join(dir, ts, key)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return "", err
	}
	if err := os.Chmod(file, perm); err != nil {
		return "", err
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data")); err != nil {
		return "", err
	}
	if err := os.Symlink(filepath.Join("..data", key), filepath.Join(dir, key)); err != nil {
		return "", err
	}
	return filepath.Join(dir, key), nil
}
