package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// refItem is the reply object as encoding/json reads it: the reference
// the decoder must agree with.
type refItem struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Ticket  *struct {
		TicketID json.RawMessage `json:"ticketId"`
	} `json:"ticket"`
}

func (r refItem) view() replyItem {
	it := replyItem{status: r.Status, message: r.Message}
	if r.Ticket != nil {
		it.ticket = true
		it.ticketID = r.Ticket.TicketID
	}
	return it
}

func sameItem(a, b replyItem) bool {
	return a.status == b.status && a.message == b.message && a.ticket == b.ticket &&
		(a.ticketID == nil) == (b.ticketID == nil) && bytes.Equal(a.ticketID, b.ticketID)
}

// checkDecoder decodes body as interpret does (an object or an array, by
// its first byte) with the decoder and with encoding/json, and fails the
// test when they disagree about whether it is readable or about any
// value read.
func checkDecoder(t *testing.T, body []byte) {
	t.Helper()
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return
	}
	switch trimmed[0] {
	case '{':
		var ref refItem
		refErr := json.Unmarshal(trimmed, &ref)
		var got replyItem
		err := decodeReplyObject(trimmed, &got)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("object %q: decoder error %v, encoding/json error %v", body, err, refErr)
		}
		if err == nil && !sameItem(got, ref.view()) {
			t.Fatalf("object %q: decoder read %+v, encoding/json %+v", body, got, ref.view())
		}
		if err == nil {
			checkTicketID(t, got)
		}
	case '[':
		var ref []refItem
		refErr := json.Unmarshal(trimmed, &ref)
		got, err := decodeReplyArray(trimmed, nil)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("array %q: decoder error %v, encoding/json error %v", body, err, refErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(ref) {
			t.Fatalf("array %q: decoder read %d items, encoding/json %d", body, len(got), len(ref))
		}
		for i := range got {
			if !sameItem(got[i], ref[i].view()) {
				t.Fatalf("array %q item %d: decoder read %+v, encoding/json %+v", body, i, got[i], ref[i].view())
			}
			checkTicketID(t, got[i])
		}
	}
}

// checkTicketID holds ticketID and namesTicket to encoding/json's reading
// of a string ticketId.
func checkTicketID(t *testing.T, it replyItem) {
	t.Helper()
	want := ""
	if it.ticket && len(it.ticketID) > 0 {
		want = string(it.ticketID)
		if it.ticketID[0] == '"' {
			if err := json.Unmarshal(it.ticketID, &want); err != nil {
				t.Fatalf("ticketId %q: %v", it.ticketID, err)
			}
		}
	}
	if got := ticketID(it); got != want {
		t.Fatalf("ticketID(%q) = %q, want %q", it.ticketID, got, want)
	}
	for _, id := range []string{want, "711"} {
		if id == "" {
			continue // a row always has a ticket id
		}
		if got, want := namesTicket(it, id), want == "" || want == id; got != want {
			t.Fatalf("namesTicket(%q, %q) = %v, want %v", it.ticketID, id, got, want)
		}
	}
}

// fakeReplies are the bodies the fake API answers, in every reply form,
// with every item applied, some failed and all failed, atomic or not, and
// its fault and error bodies.
func fakeReplies(tb testing.TB) [][]byte {
	tb.Helper()
	payloads := [][]string{
		{"713516551148"},
		{"713516551148", "700000000001", "700000000002"},
		{"713516551148", "999", "700000000002"},    // an unknown ticket
		{"999", "998"},                             // all unknown
		{"713516551148", "", "700000000002"},       // a missing ticket_id
		{"700000000001", "713516551148\"\\\u00e9"}, // escapes in a ticket
	}
	var bodies [][]byte
	for _, reply := range []kapturetest.Reply{kapturetest.ReplyArray, kapturetest.ReplyObject, kapturetest.ReplyLast} {
		for _, atomic := range []bool{false, true} {
			h := kapturetest.NewHandler(kapturetest.Options{Reply: reply, Atomic: atomic, NoRecord: true})
			for _, ids := range payloads {
				var items []string
				for _, id := range ids {
					items = append(items, fmt.Sprintf(`{"ticket_id":%q,"sub_status":"CL","queue":"Tier \"2\"","comment":"a\nb"}`, id))
				}
				bodies = append(bodies, serve(tb, h, "["+strings.Join(items, ",")+"]", kapturetest.DefaultToken))
			}
		}
	}
	h := kapturetest.NewHandler(kapturetest.Options{NoRecord: true})
	bodies = append(bodies,
		serve(tb, h, `[{"ticket_id":"713516551148","sub_status":"CL"}]`, "wrong-token"), // Invalid Auth Key
		serve(tb, h, `{"not":"an array"}`, kapturetest.DefaultToken),                    // bad body
	)
	for _, f := range []*kapturetest.Fault{
		{Kind: kapturetest.FaultErrorPage}, {Kind: kapturetest.FaultTooMany}, {Kind: kapturetest.FaultNotJSON},
		kapturetest.InvalidAuth(http.StatusOK), {Kind: kapturetest.FaultReply, Status: 503},
	} {
		h := kapturetest.NewHandler(kapturetest.Options{NoRecord: true, Fail: kapturetest.Script(f)})
		bodies = append(bodies, serve(tb, h, `[{"ticket_id":"713516551148","sub_status":"CL"}]`, kapturetest.DefaultToken))
	}
	return bodies
}

