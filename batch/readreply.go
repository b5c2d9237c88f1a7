package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The kinds only a read's reply gives (see kindConfig).
const (
	// kindRead: the reply was read: a ticket per id asked.
	kindRead kind = -2
	// kindShape: the reply is JSON in a shape a read cannot take (see
	// ReadShapeError).
	kindShape kind = -3
)

// maxReadReply bounds what is read of a reply to a read of n tickets: an
// element carries the ticket's history, which may be long.
func maxReadReply(n int) int64 { return 1<<20 + int64(n)*256<<10 }

// read sends one Get Ticket request for ids and reads its reply into ans.
func (c *client) read(ctx context.Context, body []byte, ids []string, keepRaw bool, ans *readAnswer) (outcome, error) {
	return c.call(ctx, c.reads, body, maxReadReply(len(ids)), func(status int, header http.Header, data []byte) outcome {
		ans.body = data
		var out outcome
		out, ans.tickets, ans.shape = interpretRead(status, header, data, ids, keepRaw)
		return out
	})
}

// What a read's reply is expected to be.
const (
	wantReadReply = `a JSON array with one {"additional_info", "history", "task_details"} object per ticket found, or {"status": "failed", "message": …}`
	wantElement   = `an object with a "task_details" object`
)

// interpretRead reads a Get Ticket reply to a request for ids: a ticket
// per id, in order (an id the reply lacks: Found false), or what went
// wrong. Statuses decide as for updates (auth, 429, 5xx); a body that is
// not JSON is retried on 2xx and final otherwise; the API's failure
// object is final; JSON of any other shape is a *ReadShapeError.
func interpretRead(status int, header http.Header, body []byte, ids []string, keepRaw bool) (outcome, []Ticket, *ReadShapeError) {
	trimmed := bytes.TrimSpace(body)
	if status >= 400 {
		if out, decided := statusOutcome(status, header, maskBody(trimmed)); decided {
			return out, nil, nil
		}
	}
	out := outcome{httpStatus: status}
	if !json.Valid(trimmed) {
		return unreadable(out, status, maskBody(trimmed)), nil, nil
	}
	switch trimmed[0] {
	case '[':
		return readArray(out, trimmed, ids, keepRaw)
	case '{':
		if f, ok := readFailure(out, trimmed); ok {
			return f, nil, nil
		}
	}
	return shapeError(out, wantReadReply, trimmed)
}

// readFailure reads a failure object ({"status": "failed", "message": …},
// in an array's element too): an auth refusal, or the API's refusal of
// the read, final. ok is false for any other object.
func readFailure(out outcome, obj []byte) (outcome, bool) {
	var f struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if json.Unmarshal(obj, &f) != nil {
		return out, false
	}
	msg := serverText(f.Message)
	switch {
	case isAuthMessage(msg):
		out.kind, out.message = kindAuth, msg
	case strings.EqualFold(strings.TrimSpace(f.Status), "failed"):
		out.kind, out.form = kindFailed, formObject
		out.message = "failed (the API gave no message)"
		if msg != "" {
			out.message = msg
		}
	default:
		return out, false
	}
	return out, true
}

// shapeError is the outcome of a reply in a shape a read cannot take;
// got is what to show the start of.
func shapeError(out outcome, want string, got []byte) (outcome, []Ticket, *ReadShapeError) {
	out.kind = kindShape
	e := &ReadShapeError{HTTPStatus: out.httpStatus, Want: want, Got: snippet(maskBody(got))}
	out.message = e.Error()
	return out, nil, e
}

