//go:build unix

package reader

import "syscall"

// openNonblock keeps an open of a FIFO from waiting for its writer; it
// changes nothing for a regular file.
const openNonblock = syscall.O_NONBLOCK
