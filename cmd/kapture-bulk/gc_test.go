package main

import (
	"runtime/debug"
	"testing"
)

// A sync run keeps its plan live for the whole run: its GC target is
// syncGCPercent unless GOGC is set (the first night of 1M rows peaked at
// 303 MiB with gcPercent).
func TestSyncGCPercent(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	tuneSyncGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != syncGCPercent {
		t.Errorf("sync run: GC percent %d, want %d", got, syncGCPercent)
	}
	tuneSyncGC(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("sync run with GOGC set: GC percent %d, want the user's 100", got)
	}
}
