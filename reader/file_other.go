//go:build !unix

package reader

// openNonblock: no FIFOs to wait for.
const openNonblock = 0
