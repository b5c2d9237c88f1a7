package batch

import (
	"net/http"
	"slices"
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

// Reply bodies of the object form.
const (
	okObj     = `{"ticket":{"ticketId":"722"},"Additional_details":{},"message":"Status and Comment have been updated.\n","status":"success"}`
	okNum     = `{"ticket":{"ticketId":722},"message":"updated","status":"success"}`
	okOther   = `{"ticket":{"ticketId":"799"},"message":"updated","status":"success"}`
	okNone    = `{"message":"updated","status":"success"}`
	failNamed = `{"ticket":{"ticketId":"722"},"message":"Invalid sub_status","status":"failed"}`
	failNone  = `{"message":"No ticket found","status":"failed"}`
)

// interpretCase is a reply (status, header, body) to a request carrying
// rows, read under mode, and what interpret makes of it.
type interpretCase struct {
	name       string
	mode       ObjectReplies
	status     int
	header     http.Header
	body       string
	rows       []Row
	kind       kind
	form       form
	msgHas     string
	entries    []string // kindRows: "ok", "failed" or "unknown" per row
	retryAfter time.Duration
}

// objectReplyCases are replies of one object, read under each mode.
func objectReplyCases() []interpretCase {
	one, two, three := rowsFor("711"), rowsFor("711", "722"), rowsFor("711", "722", "733")
	return []interpretCase{
		// One object for several items, ObjectAuto: it states the outcome
		// of the item it names, no other.
		{name: "auto/object names an item", status: 200, body: okObj, rows: three,
			kind: kindRows, form: formObject, entries: []string{"unknown", "ok", "unknown"}},
		{name: "auto/object names an item, numeric id", status: 200, body: okNum, rows: three,
			kind: kindRows, form: formObject, entries: []string{"unknown", "ok", "unknown"}},
		{name: "auto/failed object names an item", status: 200, body: failNamed, rows: three,
			kind: kindRows, form: formObject, entries: []string{"unknown", "failed", "unknown"}},
		{name: "auto/object names no ticket", status: 200, body: okNone, rows: two,
			kind: kindRows, form: formObject, entries: []string{"unknown", "unknown"}},
		{name: "auto/failed object names no ticket", status: 400, body: failNone, rows: two,
			kind: kindRows, form: formObject, entries: []string{"unknown", "unknown"}},
		{name: "auto/object names a ticket not sent", status: 200, body: okOther, rows: two,
			kind: kindRows, form: formObject, entries: []string{"unknown", "unknown"}},
		{name: "single/object names an item", mode: ObjectSingle, status: 200, body: okObj, rows: two,
			kind: kindRows, form: formObject, entries: []string{"unknown", "ok"}},
		// One object for one item is that item's outcome, in every mode.
		{name: "auto/single item, object names it", status: 200, body: `{"ticket":{"ticketId":"711"},"message":"updated","status":"success"}`,
			rows: one, kind: kindSuccess, form: formObject, msgHas: "updated"},
		{name: "auto/single item, numeric id", status: 200, body: `{"ticket":{"ticketId":711},"message":"updated","status":"success"}`,
			rows: one, kind: kindSuccess, form: formObject, msgHas: "updated"},
		{name: "auto/single item, object names none", status: 200, body: okNone, rows: one, kind: kindSuccess, form: formObject, msgHas: "updated"},
		{name: "auto/single item, failed object", status: 200, body: failNone, rows: one, kind: kindRejected, form: formObject, msgHas: "No ticket found"},
		{name: "auto/single item, object names another ticket", status: 200, body: okOther, rows: one,
			kind: kindRejected, form: formObject, msgHas: "names ticket 799, not the ticket sent (711)"},
		{name: "auto/single item, object names another ticket, escaped", status: 200,
			body: `{"ticket":{"ticketId":"799\u001b[2J\u202e"},"message":"up\u001b]0;x\u0007dated","status":"success"}`, rows: one,
			kind: kindRejected, form: formObject, msgHas: "names ticket 799, not the ticket sent (711): updated"},
		{name: "whole/single item, object names another ticket", mode: ObjectWhole, status: 200, body: okObj, rows: one,
			kind: kindRejected, form: formObject, msgHas: "names ticket 722, not the ticket sent (711)"},
		// ObjectWhole: one object covers the payload.
		{name: "whole/object success", mode: ObjectWhole, status: 200, body: okObj, rows: two, kind: kindSuccess, form: formObject, msgHas: "updated"},
		{name: "whole/object success names none", mode: ObjectWhole, status: 200, body: okNone, rows: two, kind: kindSuccess, form: formObject, msgHas: "updated"},
		{name: "whole/object names a ticket not sent", mode: ObjectWhole, status: 200, body: okOther, rows: two,
			kind: kindRejected, form: formObject, msgHas: "names ticket 799, which the payload does not carry"},
		{name: "whole/object failed with 200", mode: ObjectWhole, status: 200, body: `{"message":"No Data found/ticket_id is missing","status":"failed"}`,
			rows: two, kind: kindRejected, form: formObject, msgHas: "ticket_id is missing"},
		{name: "whole/object failed with 400", mode: ObjectWhole, status: 400, body: `{"message":"Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss.","status":"failed"}`,
			rows: two, kind: kindRejected, form: formObject, msgHas: "Invalid Format"},
		{name: "whole/unexpected status word", mode: ObjectWhole, status: 200, body: `{"status":"pending","message":"queued"}`, rows: two,
			kind: kindRejected, form: formObject, msgHas: `unexpected reply status "pending"`},
	}
}

// otherReplyCases are auth refusals, arrays, and replies that are not
// read as results.
func otherReplyCases() []interpretCase {
	two, three := rowsFor("711", "722"), rowsFor("711", "722", "733")
	one := rowsFor("711")
	return []interpretCase{
		// Auth refusals are fatal whatever the form and mode.
		{name: "auto/auth object with 200", status: 200, body: `{"message":"Invalid Auth Key","status":"failed"}`, rows: two, kind: kindAuth, msgHas: "Invalid Auth Key"},
		{name: "auto/auth object, single item", status: 200, body: `{"message":"Invalid Auth Key","status":"failed"}`, rows: one, kind: kindAuth, msgHas: "Invalid Auth Key"},
		{name: "whole/auth object with 200", mode: ObjectWhole, status: 200, body: `{"message":"Invalid Auth Key","status":"failed"}`, rows: two, kind: kindAuth, msgHas: "Invalid Auth Key"},
		{name: "auth 401 html", status: 401, body: `<html>no</html>`, rows: two, kind: kindAuth, msgHas: "HTTP 401"},
		{name: "403", status: 403, body: `{"message":"Forbidden","status":"failed"}`, rows: two, kind: kindAuth, msgHas: "Forbidden"},
		{name: "auth inside array", status: 200, body: `[{"message":"Invalid Auth Key","status":"failed"},{"status":"success"}]`, rows: two, kind: kindAuth},
		// Arrays read the same in every mode.
		{name: "array per row", status: 200, body: `[{"ticket":{"ticketId":"711"},"status":"success","message":"ok"},{"message":"Ticket not found","status":"failed"}]`,
			rows: two, kind: kindRows, form: formArray, entries: []string{"ok", "failed"}},
		{name: "whole/array per row", mode: ObjectWhole, status: 200, body: `[{"ticket":{"ticketId":"711"},"status":"success","message":"ok"},{"message":"Ticket not found","status":"failed"}]`,
			rows: two, kind: kindRows, form: formArray, entries: []string{"ok", "failed"}},
		{name: "array numeric ticket id", status: 200, body: `[{"ticket":{"ticketId":711},"status":"success"},{"ticket":{"ticketId":"722"},"status":"success"}]`,
			rows: two, kind: kindRows, form: formArray, entries: []string{"ok", "ok"}},
		{name: "array all failed is a whole-payload failure", status: 200, body: `[{"message":"Not updated","status":"failed"},{"message":"No ticket found","status":"failed"}]`,
			rows: two, kind: kindRejected, form: formArray, msgHas: "Not updated"},
		// Every item failed, each naming its own ticket: each answer
		// stands. One that names none (an atomic API's "not applied"),
		// or another ticket's id inside a longer number, does not.
		{name: "array all failed, each naming its ticket", status: 200,
			body: `[{"message":"No ticket found for ticket_id 711","status":"failed"},{"ticket":{"ticketId":"722"},"message":"Invalid sub_status","status":"failed"}]`,
			rows: two, kind: kindRows, form: formArray, entries: []string{"failed", "failed"}},
		{name: "array all failed, one naming none", status: 200,
			body: `[{"message":"Not updated: another item failed","status":"failed"},{"message":"No ticket found for ticket_id 722","status":"failed"}]`,
			rows: two, kind: kindRejected, form: formArray, msgHas: "Not updated"},
		{name: "array all failed, an id inside a longer one", status: 200,
			body: `[{"message":"No ticket found for ticket_id 7110","status":"failed"},{"message":"No ticket found for ticket_id 722","status":"failed"}]`,
			rows: two, kind: kindRejected, form: formArray, msgHas: "7110"},
		{name: "array wrong length", status: 200, body: `[{"status":"success"}]`, rows: two, kind: kindRejected, form: formArray, msgHas: "1 results for 2 items"},
		// Items in another order, each naming a ticket of the payload
		// once: matched by the ticket they name, nothing sent again.
		{name: "array in another order, each naming its ticket", status: 200, body: `[{"ticket":{"ticketId":"722"},"status":"failed","message":"Invalid sub_status"},{"ticket":{"ticketId":"711"},"status":"success"}]`,
			rows: two, kind: kindRows, form: formArray, entries: []string{"ok", "failed"}},
		{name: "array misattributed: one item names none", status: 200, body: `[{"ticket":{"ticketId":"722"},"status":"success"},{"status":"success"}]`,
			rows: two, kind: kindRejected, form: formArray, msgHas: "names ticket 722"},
		{name: "array misattributed: a ticket not sent", status: 200, body: `[{"ticket":{"ticketId":"799"},"status":"success"},{"ticket":{"ticketId":"711"},"status":"success"}]`,
			rows: two, kind: kindRejected, form: formArray, msgHas: "names ticket 799"},
		// Items each naming a ticket of the payload, but not each once:
		// a ticket answered by exactly one item keeps that answer, one
		// answered by none or by several is unknown (sent again on its
		// own); an item naming a ticket not sent still rejects the
		// reply, as does a single item answered twice (sent again, it
		// would be answered twice again).
		{name: "array answering a ticket twice, none other", status: 200, body: `[{"ticket":{"ticketId":"722"},"status":"success"},{"ticket":{"ticketId":"722"},"status":"success"}]`,
			rows: two, kind: kindRows, form: formArray, entries: []string{"unknown", "unknown"}},
		{name: "array answering a ticket twice, another not at all", status: 200, body: arrayOf(okItem("711"), okItem("711"), okItem("733")),
			rows: three, kind: kindRows, form: formArray, entries: []string{"unknown", "unknown", "ok"}},
		{name: "array answering a ticket twice, one item more", status: 200, body: arrayOf(okItem("711"), okItem("722"), okItem("733"), okItem("722")),
			rows: three, kind: kindRows, form: formArray, entries: []string{"ok", "unknown", "ok"}},
		{name: "array answering a ticket twice, in another order", status: 200, body: arrayOf(okItem("722"), okItem("733"), failItem("711"), okItem("722")),
			rows: three, kind: kindRows, form: formArray, entries: []string{"failed", "unknown", "ok"}},
		{name: "array leaving a ticket out", status: 200, body: arrayOf(okItem("711"), okItem("733")),
			rows: three, kind: kindRows, form: formArray, entries: []string{"ok", "unknown", "ok"}},
		{name: "array leaving a ticket out, the others failed", status: 200, body: arrayOf(failItem("711"), failItem("733")),
			rows: three, kind: kindRows, form: formArray, entries: []string{"failed", "unknown", "failed"}},
		{name: "array one item more, naming a ticket not sent", status: 200, body: arrayOf(okItem("711"), okItem("722"), okItem("733"), okItem("799")),
			rows: three, kind: kindRejected, form: formArray, msgHas: "4 results for 3 items"},
		{name: "array one item fewer, one naming none", status: 200, body: `[{"ticket":{"ticketId":"711"},"status":"success"},{"status":"success"}]`,
			rows: three, kind: kindRejected, form: formArray, msgHas: "2 results for 3 items"},
		{name: "array answering a single item twice", status: 200, body: arrayOf(okItem("711"), okItem("711")),
			rows: one, kind: kindRejected, form: formArray, msgHas: "2 results for 1 items"},
		// An empty array answers no item: each is sent again on its own,
		// not bisected (break-test 4, C3); a single one is failed.
		{name: "empty array", status: 200, body: `[]`, rows: three, kind: kindRows, form: formArray, entries: []string{"unknown", "unknown", "unknown"}},
		{name: "empty array, a single item", status: 200, body: `[]`, rows: one, kind: kindRejected, form: formArray, msgHas: "0 results for 1 items"},
		{name: "failed without message", status: 200, body: `[{"status":"failed"}]`, rows: one, kind: kindRows, form: formArray, entries: []string{"failed"}},
		// An item that states two statuses is taken as neither: failed,
		// saying so (a resume sends it again).
		{name: "two statuses, success last", status: 200, body: `[{"status":"failed","status":"success"},{"status":"success"}]`,
			rows: two, kind: kindRows, form: formArray, entries: []string{"failed", "ok"}},
		{name: "two statuses, one escaped", status: 200, body: `{"status":"failed","st\u0061tus":"success","ticket":{"ticketId":"711"}}`,
			rows: one, kind: kindRejected, form: formObject, msgHas: "two statuses"},
		{name: "the same status twice", status: 200, body: `[{"status":"success","Status":"success"}]`, rows: one, kind: kindRows, form: formArray, entries: []string{"ok"}},
		{name: "a null status, then one", status: 200, body: `[{"status":null,"status":"success"}]`, rows: one, kind: kindRows, form: formArray, entries: []string{"ok"}},
		// No reply read.
		{name: "429 seconds", status: 429, header: http.Header{"Retry-After": {"3"}}, body: "slow down", rows: two, kind: kindRetry, retryAfter: 3 * time.Second},
		{name: "500 html", status: 500, body: "<html><head><title>Internal Server Error</title></head><body>stack</body></html>", rows: two, kind: kindRetry, msgHas: "HTTP 500: Internal Server Error"},
		{name: "502 empty", status: 502, body: "", rows: two, kind: kindRetry, msgHas: "empty body"},
		// A 500 with the API's own failure reply is its answer; anything
		// else with a 5xx is retried.
		{name: "500 with a failed object, single item", status: 500, body: failNone, rows: one, kind: kindRejected, form: formObject, msgHas: "No ticket found"},
		{name: "500 with a failed object, two items", status: 500, body: failNone, rows: two, kind: kindRows, form: formObject, entries: []string{"unknown", "unknown"}},
		{name: "500 with a failed array", status: 500, body: `[{"message":"Not updated","status":"failed"},{"message":"No ticket found","status":"failed"}]`,
			rows: two, kind: kindRejected, form: formArray, msgHas: "Not updated"},
		{name: "500 with a success object", status: 500, body: `{"message":"ok","status":"success"}`, rows: one, kind: kindRetry, msgHas: "HTTP 500"},
		{name: "500 with a mixed array", status: 500, body: `[{"status":"failed"},{"status":"success"}]`, rows: two, kind: kindRetry, msgHas: "HTTP 500"},
		{name: "502 with a gateway's json", status: 502, body: `{"error":"bad gateway"}`, rows: two, kind: kindRetry, msgHas: "HTTP 502"},
		{name: "503 with a failed object", status: 503, body: `{"status":"failed","message":"Service Unavailable: upstream connect error"}`, rows: one, kind: kindRetry, msgHas: "HTTP 503"},
		{name: "502 with a failed array", status: 502, body: `[{"status":"failed","message":"Bad gateway"}]`, rows: one, kind: kindRetry, msgHas: "HTTP 502"},
		{name: "200 not json", status: 200, body: "<html>maintenance</html>", rows: two, kind: kindRetry, msgHas: "unreadable"},
		{name: "200 truncated json", status: 200, body: `[{"status":"succ`, rows: two, kind: kindRetry, msgHas: "unreadable"},
		{name: "404 html", status: 404, body: "<html><title>Not Found</title></html>", rows: two, kind: kindFailed, msgHas: "HTTP 404: Not Found"},
	}
}

func TestInterpret(t *testing.T) {
	tests := slices.Concat(objectReplyCases(), otherReplyCases())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			out := interpret(tt.status, h, []byte(tt.body), tt.rows, tt.mode)
			if out.kind != tt.kind {
				t.Fatalf("kind = %d, want %d (message %q)", out.kind, tt.kind, out.message)
			}
			if out.form != tt.form {
				t.Errorf("form = %d, want %d", out.form, tt.form)
			}
			if !strings.Contains(out.message, tt.msgHas) {
				t.Errorf("message = %q, want it to contain %q", out.message, tt.msgHas)
			}
			if out.httpStatus != tt.status {
				t.Errorf("httpStatus = %d, want %d", out.httpStatus, tt.status)
			}
			if got := entryWords(out.entries); !slices.Equal(got, tt.entries) {
				t.Errorf("entries = %v, want %v", got, tt.entries)
			}
			for i, en := range out.entries {
				if en.known && !en.ok && en.message == "" {
					t.Errorf("entry %d failed without a message", i)
				}
			}
			if out.retryAfter != tt.retryAfter {
				t.Errorf("retryAfter = %v, want %v", out.retryAfter, tt.retryAfter)
			}
		})
	}
}

