package resume

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// BenchmarkResume1M builds the State of a finished run of 1M rows (one
// per ticket) and decides every row of the same input: the resume
// package's share of resuming a finished 1M-row run.
func BenchmarkResume1M(b *testing.B) {
	const n = 1_000_000
	keys := make([]rowkey.Key, n)
	for i := range keys {
		id := strconv.Itoa(713500000000 + i)
		keys[i] = rowkey.New(id, []byte(id))
	}
	b.ReportAllocs()
	var heap uint64
	for b.Loop() {
		bd := NewBuilder(nil)
		for i, k := range keys {
			bd.Add(writer.Row{Status: writer.StatusSuccess, Key: k, KeyOK: true, Line: i + 2})
		}
		st := bd.Build()
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapAlloc)
		b.StartTimer()
		ix := NewIndex(st)
		for _, k := range keys {
			ix.Add(k, false)
		}
		p := ix.Plan()
		for i, k := range keys {
			if d := p.Decide(k, i+2); d != Skip {
				b.Fatalf("row %d: %v, want Skip", i, d)
			}
		}
	}
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap-live")
}
