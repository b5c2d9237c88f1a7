//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || solaris

package writer

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errWouldBlock means another holder has the lock.
var errWouldBlock = errors.New("lock held elsewhere")

// lockFile takes an exclusive, non-blocking flock on f. flock belongs to the
// open file description, not the process, so a second Open of the same path
// conflicts even within one process; the lock goes away with the
// descriptor, so a killed run never leaves a stale lock behind. (On NFS,
// Linux emulates flock with a process-wide fcntl lock: two Opens in one
// process then do not conflict, two processes still do.)
func lockFile(f *os.File) (unlock func() error, err error) {
	fd := int(f.Fd())
	for {
		err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil, errWouldBlock
	}
	if err != nil {
		return nil, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return func() error { return unix.Flock(fd, unix.LOCK_UN) }, nil
}
