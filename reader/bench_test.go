package reader

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gocarina/gocsv"
)

const benchRows = 100_000

// benchFile writes a realistic input: the six documented columns, CRLF as
// Excel writes them, a callback time on every other row, a quoted comment
// with a comma now and then.
func benchFile(b *testing.B, extra bool) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	hdr := "Ticket ID,Sub Status,Queue,Comment,Callback Time,Disposition"
	if extra {
		hdr += ",Region,Helper"
	}
	fmt.Fprint(w, hdr+"\r\n")
	for i := 0; i < benchRows; i++ {
		cb := ""
		if i%2 == 0 {
			cb = "2024-03-06 14:30:00"
		}
		comment := "status migration"
		if i%10 == 0 {
			comment = `"moved, as agreed"`
		}
		fmt.Fprintf(w, "%d,CL,Billing,%s,%s,resolved", 713517204455+i, comment, cb)
		if extra {
			fmt.Fprint(w, ",North,x")
		}
		fmt.Fprint(w, "\r\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkReader(b *testing.B) {
	for _, extra := range []bool{false, true} {
		name := "documented"
		opts := Options{}
		if extra {
			name = "extras"
			opts.ExtraColumns = []string{"region"}
		}
		b.Run(name, func(b *testing.B) {
			path := benchFile(b, extra)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			rows := 0
			for i := 0; i < b.N; i++ {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				rd, err := Open(f, opts)
				if err != nil {
					b.Fatal(err)
				}
				for {
					rec, err := rd.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if rec.Invalid != "" {
						b.Fatalf("line %d: %s", rec.Line, rec.Invalid)
					}
					rows++
				}
				f.Close()
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(rows), "allocs/row")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(rows), "B/row")
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	path := benchFile(b, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Check(f, Options{}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
}

// gocsvRow is what gocsv filled when the reader used it: the documented
// columns.
type gocsvRow struct {
	TicketID     string `csv:"ticket_id"`
	SubStatus    string `csv:"sub_status"`
	Queue        string `csv:"queue"`
	Comment      string `csv:"comment"`
	CallbackTime string `csv:"callback_time"`
	Disposition  string `csv:"disposition"`
}

// BenchmarkBaseline measures, for comparison, bare encoding/csv (the
// floor) and bare gocsv (what the reader used before it took columns by
// index) pulling the same file.
func BenchmarkBaseline(b *testing.B) {
	path := benchFile(b, false)
	b.Run("encoding-csv", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f, _ := os.Open(path)
			cr := csv.NewReader(bufio.NewReader(f))
			cr.ReuseRecord = true
			for {
				if _, err := cr.Read(); err != nil {
					break
				}
			}
			f.Close()
		}
		b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("gocsv", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f, _ := os.Open(path)
			cr := csv.NewReader(bufio.NewReader(f))
			cr.ReuseRecord = true
			um, err := gocsv.NewUnmarshaller(cr, &gocsvRow{})
			if err != nil {
				b.Fatal(err)
			}
			_ = um.RenormalizeHeaders(func(h []string) []string {
				out := make([]string, len(h))
				for i := range h {
					out[i] = NormalizeName(h[i])
				}
				return out
			})
			for {
				if _, err := um.Read(); err != nil {
					break
				}
			}
			f.Close()
		}
		b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	})
}
