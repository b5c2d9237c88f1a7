package main

import "runtime/debug"

// The collector's settings, for every command, set once at start: the
// one place the process's memory policy lives.
const (
	// gcPercent lets the heap grow to four times what is live: a run keeps
	// little alive (the rows queued and in flight) and allocates for every
	// row, and with Go's default collecting took a sixth of its CPU.
	gcPercent = 300
	// memoryLimit is a soft limit on the heap: nearing it, the collector
	// works harder, so that a command holding much (a resume's or a
	// report's record of a large results file, a sync plan) stays within
	// the 256 MiB every run promises. A live heap above it still grows.
	memoryLimit = 200 << 20
	// syncGCPercent is a --sync-state run's target instead: its plan
	// (tens of MB for a million tickets, no pointers, so cheap to scan)
	// is live for the whole run, and at gcPercent the heap grows to four
	// times it; a first night into a new state then passes 256 MiB.
	syncGCPercent = 25
)

// tuneGC applies the settings, each unless the user set its variable
// (GOGC, GOMEMLIMIT), which the runtime has applied already.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// tuneSyncGC gives a --sync-state run its own target, set once its flags
// are parsed, unless the user set GOGC.
func tuneSyncGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(syncGCPercent)
	}
}
