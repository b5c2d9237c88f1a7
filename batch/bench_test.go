package batch

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// benchRecord is a row as a status migration has them: the six documented
// columns, a comment with a comma, a callback time.
func benchRecord(i int) reader.Record {
	return reader.Record{
		Line: i + 2, TicketID: strconv.Itoa(700000000000 + i), SubStatus: "CL", Queue: "Tier 2",
		Comment: "Customer confirmed, closing", CallbackTime: "2025-01-15 10:30:00", Disposition: "Resolved",
	}
}

func benchRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = NewRow(benchRecord(i))
	}
	return rows
}

func perRow(b *testing.B, rowsPerOp int) {
	n := float64(b.N * rowsPerOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
	b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkNewRow encodes one row's object: the
// client's per-row cost before the wire.
func BenchmarkNewRow(b *testing.B) {
	rec := benchRecord(1)
	b.ReportAllocs()
	for b.Loop() {
		_ = NewRow(rec)
	}
	perRow(b, 1)
}

// BenchmarkPayload joins 100 encoded rows into the array sent, into a
// reused buffer as a worker does.
func BenchmarkPayload(b *testing.B) {
	rows := benchRows(100)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = payload(buf, rows)
	}
	perRow(b, len(rows))
}

// BenchmarkInterpretArray decodes the fake's array reply to a payload of
// 100 rows, every one a success, as the client does for each reply.
func BenchmarkInterpretArray(b *testing.B) {
	rows := benchRows(100)
	h := kapturetest.NewHandler(kapturetest.Options{NoRecord: true})
	req := httptest.NewRequest(http.MethodPost, Endpoint, strings.NewReader(string(Payload(rows))))
	req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK || interpret(rec.Code, rec.Header(), body, rows, ObjectAuto).kind != kindRows {
		b.Fatalf("fake answered %d: %.200s", rec.Code, body)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out := interpret(http.StatusOK, rec.Header(), body, rows, ObjectAuto)
		if out.kind != kindRows {
			b.Fatal(out.message)
		}
	}
	perRow(b, len(rows))
}
