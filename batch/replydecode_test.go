package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unsafe"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// refDecode reads body (an object or an array of objects or nulls) by the
// rules replyItem states, walking its keys with json.Decoder.Token: the
// reference decodeReply is held to. It reads each value of a key it
// knows, in order, so it sees every repeated key.
func refDecode(body []byte) ([]replyItem, error) {
	if !json.Valid(body) {
		return nil, errors.New("not JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, _ := dec.Token(); tok == json.Delim('{') {
		it, err := refObject(dec)
		return []replyItem{it}, err
	}
	items := []replyItem{}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		switch raw[0] {
		case 'n':
			items = append(items, replyItem{})
		case '{':
			d := json.NewDecoder(bytes.NewReader(raw))
			d.Token()
			it, err := refObject(d)
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		default:
			return nil, errors.New("an item that is not an object")
		}
	}
	return items, nil
}

// refObject reads the keys of an object whose '{' dec has read.
func refObject(dec *json.Decoder) (replyItem, error) {
	var it replyItem
	for dec.More() {
		tok, _ := dec.Token()
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return it, err
		}
		var err error
		switch {
		case strings.EqualFold(key, "status"):
			var w *string
			if err = json.Unmarshal(raw, &w); err == nil && w != nil {
				it.Status.twice = it.Status.twice || it.Status.given && *w != it.Status.word
				it.Status.word, it.Status.given = *w, true
			}
		case strings.EqualFold(key, "message"):
			err = json.Unmarshal(raw, &it.Message)
		case strings.EqualFold(key, "ticket"):
			it.Ticket, err = refTicket(raw, it.Ticket)
		}
		if err != nil {
			return it, err
		}
	}
	it.Message = serverText(it.Message)
	return it, nil
}

// refTicket reads a ticket's value into t (a repeated "ticket" merges
// into the one before, as encoding/json decodes into what it has).
func refTicket(raw json.RawMessage, t *replyTicket) (*replyTicket, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, errors.New("a ticket that is not an object")
	}
	if t == nil {
		t = &replyTicket{}
	}
	fields := map[string]*ticketText{"ticketId": &t.TicketID, "status": &t.Status, "statusName": &t.StatusName,
		"substatus": &t.Substatus, "substatusName": &t.SubstatusName, "queueKey": &t.QueueKey, "queueName": &t.QueueName}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		for name, f := range fields {
			if !strings.EqualFold(tok.(string), name) || string(v) == "null" {
				continue
			}
			f.text, f.given = string(v), true
			if v[0] == '"' {
				if err := json.Unmarshal(v, &f.text); err != nil {
					return nil, err
				}
			}
		}
	}
	return t, nil
}

// jsonDecode is the decoder decodeReply replaced, held as the second
// reference: json.Unmarshal into an item whose status and ticket texts
// read themselves by their rules.
func jsonDecode(body []byte) ([]replyItem, error) {
	var items []jsonItem
	var err error
	if body[0] == '{' {
		items = make([]jsonItem, 1)
		err = json.Unmarshal(body, &items[0])
	} else {
		err = json.Unmarshal(body, &items)
	}
	if err != nil {
		return nil, err
	}
	out := make([]replyItem, len(items))
	for i, it := range items {
		out[i] = replyItem{Status: replyStatus(it.Status), Message: serverText(it.Message)}
		if t := it.Ticket; t != nil {
			out[i].Ticket = &replyTicket{ticketText(t.TicketID), ticketText(t.Status), ticketText(t.StatusName),
				ticketText(t.Substatus), ticketText(t.SubstatusName), ticketText(t.QueueKey), ticketText(t.QueueName)}
		}
	}
	return out, nil
}

type jsonItem struct {
	Status  jsonStatus `json:"status"`
	Message string     `json:"message"`
	Ticket  *struct {
		TicketID      jsonText `json:"ticketId"`
		Status        jsonText `json:"status"`
		StatusName    jsonText `json:"statusName"`
		Substatus     jsonText `json:"substatus"`
		SubstatusName jsonText `json:"substatusName"`
		QueueKey      jsonText `json:"queueKey"`
		QueueName     jsonText `json:"queueName"`
	} `json:"ticket"`
}

type jsonText ticketText

func (t *jsonText) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	t.text, t.given = string(b), true
	if b[0] == '"' {
		return json.Unmarshal(b, &t.text)
	}
	return nil
}

type jsonStatus replyStatus

// UnmarshalJSON is called for each "status" key of the item, in order.
func (s *jsonStatus) UnmarshalJSON(b []byte) error {
	var w *string
	if err := json.Unmarshal(b, &w); err != nil || w == nil {
		return err
	}
	s.twice = s.twice || s.given && *w != s.word
	s.word, s.given = *w, true
	return nil
}

// checkDecoder decodes body as interpret does (an object or an array, by
// its first byte) with decodeReply and with each reference, and fails the
// test when they disagree about whether it is readable or about any value.
func checkDecoder(t *testing.T, body []byte) {
	t.Helper()
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return
	}
	got, _, err := decodeReply(trimmed, nil)
	for _, ref := range []struct {
		name   string
		decode func([]byte) ([]replyItem, error)
	}{{"Token reference", refDecode}, {"encoding/json", jsonDecode}} {
		want, refErr := ref.decode(trimmed)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%q: decodeReply error %v, %s error %v", body, err, ref.name, refErr)
		}
		if err == nil {
			sameItems(t, body, got, want, ref.name)
		}
	}
}

