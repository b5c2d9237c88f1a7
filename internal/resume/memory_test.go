package resume

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestLoadMemoryByKeysNotLines: a results file grown by resumes (each one
// recording the failed rows again, and the invalid ones) costs the
// loader about what the file of one run costs: memory by keys and lines
// of the input, not by the results file's lines. Heap, not timing; left
// out of -short.
func TestLoadMemoryByKeysNotLines(t *testing.T) {
	if testing.Short() {
		t.Skip("memory bound: make test-long")
	}
	const keys, invalid = 200_000, 200_000
	once := loadHeap(t, keys, invalid, 1)
	often := loadHeap(t, keys, invalid, 20)
	t.Logf("live heap after building the State: one run %d KiB, twenty runs' results %d KiB", once>>10, often>>10)
	if often > once+once/2 {
		t.Errorf("twenty runs' results take %d KiB, one run's %d KiB: want at most 1.5 times", often>>10, once>>10)
	}
}

// loadHeap builds the State of a results file in which runs times every
// row got a result (keys rows failed, invalid rows invalid), reserving
// room by the file's size as Load does, and returns the live heap after.
func loadHeap(t *testing.T, keys, invalid, runs int) uint64 {
	ks := make([]rowkey.Key, keys)
	for i := range ks {
		id := strconv.Itoa(713500000000 + i)
		ks[i] = rowkey.New(id, []byte(id))
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b := NewBuilder(nil)
	b.Grow(runs * (keys + invalid)) // as Load: the file's size over a row's
	for range runs {
		for i, k := range ks {
			b.Add(writer.Row{Status: writer.StatusFailed, Key: k, KeyOK: true, Line: i + 2, FileLine: 1})
		}
		for i := range invalid {
			b.Add(writer.Row{Status: writer.StatusInvalid, Line: keys + i + 2, FileLine: 1})
		}
	}
	st := b.Build()
	ks = nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(st)
	if st.Keyed() != keys {
		t.Fatalf("%d keys, want %d", st.Keyed(), keys)
	}
	return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
}
