package batch

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/reader"
)

func rowsFor(ids ...string) []Row {
	rows := make([]Row, len(ids))
	for i, id := range ids {
		rows[i] = NewRow(reader.Record{Line: i + 2, TicketID: id, SubStatus: "P"})
	}
	return rows
}

func TestInterpret(t *testing.T) {
	two := rowsFor("711", "722")
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		rows       []Row
		kind       kind
		msgHas     string
		entries    []bool
		retryAfter time.Duration
	}{
		{name: "object success", status: 200, body: `{"ticket":{"ticketId":"711"},"Additional_details":{},"message":"Status and Comment have been updated.\n","status":"success"}`,
			rows: two, kind: kindSuccess, msgHas: "updated"},
		{name: "object failed with 200", status: 200, body: `{"message":"No Data found/ticket_id is missing","status":"failed"}`,
			rows: two, kind: kindRejected, msgHas: "ticket_id is missing"},
		{name: "object failed with 400", status: 400, body: `{"message":"Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss.","status":"failed"}`,
			rows: two, kind: kindRejected, msgHas: "Invalid Format"},
		{name: "auth with 200", status: 200, body: `{"message":"Invalid Auth Key","status":"failed"}`, rows: two, kind: kindAuth, msgHas: "Invalid Auth Key"},
		{name: "auth 401 html", status: 401, body: `<html>no</html>`, rows: two, kind: kindAuth, msgHas: "HTTP 401"},
		{name: "403", status: 403, body: `{"message":"Forbidden","status":"failed"}`, rows: two, kind: kindAuth, msgHas: "Forbidden"},
		{name: "auth inside array", status: 200, body: `[{"message":"Invalid Auth Key","status":"failed"},{"status":"success"}]`, rows: two, kind: kindAuth},
		{name: "array per row", status: 200, body: `[{"ticket":{"ticketId":"711"},"status":"success","message":"ok"},{"message":"Ticket not found","status":"failed"}]`,
			rows: two, kind: kindRows, entries: []bool{true, false}},
		{name: "array numeric ticket id", status: 200, body: `[{"ticket":{"ticketId":711},"status":"success"},{"ticket":{"ticketId":"722"},"status":"success"}]`,
			rows: two, kind: kindRows, entries: []bool{true, true}},
		{name: "array all failed is a whole-payload failure", status: 200, body: `[{"message":"Not updated","status":"failed"},{"message":"No ticket found","status":"failed"}]`,
			rows: two, kind: kindRejected, msgHas: "Not updated"},
		{name: "array wrong length", status: 200, body: `[{"status":"success"}]`, rows: two, kind: kindRejected, msgHas: "1 results for 2 items"},
		{name: "array misattributed", status: 200, body: `[{"ticket":{"ticketId":"722"},"status":"success"},{"ticket":{"ticketId":"711"},"status":"success"}]`,
			rows: two, kind: kindRejected, msgHas: "names ticket 722"},
		{name: "429 seconds", status: 429, header: http.Header{"Retry-After": {"3"}}, body: "slow down", rows: two, kind: kindRetry, retryAfter: 3 * time.Second},
		{name: "500 html", status: 500, body: "<html><head><title>Internal Server Error</title></head><body>stack</body></html>", rows: two, kind: kindRetry, msgHas: "HTTP 500: Internal Server Error"},
		{name: "502 empty", status: 502, body: "", rows: two, kind: kindRetry, msgHas: "empty body"},
		{name: "200 not json", status: 200, body: "<html>maintenance</html>", rows: two, kind: kindRetry, msgHas: "unreadable"},
		{name: "200 truncated json", status: 200, body: `[{"status":"succ`, rows: two, kind: kindRetry, msgHas: "unreadable"},
		{name: "404 html", status: 404, body: "<html><title>Not Found</title></html>", rows: two, kind: kindFailed, msgHas: "HTTP 404: Not Found"},
		{name: "unexpected status word", status: 200, body: `{"status":"pending","message":"queued"}`, rows: two, kind: kindRejected, msgHas: `unexpected reply status "pending"`},
		{name: "failed without message", status: 200, body: `[{"status":"failed"}]`, rows: rowsFor("711"), kind: kindRows, entries: []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			out := interpret(tt.status, h, []byte(tt.body), tt.rows)
			if out.kind != tt.kind {
				t.Fatalf("kind = %d, want %d (message %q)", out.kind, tt.kind, out.message)
			}
			if !strings.Contains(out.message, tt.msgHas) {
				t.Errorf("message = %q, want it to contain %q", out.message, tt.msgHas)
			}
			if out.httpStatus != tt.status {
				t.Errorf("httpStatus = %d, want %d", out.httpStatus, tt.status)
			}
			if tt.entries != nil {
				if len(out.entries) != len(tt.entries) {
					t.Fatalf("entries = %v", out.entries)
				}
				for i, ok := range tt.entries {
					if out.entries[i].ok != ok {
						t.Errorf("entry %d ok = %v, want %v", i, out.entries[i].ok, ok)
					}
					if !ok && out.entries[i].message == "" {
						t.Errorf("entry %d failed without a message", i)
					}
				}
			}
			if out.retryAfter != tt.retryAfter {
				t.Errorf("retryAfter = %v, want %v", out.retryAfter, tt.retryAfter)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{"0.5", 500 * time.Millisecond},
		{"-3", 0},
		{"NaN", 0},
		{"99999999999", maxRetryAfter},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
