package bench

import (
	"bytes"
	"encoding/csv"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// fileRows is the size of the in-memory input the reader benchmarks read
// per op: big enough that opening costs nothing per row.
const fileRows = 100_000

// csvInput is a status migration of n rows (see WriteRows).
func csvInput(n int) []byte {
	var b bytes.Buffer
	WriteRows(&b, n)
	return b.Bytes()
}

// perRow reports rows/s, ns/row and allocs/row; mallocs is the count
// over the timed loop.
func perRow(b *testing.B, rowsPerOp int, mallocs uint64) {
	n := float64(b.N * rowsPerOp)
	b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
	b.ReportMetric(float64(mallocs)/n, "allocs/row")
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// BenchmarkReader streams records through reader.Open/Next (encoding/csv,
// columns by index, normalisation, line numbers, validation): what
// validate and run do.
func BenchmarkReader(b *testing.B) {
	data := csvInput(fileRows)
	b.SetBytes(int64(len(data)))
	before := mallocs()
	for b.Loop() {
		rd, err := reader.Open(bytes.NewReader(data), reader.Options{Name: "bench.csv"})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rec.Invalid != "" {
				b.Fatalf("line %d: %s", rec.Line, rec.Invalid)
			}
			n++
		}
		if n != fileRows {
			b.Fatalf("%d rows, want %d", n, fileRows)
		}
	}
	perRow(b, fileRows, mallocs()-before)
}

// BenchmarkReaderCheck is reader.Check, the syntax-only pass run makes
// over a file before sending anything.
func BenchmarkReaderCheck(b *testing.B) {
	data := csvInput(fileRows)
	b.SetBytes(int64(len(data)))
	before := mallocs()
	for b.Loop() {
		if _, err := reader.Check(bytes.NewReader(data), reader.Options{Name: "bench.csv"}); err != nil {
			b.Fatal(err)
		}
	}
	perRow(b, fileRows, mallocs()-before)
}

// BenchmarkBareCSV is the floor the reader is compared with: encoding/csv
// with ReuseRecord over the same bytes.
func BenchmarkBareCSV(b *testing.B) {
	data := csvInput(fileRows)
	b.SetBytes(int64(len(data)))
	before := mallocs()
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	perRow(b, fileRows, mallocs()-before)
}

// BenchmarkResultsWrite appends the results of one payload of 100 rows
// per Write, as the run's writer goroutine does.
func BenchmarkResultsWrite(b *testing.B) {
	const perWrite = 100
	w, err := writer.Open(filepath.Join(b.TempDir(), "bench.results.csv"), writer.Create)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	now := time.Now()
	rows := make([]writer.Result, perWrite)
	for i := range rows {
		rows[i] = writer.Result{
			TicketID: strconv.Itoa(700000000000 + i), Status: writer.StatusSuccess,
			Message: "Status and Comment have been updated.", Line: i + 2, HTTPStatus: 200,
			Attempts: 1, FinishedAt: now, Key: rowkey.Key{Content: uint64(i+1) * 0x9e3779b97f4a7c15, Ticket: uint64(i + 1)},
		}
	}
	before := mallocs()
	for b.Loop() {
		if err := w.Write(rows); err != nil {
			b.Fatal(err)
		}
	}
	perRow(b, perWrite, mallocs()-before)
}
