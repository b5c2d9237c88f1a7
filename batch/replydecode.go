package batch

import "strings"

// replyItem is one reply object as the client reads it: its status, its
// message and what it says of its ticket; the rest (the ticket's other
// fields, Additional_details) is skipped. Keys match as encoding/json
// matches them (exactly, else without regard to case), the last of a
// repeated key wins, and a null leaves a value as it was. Message is a
// string of its own; the status word and the ticket's texts share the
// memory of the reply they were read from: keep a copy (strings.Clone)
// of any that must outlive the reply.
type replyItem struct {
	Status  replyStatus
	Message string       // made safe by serverText
	Ticket  *replyTicket // nil: none, or null
}

// replyTicket is what a reply object says of its ticket: which one it is
// and, in a success object, what it holds now (the key and name of its
// status, sub-status and queue). These come from the server as they are:
// a message built from them must pass them through serverText.
type replyTicket struct {
	TicketID      ticketText
	Status        ticketText
	StatusName    ticketText
	Substatus     ticketText
	SubstatusName ticketText
	QueueKey      ticketText
	QueueName     ticketText
}

// ticketText is a value of the reply's ticket as text: a string's value,
// any other JSON value as written (a numeric ticketId keeps its digits).
// Absent or null, it is not given.
type ticketText struct {
	text  string
	given bool
}

// replyStatus is an item's "status". The last of a repeated key wins, but
// an item that gives two different statuses (the key twice, in another
// case, or escaped) contradicts itself: twice says so, and the client
// takes neither.
type replyStatus struct {
	word         string
	given, twice bool
}

// decodeReply reads body, whose first byte is '{' or '[', as a reply:
// one object (formObject, one item) or an array of objects (formArray; a
// null item says nothing). items is reused.
//
// It accepts and rejects the bodies encoding/json accepts and rejects
// when unmarshalling into a replyItem (or a slice of them) whose status
// and ticket texts are read by the rules their types state, with the same
// values; every value it skips is still checked. A differential fuzz test
// holds it to that. It uses no reflection, and in the common case
// allocates a few times per reply, not per item.
func decodeReply(body []byte, items []replyItem) ([]replyItem, form, error) {
	// One copy of the body: a value without escapes is a slice of it.
	d := replyDecoder{scanner: scanner{s: string(body)}, hint: max(cap(items), 1)}
	items = items[:0]
	f := formArray
	var err error
	if body[0] == '{' {
		f = formObject
		var it replyItem
		err = d.item(&it)
		items = append(items, it)
	} else {
		err = d.list(']', func() error {
			var it replyItem
			switch {
			case d.literal("null"):
			case d.i < len(d.s) && d.s[d.i] == '{':
				if err := d.item(&it); err != nil {
					return err
				}
			default:
				return errReplySyntax // an item that is not an object
			}
			items = append(items, it)
			return nil
		})
	}
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return nil, formNone, err
	}
	return items, f, nil
}

// replyDecoder reads reply items from the JSON its scanner checks.
type replyDecoder struct {
	scanner
	// tickets: the items' tickets, allocated in blocks (the first of
	// hint), not one by one.
	tickets []replyTicket
	hint    int
	// The previous item's message, raw and made safe: an array's items
	// mostly carry the same one, which is then one string, not one each.
	prevRaw, prevMsg string
}

// item decodes the object at d.i into it.
func (d *replyDecoder) item(it *replyItem) error {
	var msg string // the last message's raw token; null leaves it
	err := d.object(func(k key) error {
		switch {
		case k.is("status"):
			return d.status(&it.Status)
		case k.is("message"):
			if d.literal("null") {
				return nil
			}
			start := d.i
			if _, err := d.str(); err != nil {
				return err // also a message that is not a string
			}
			msg = d.s[start:d.i]
			return nil
		case k.is("ticket"):
			return d.ticket(it)
		}
		return d.skip()
	})
	if err == nil && msg != "" {
		it.Message = d.message(msg)
	}
	return err
}

// message is the message the string token raw gives, made safe.
func (d *replyDecoder) message(raw string) string {
	if raw != d.prevRaw {
		// A copy: a message outlives the reply (in results and logs),
		// which it must not keep alive.
		d.prevRaw, d.prevMsg = raw, strings.Clone(serverText(unquote(raw)))
	}
	return d.prevMsg
}

// status decodes a "status" value into st; null leaves it as it was.
func (d *replyDecoder) status(st *replyStatus) error {
	if d.literal("null") {
		return nil
	}
	w, _, err := d.text()
	if err != nil {
		return err // also a status that is not a string
	}
	st.twice = st.twice || st.given && w != st.word
	st.word, st.given = w, true
	return nil
}

// ticket decodes a "ticket" value: null clears it; an object is read into
// the ticket the item has (as encoding/json decodes into what a pointer
// holds), or a new one.
func (d *replyDecoder) ticket(it *replyItem) error {
	if d.literal("null") {
		it.Ticket = nil
		return nil
	}
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return errReplySyntax // a ticket that is not an object
	}
	if it.Ticket == nil {
		it.Ticket = d.newTicket()
	}
	t := it.Ticket
	return d.object(func(k key) error {
		if f := t.field(k); f != nil {
			return d.ticketText(f)
		}
		return d.skip()
	})
}

// newTicket gives a zero ticket from the block it allocates.
func (d *replyDecoder) newTicket() *replyTicket {
	if len(d.tickets) == cap(d.tickets) {
		d.tickets = make([]replyTicket, 0, max(d.hint, 2*cap(d.tickets)))
	}
	d.tickets = d.tickets[:len(d.tickets)+1]
	return &d.tickets[len(d.tickets)-1]
}

// field is the text of the ticket k names, or nil.
func (t *replyTicket) field(k key) *ticketText {
	switch {
	case k.is("ticketId"):
		return &t.TicketID
	case k.is("status"):
		return &t.Status
	case k.is("statusName"):
		return &t.StatusName
	case k.is("substatus"):
		return &t.Substatus
	case k.is("substatusName"):
		return &t.SubstatusName
	case k.is("queueKey"):
		return &t.QueueKey
	case k.is("queueName"):
		return &t.QueueName
	}
	return nil
}

// ticketText decodes a value of the ticket into t: a string's value, any
// other value as written; null leaves t as it was.
func (d *replyDecoder) ticketText(t *ticketText) error {
	if d.literal("null") {
		return nil
	}
	if d.i < len(d.s) && d.s[d.i] == '"' {
		v, _, err := d.text()
		t.text, t.given = v, err == nil
		return err
	}
	start := d.i
	if err := d.skip(); err != nil {
		return err
	}
	t.text, t.given = d.s[start:d.i], true
	return nil
}
