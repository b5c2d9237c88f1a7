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
	body := fakeReply(b, rows)
	hdr := http.Header{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out := interpret(http.StatusOK, hdr, body, rows, ObjectAuto)
		if out.kind != kindRows {
			b.Fatal(out.message)
		}
	}
	perRow(b, len(rows))
}

// documentedItem is the vendor's documented success object (its whole
// ticket, about 1.9 KB) for ticket id, as a real tenant answers each item.
func documentedItem(id string) string {
	return `{"ticket":{"id":530348198,"type":"O","email":"","phone":"","status":"P","orderId":"","queueKey":"",` +
		`"ticketId":"` + id + `","folderId":0,"detail":"","isUnread":false,"isOutOfSLA":false,"priority":0,` +
		`"isCallBack":false,"creatorId":209803,"enquiryId":0,"contactId":0,"substatus":"PS","productId":0,` +
		`"erpOrderId":"","referenceId":0,"ticketEmail":"","assignedToId":209803,"pendingTaskId":0,"agencyBriefId":0,` +
		`"twitterUserId":"","facebookUserId":"","associativefile":"","statusName":"Pending","customerFeedback":0,` +
		`"playStoreReviewId":"","lastConversationId":0,"lastConversationType":"O","lastConversationTime":1713516551152,` +
		`"date":"2024-04-19 14:19:11","totalConversationCount":0,"taskTitle":"TEST 1","typeName":"Mobile App",` +
		`"taskEnddate":"2024-04-19 14:19:11","lastFollowUp":"2024-04-22 14:31:33","nextFollowUp":"2024-04-19 14:19:11",` +
		`"substatusName":"Pending","encryptedPhone":"","encryptedEmail":"","lastConversationTypeName":"Mobile App",` +
		`"ticketURL":"/employee/all-tickets.html?detail=2/530348198/` + id + `",` +
		`"ticketCreatorURL":"/employee/all-tickets.html?detail=2/530348198/` + id + `","isEscalated":true,` +
		`"folders":["Inbox"],"queueName":"","creatorName":"Kapture Dev API's","folderColor":"red",` +
		`"assignedToName":"Kapture Dev API's","assignedToEmail":"sashank.goenka@kapturecrm.com","mergeTicketId":"",` +
		`"skuCode":"","productName":""},"Additional_details":{},"message":"Status and Comment have been updated.\n","status":"success"}`
}

// fakeReply is the fake's array reply to rows, every one a success.
func fakeReply(b testing.TB, rows []Row) []byte {
	h := kapturetest.NewHandler(kapturetest.Options{NoRecord: true})
	req := httptest.NewRequest(http.MethodPost, Endpoint, strings.NewReader(string(Payload(rows))))
	req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("fake answered %d: %.200s", rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Bytes()
}

// BenchmarkReplyPath reads an array reply to 50 rows through the client's
// whole reply path (the body redacted, interpreted, its messages
// redacted): the fake's reply (about 9 KB), and one of the documented
// success objects with their whole ticket (about 95 KB).
func BenchmarkReplyPath(b *testing.B) {
	rows := benchRows(50)
	items := make([]string, len(rows))
	for i, r := range rows {
		items[i] = documentedItem(r.TicketID)
	}
	bodies := []struct {
		name string
		body []byte
	}{
		{"fake", fakeReply(b, rows)},
		{"documented", []byte("[" + strings.Join(items, ",") + "]")},
	}
	rd := NewRedactor(kapturetest.DefaultToken)
	hdr := http.Header{}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				out := rd.outcome(interpret(http.StatusOK, hdr, rd.body(bb.body), rows, ObjectAuto))
				if out.kind != kindRows {
					b.Fatal(out.message)
				}
			}
			perRow(b, len(rows))
		})
	}
}
