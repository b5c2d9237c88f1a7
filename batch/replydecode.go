package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// replyItem is one reply object as the client reads it: its status, its
// message and what it says of its ticket; the rest (the ticket's other
// fields, Additional_details) is skipped. Keys match as encoding/json
// matches them (exactly, else without regard to case), the last of a
// repeated key wins, and a null leaves a value as it was.
type replyItem struct {
	Status  replyStatus  `json:"status"`
	Message string       `json:"message"` // made safe by serverText
	Ticket  *replyTicket `json:"ticket"`  // nil: none, or null
}

// replyTicket is what a reply object says of its ticket: which one it is
// and, in a success object, what it holds now (the key and name of its
// status, sub-status and queue). These come from the server as they are:
// a message built from them must pass them through serverText.
type replyTicket struct {
	TicketID      ticketText `json:"ticketId"`
	Status        ticketText `json:"status"`
	StatusName    ticketText `json:"statusName"`
	Substatus     ticketText `json:"substatus"`
	SubstatusName ticketText `json:"substatusName"`
	QueueKey      ticketText `json:"queueKey"`
	QueueName     ticketText `json:"queueName"`
}

// ticketText is a value of the reply's ticket as text: a string's value,
// any other JSON value as written (a numeric ticketId keeps its digits).
// Absent or null, it is not given.
type ticketText struct {
	text  string
	given bool
}

func (t *ticketText) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if b[0] != '"' {
		t.text, t.given = string(b), true
		return nil
	}
	s, err := jsonString(b)
	if err != nil {
		return err
	}
	t.text, t.given = s, true
	return nil
}

// replyStatus is an item's "status". encoding/json keeps the last of a
// repeated key, but an item that gives two different statuses (the key
// twice, in another case, or escaped) contradicts itself: twice says so,
// and the client takes neither.
type replyStatus struct {
	word         string
	given, twice bool
}

var errStatusType = errors.New("a reply status that is not a string")

// UnmarshalJSON is called for each "status" key of the item, in order.
func (s *replyStatus) UnmarshalJSON(b []byte) error {
	var w string
	switch string(b) {
	case "null":
		return nil
	case `"success"`: // the common cases, without allocating
		w = "success"
	case `"failed"`:
		w = "failed"
	default:
		if b[0] != '"' {
			return errStatusType
		}
		var err error
		if w, err = jsonString(b); err != nil {
			return err
		}
	}
	s.twice = s.twice || s.given && w != s.word
	s.word, s.given = w, true
	return nil
}

// jsonString is the value of the JSON string b (quotes included).
func jsonString(b []byte) (string, error) {
	in := b[1 : len(b)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// decodeReply reads body, whose first byte is '{' or '[', as a reply:
// one object (formObject, one item) or an array of objects (formArray; a
// null item says nothing). items is reused.
func decodeReply(body []byte, items []replyItem) ([]replyItem, form, error) {
	// encoding/json decodes into the elements a slice holds beyond its
	// length: zeroed, they cannot carry a previous reply's values.
	items = items[:cap(items)]
	clear(items)
	items = items[:0]
	f := formArray
	var err error
	if body[0] == '{' {
		f = formObject
		items = append(items, replyItem{})
		err = json.Unmarshal(body, &items[0])
	} else {
		err = json.Unmarshal(body, &items)
	}
	if err != nil {
		return nil, formNone, err
	}
	for i := range items {
		items[i].Message = serverText(items[i].Message)
	}
	return items, f, nil
}