func serve(tb testing.TB, h http.Handler, body, token string) []byte {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, kapturetest.Path, strings.NewReader(body))
	req.Header.Set("Authorization", "Basic "+token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Body.Bytes()
}

// trickyReplies are bodies the fake does not produce but an API or a
// proxy might, each aimed at a rule encoding/json has.
var trickyReplies = []string{
	// ticketId as a number, nested objects, arrays, null, a bool.
	`{"ticket":{"ticketId":713516551148},"status":"success"}`,
	`{"ticket":{"ticketId":-1.5e+3},"status":"success"}`,
	`{"ticket":{"ticketId":{"id":"7","x":[1,{"y":null}]}},"status":"success"}`,
	`{"ticket":{"ticketId":["7"]},"status":"success"}`,
	`{"ticket":{"ticketId":null},"status":"success"}`,
	`{"ticket":{"ticketId":true},"status":"success"}`,
	`{"ticket":{"ticketId":""},"status":"success"}`,
	`{"ticket":{"nested":{"ticketId":"1"},"ticketId":"2"},"status":"success"}`,
	// Duplicate keys: the last wins; a ticket object merges into the last.
	`{"status":"failed","status":"success"}`,
	`{"status":"success","status":null}`,
	`{"ticket":{"ticketId":"1"},"ticket":{"substatus":"x"}}`,
	`{"ticket":{"ticketId":"1"},"ticket":null,"ticket":{}}`,
	`{"ticket":{"ticketId":"1"},"ticket":null}`,
	// Keys matched without regard to case, escaped or not.
	`{"STATUS":"success","Message":"ok","TICKET":{"TICKETID":"7"}}`,
	`{"\u0073tatus":"success","ſtatus":"failed"}`,
	`{"ticket":{"ticketıd":"7","ticketId":"8"}}`,
	`{"statu\u0073":"success","messag\u00e9":"no"}`,
	// Escapes, surrogates, invalid UTF-8, control characters.
	`{"message":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00","status":"success"}`,
	`{"message":"lone \ud800 high, lone \udc00 low, \ud800\u0041 broken","status":"failed"}`,
	"{\"message\":\"bad \xff\xfe utf-8 \xc3\",\"status\":\"failed\"}",
	"{\"message\":\"tab\there\",\"status\":\"failed\"}",
	`{"message":"bad escape \x","status":"failed"}`,
	`{"message":"short \u12","status":"failed"}`,
	`{"message":"apostrophe \'","status":"failed"}`,
	// Types that do not fit.
	`{"status":1}`, `{"status":true}`, `{"status":["success"]}`, `{"status":{}}`,
	`{"message":null,"status":"success"}`, `{"ticket":"7"}`, `{"ticket":7}`, `{"ticket":[]}`, `{"ticket":false}`,
	`[{"status":"success"},null,{"status":"failed"}]`, `[{"status":"success"},"x"]`, `[1]`, `[[]]`, `[]`, `[null]`,
	// Broken JSON.
	`{"status":"success"`, `{"status":"success",}`, `{"status" "success"}`, `{status:"success"}`,
	`[{"status":"success"},]`, `[{"status":"success"}`, `{"status":"success"}x`, `{"status":"success"}{}`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":1e+}`, `{"a":tru}`, `{"a":nul}`, `{"a":NaN}`,
	`{"a":[1,2,]}`, `{"a":[1 2]}`, `{"a":{"b"}}`, `{"a":"\u00"}`, `{"": "x", "status":"success"}`,
	// Whitespace JSON allows, and what it does not.
	" \t\r\n{ \"status\" : \"success\" , \"message\" : \"ok\" } \n",
	"{\"status\":\"success\"}\v",
	"{\u00a0\"status\":\"success\"}",
	// Deep nesting, at and past encoding/json's limit.
	`{"a":` + strings.Repeat("[", maxReplyDepth-1) + strings.Repeat("]", maxReplyDepth-1) + `}`,
	`{"a":` + strings.Repeat("[", maxReplyDepth) + strings.Repeat("]", maxReplyDepth) + `}`,
	strings.Repeat("[", maxReplyDepth) + strings.Repeat("]", maxReplyDepth),
	strings.Repeat("[", maxReplyDepth+1) + strings.Repeat("]", maxReplyDepth+1),
}

// FuzzReplyDecoder holds the reply decoder to encoding/json on the fake's
// replies, their truncations, and bodies aimed at encoding/json's rules.
// Its seeds run in every go test.
func FuzzReplyDecoder(f *testing.F) {
	for _, b := range fakeReplies(f) {
		f.Add(b)
		for _, cut := range []int{1, len(b) / 3, len(b) / 2, len(b) - 2, len(b) - 1} {
			if cut > 0 && cut < len(b) {
				f.Add(b[:cut])
			}
		}
	}
	for _, s := range trickyReplies {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoder(t, body)
	})
}

// TestFakeRepliesAreSeeds makes sure the seeds hold what they claim: each
// reply form, failures, and an HTML page, so the fuzz test's seeds do not
// silently shrink to nothing.
func TestFakeRepliesAreSeeds(t *testing.T) {
	var all []string
	for _, b := range fakeReplies(t) {
		all = append(all, string(b))
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{`[{"ticket":{"ticketId":"713516551148"`, `{"ticket":{"ticketId":`, `"status":"failed"`,
		kapturetest.MsgNotApplied, kapturetest.MsgInvalidAuth, "<!doctype html>", `\"\\é`} {
		if !strings.Contains(joined, want) {
			t.Errorf("no seed contains %q", want)
		}
	}
}