// okItem and failItem are array items naming ticket id; arrayOf makes
// an array reply of them.
func okItem(id string) string {
	return `{"ticket":{"ticketId":"` + id + `"},"message":"updated","status":"success"}`
}

func failItem(id string) string {
	return `{"ticket":{"ticketId":"` + id + `"},"message":"Invalid sub_status","status":"failed"}`
}

func arrayOf(items ...string) string { return "[" + strings.Join(items, ",") + "]" }

// entryWords describes entries as "ok", "failed" or "unknown".
func entryWords(entries []entry) []string {
	var out []string
	for _, en := range entries {
		switch {
		case !en.known:
			out = append(out, "unknown")
		case en.ok:
			out = append(out, "ok")
		default:
			out = append(out, "failed")
		}
	}
	return out
}

func TestParseObjectReplies(t *testing.T) {
	for _, m := range []ObjectReplies{ObjectAuto, ObjectWhole, ObjectSingle} {
		got, err := ParseObjectReplies(" " + strings.ToUpper(m.String()) + " ")
		if err != nil || got != m {
			t.Errorf("ParseObjectReplies(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	for _, bad := range []string{"", "object", "batch"} {
		if _, err := ParseObjectReplies(bad); err == nil {
			t.Errorf("ParseObjectReplies(%q) succeeded", bad)
		}
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
