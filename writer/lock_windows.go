//go:build windows

package writer

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// errWouldBlock means another holder has the lock.
var errWouldBlock = errors.New("lock held elsewhere")

// Windows byte-range locks are mandatory: a locked range cannot be read by
// anyone else. The lock therefore covers one byte far past any real end of
// file (locking beyond EOF is allowed), so that other runs see the lock
// while a user can still open the results in a viewer during a run.
const (
	lockOffsetLow  = 0
	lockOffsetHigh = 0x7fffffff
)

// lockFile takes an exclusive, non-blocking lock on f. Locks belong to the
// handle, so a second Open of the same path conflicts even within one
// process; the system releases the lock when the handle closes, so a
// killed run never leaves a stale lock behind.
func lockFile(f *os.File) (unlock func() error, err error) {
	h := windows.Handle(f.Fd())
	ol := windows.Overlapped{Offset: lockOffsetLow, OffsetHigh: lockOffsetHigh}
	err = windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return nil, errWouldBlock
	}
	if err != nil {
		return nil, &os.PathError{Op: "LockFileEx", Path: f.Name(), Err: err}
	}
	return func() error {
		ol := windows.Overlapped{Offset: lockOffsetLow, OffsetHigh: lockOffsetHigh}
		return windows.UnlockFileEx(h, 0, 1, 0, &ol)
	}, nil
}