// sameItems fails the test when got and want (from the reference named
// ref) differ in any item's value.
func sameItems(t *testing.T, body []byte, got, want []replyItem, ref string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%q: decodeReply read %d items, the %s %d", body, len(got), ref, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Status != w.Status || g.Message != w.Message || (g.Ticket == nil) != (w.Ticket == nil) ||
			(g.Ticket != nil && *g.Ticket != *w.Ticket) {
			t.Fatalf("%q item %d: decodeReply read %s, the %s %s", body, i, show(g), ref, show(w))
		}
		id := ticketID(g)
		for _, row := range []string{id, "711"} {
			if row != "" && namesTicket(g, row) != (id == "" || id == row) {
				t.Fatalf("%q item %d: namesTicket(%q) = %v with ticketID %q", body, i, row, !(id == "" || id == row), id)
			}
		}
	}
}

func show(it replyItem) string {
	s := fmt.Sprintf("%+v", it)
	if it.Ticket != nil {
		s += fmt.Sprintf(" ticket %+v", *it.Ticket)
	}
	return s
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

// jsonMaxDepth is encoding/json's nesting limit.
const jsonMaxDepth = 10000

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
	`{"ticket":{"ticketId":"1","ticketId":null},"status":"success"}`,
	// What the ticket holds now: strings, absent, null, other types.
	`{"ticket":{"ticketId":"7","substatus":"PS","SUBSTATUSNAME":"Pend\u0069ng","queueKey":"","queueName":null,"status":3,"statusName":{"a": [1]}},"status":"success"}`,
	`{"ticket":{"substatus":"PS","substatus":null,"queueKey":"Q1"},"ticket":{"queueKey":"Q2"}}`,
	// Duplicate keys: the last wins; a ticket object merges into the last.
	`{"status":"failed","status":"success"}`,
	`{"status":"success","status":null}`,
	`{"message":"kept","message":null,"status":"failed"}`,
	`[{"message":"same","status":"failed"},{"message":"same","MESSAGE":"other","status":"failed"},{"message":"same"}]`,
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
	`{"a":` + strings.Repeat("[", jsonMaxDepth-1) + strings.Repeat("]", jsonMaxDepth-1) + `}`,
	`{"a":` + strings.Repeat("[", jsonMaxDepth) + strings.Repeat("]", jsonMaxDepth) + `}`,
	strings.Repeat("[", jsonMaxDepth) + strings.Repeat("]", jsonMaxDepth),
	strings.Repeat("[", jsonMaxDepth+1) + strings.Repeat("]", jsonMaxDepth+1),
}

// FuzzReplyDecode holds decodeReply to refDecode on the fake's replies,
// their truncations, and bodies aimed at encoding/json's rules and at the
// rule of two statuses. Its seeds run in every go test.
func FuzzReplyDecode(f *testing.F) {
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

// TestReplyTicketHolds: an item keeps what its ticket holds now (the
// documented success object's six fields), tells a field given empty from
// one not given, and takes a null for not given.
func TestReplyTicketHolds(t *testing.T) {
	items, _, err := decodeReply([]byte(documentedItem("713516551148")), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := *items[0].Ticket
	want := replyTicket{
		TicketID: ticketText{"713516551148", true},
		Status:   ticketText{"P", true}, StatusName: ticketText{"Pending", true},
		Substatus: ticketText{"PS", true}, SubstatusName: ticketText{"Pending", true},
		QueueKey: ticketText{"", true}, QueueName: ticketText{"", true},
	}
	if got != want {
		t.Errorf("documented item: ticket %+v, want %+v", got, want)
	}
	items, _, err = decodeReply([]byte(`[{"ticket":{"ticketId":7,"substatus":null,"queueName":"Tier \"2\""},"status":"success"}]`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want = replyTicket{TicketID: ticketText{"7", true}, QueueName: ticketText{`Tier "2"`, true}}
	if got := *items[0].Ticket; got != want {
		t.Errorf("ticket %+v, want %+v", got, want)
	}
}

// TestDecodeReplyAllocs: reading the fake's reply (each item with its
// message and ticket) or the documented success objects allocates a few
// times a reply, however many items it has, and a message repeated
// across items is one string.
func TestDecodeReplyAllocs(t *testing.T) {
	for _, n := range []int{1, 10, 100} {
		rows := benchRows(n)
		docs := make([]string, n)
		for i, r := range rows {
			docs[i] = documentedItem(r.TicketID)
		}
		for name, body := range map[string][]byte{"fake": fakeReply(t, rows), "documented": []byte("[" + strings.Join(docs, ",") + "]")} {
			items := make([]replyItem, 0, n)
			allocs := testing.AllocsPerRun(20, func() {
				var err error
				if items, _, err = decodeReply(body, items); err != nil || len(items) != n || !items[n-1].Ticket.TicketID.given {
					t.Fatalf("%s, %d rows: %d items, error %v", name, n, len(items), err)
				}
			})
			// The body as a string, the tickets, the message unescaped
			// and copied.
			if allocs > 4 {
				t.Errorf("%s, %d rows: %.0f allocations a reply, want at most 4", name, n, allocs)
			}
			if m := items[0].Message; m == "" || unsafe.StringData(m) != unsafe.StringData(items[n-1].Message) {
				t.Errorf("%s, %d rows: the first and last messages %q and %q are not one string", name, n, m, items[n-1].Message)
			}
		}
	}
}

// TestDecodeReplyOwnsValues: what decodeReply read does not change when
// the body's buffer is reused, and a message keeps no part of it.
func TestDecodeReplyOwnsValues(t *testing.T) {
	body := []byte(`[{"ticket":{"ticketId":"711","queueName":"Tier 2"},"message":"updated","status":"success"}]`)
	items, _, err := decodeReply(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	it := items[0]
	if it.Message != "updated" || it.Status.word != "success" || ticketID(it) != "711" || it.Ticket.QueueName.text != "Tier 2" {
		t.Errorf("after the body's buffer changed: %s", show(it))
	}
}