// readArray reads the array of a read's reply.
func readArray(out outcome, body []byte, ids []string, keepRaw bool) (outcome, []Ticket, *ReadShapeError) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		return shapeError(out, wantReadReply, body)
	}
	at := make(map[string]int, len(ids))
	tickets := make([]Ticket, len(ids))
	for i, id := range ids {
		at[id] = i
		tickets[i] = Ticket{ID: id}
	}
	for n, raw := range elems {
		t, want, err := readElement(raw)
		if err != nil {
			return shapeError(out, fmt.Sprintf("element %d to be %s (%v)", n+1, want, err), raw)
		}
		if t == nil { // a failure object
			if f, ok := readFailure(out, raw); ok {
				return f, nil, nil
			}
			return shapeError(out, fmt.Sprintf("element %d to be %s", n+1, wantElement), raw)
		}
		i, asked := at[t.ID]
		switch {
		case !asked:
			return shapeError(out, fmt.Sprintf("element %d to be one of the tickets asked, not %s", n+1, t.ID), raw)
		case tickets[i].Found && !sameRead(tickets[i], *t):
			return shapeError(out, fmt.Sprintf("element %d, ticket %s, to be in the reply once or alike", n+1, t.ID), raw)
		}
		if keepRaw {
			t.Raw = maskBody(raw)
		}
		tickets[i] = *t
	}
	out.kind, out.form = kindRead, formArray
	return out, tickets, nil
}

// taskDetails is the part of an element's task_details a read takes,
// each member as it came (nil: absent). The queue is in none of the
// vendor's read examples: queue (the fake's, key or name unknown),
// queueKey and queueName (as an update's reply labels them) are taken.
type taskDetails struct {
	TicketID    json.RawMessage `json:"ticketId"`
	Status      json.RawMessage `json:"status"`
	Substatus   json.RawMessage `json:"substatus"`
	Queue       json.RawMessage `json:"queue"`
	QueueKey    json.RawMessage `json:"queueKey"`
	QueueName   json.RawMessage `json:"queueName"`
	Disposition json.RawMessage `json:"disposition"`
}

// readElement reads one element of a read's reply: the ticket its
// task_details shows, or nil when it has none (a failure object, or
// another shape). The error says what is wrong, want what was expected.
func readElement(raw json.RawMessage) (t *Ticket, want string, err error) {
	var el struct {
		TaskDetails json.RawMessage `json:"task_details"`
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, wantElement, fmt.Errorf("not an object")
	}
	if err := json.Unmarshal(raw, &el); err != nil {
		return nil, wantElement, err
	}
	if len(el.TaskDetails) == 0 || string(el.TaskDetails) == "null" {
		return nil, "", nil
	}
	want = `a "task_details" object with a "ticketId" and text values`
	var td taskDetails
	if el.TaskDetails[0] != '{' || json.Unmarshal(el.TaskDetails, &td) != nil {
		return nil, want, fmt.Errorf("task_details is not such an object")
	}
	var id, status, sub, queue, queueKey, queueName, disposition readText
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		to   *readText
	}{{"ticketId", td.TicketID, &id}, {"status", td.Status, &status}, {"substatus", td.Substatus, &sub},
		{"queue", td.Queue, &queue}, {"queueKey", td.QueueKey, &queueKey}, {"queueName", td.QueueName, &queueName},
		{"disposition", td.Disposition, &disposition}} {
		if *f.to, err = textOf(f.raw); err != nil {
			return nil, want, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if id.text == "" {
		return nil, want, fmt.Errorf("no ticketId")
	}
	return &Ticket{ID: id.text, Found: true,
		Status:           Code{Value: status.text, Given: status.given},
		SubStatus:        Code{Value: sub.text, Given: sub.given},
		Queue:            Code{Value: queue.text, Key: queueKey.text, Name: queueName.text, Given: queue.given || queueKey.given || queueName.given},
		Disposition:      disposition.text,
		DispositionGiven: disposition.given,
	}, "", nil
}

// readText is a member of task_details as text, made safe (serverText):
// a string's value, a number or boolean as written. Absent or null, it is
// not given.
type readText struct {
	text  string
	given bool
}

func textOf(raw json.RawMessage) (readText, error) {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return readText{}, nil
	case raw[0] == '{' || raw[0] == '[':
		return readText{}, fmt.Errorf("an object or array, not text")
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return readText{}, err
		}
		return readText{serverText(s), true}, nil
	}
	return readText{string(raw), true}, nil
}

// sameRead reports whether a and b read the same, Raw aside.
func sameRead(a, b Ticket) bool {
	return a.ID == b.ID && a.Found == b.Found && a.Status == b.Status && a.SubStatus == b.SubStatus &&
		a.Queue == b.Queue && a.Disposition == b.Disposition && a.DispositionGiven == b.DispositionGiven
}
