package writer

import (
	"runtime"
	"strconv"
	"testing"
)

// payload returns n results like those of one finished payload.
func payload(n, firstLine int) []Result {
	rows := make([]Result, n)
	for i := range rows {
		line := firstLine + i
		rows[i] = Result{
			TicketID:   strconv.FormatInt(713517204455+int64(line), 10),
			Status:     StatusSuccess,
			Message:    "Ticket updated successfully",
			Line:       line,
			HTTPStatus: 200,
			Attempts:   1,
			FinishedAt: t0,
			Key:        fp(uint64(line) * 0x9e3779b97f4a7c15),
		}
		if i%10 == 9 {
			rows[i].Status = StatusFailed
			rows[i].Message = "No Data found/ticket_id is missing"
			rows[i].HTTPStatus = 404
		}
	}
	return rows
}

func benchmarkWrite(b *testing.B, sync bool) {
	const perWrite = 100
	w, err := Open(tempPathB(b), Create)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rows := payload(perWrite, 2)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := w.Write(rows); err != nil {
			b.Fatal(err)
		}
		if sync {
			if err := w.f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	n := float64(b.N * perWrite)
	b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
}

// BenchmarkWrite appends payloads of 100 rows: one Write per payload, as
// the run's writer goroutine does.
func BenchmarkWrite(b *testing.B) { benchmarkWrite(b, false) }

// BenchmarkWriteSync adds an fsync after every Write: the price of
// surviving a power cut, not just kill -9, per payload.
func BenchmarkWriteSync(b *testing.B) { benchmarkWrite(b, true) }

func tempPathB(b *testing.B) string { return b.TempDir() + "/bench.results.csv" }

// BenchmarkLoadResume opens a results file of 1M rows in Resume mode and
// reads its rows back: the writer's part of the start-up cost of --resume.
func BenchmarkLoadResume(b *testing.B) {
	const rows = 1_000_000
	path := tempPathB(b)
	w, err := Open(path, Create)
	if err != nil {
		b.Fatal(err)
	}
	for line := 2; line < rows+2; line += 1000 {
		if err := w.Write(payload(1000, line)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	b.ResetTimer()
	var heap uint64
	for b.Loop() {
		w, err := Open(path, Resume)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.ReadBack(func(Row) error { return nil }); err != nil {
			b.Fatal(err)
		}
		if w.Rows() != rows {
			b.Fatalf("Rows() = %d, want %d", w.Rows(), rows)
		}
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapAlloc)
		b.StartTimer()
		w.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap-live")
}
