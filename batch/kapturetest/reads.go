package kapturetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// readDateLayout is task_details' date format, dd-MM-yyyy HH:mm.
const readDateLayout = "02-01-2006 15:04"

// serveRead serves a request to the Get Ticket endpoint, body read.
// Reads mark no ticket in flight: they change nothing.
func (h *Handler) serveRead(w http.ResponseWriter, r *http.Request, seq int, body []byte) {
	ids, bad := parseRead(body)
	var hook func() *Fault
	if h.opts.FailRead != nil {
		hook = func() *Fault { return h.opts.FailRead(seq, ids) }
	}
	h.serve(w, r, hook, func() (int, any) { return h.answerRead(r, seq, ids, bad) }, func() {})
}

// parseRead decodes a Get Ticket body: a JSON object whose ticket_ids is
// one string of comma-separated ids, returned trimmed and each once. bad
// is the documented failure for a body that is no such object
// (MsgInvalidJSON; an array too, as the vendor page warns) or that names
// no id (MsgMissingTicketIDs). Stricter than Kapture may be (it might
// coerce a number), so that a client sending a number is caught here.
func parseRead(body []byte) (ids []string, bad string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, MsgInvalidJSON
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, MsgInvalidJSON
	}
	raw, ok := obj["ticket_ids"]
	if !ok || string(raw) == "null" {
		return nil, MsgMissingTicketIDs
	}
	var list string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, MsgInvalidJSON
	}
	seen := make(map[string]bool)
	for id := range strings.SplitSeq(list, ",") {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, MsgMissingTicketIDs
	}
	return ids, ""
}

// answerRead authenticates a read that drew no fault and returns the
// reply: an array with one element per existing ticket asked, in the
// order asked; a ticket that does not exist is left out.
func (h *Handler) answerRead(r *http.Request, seq int, ids []string, bad string) (int, any) {
	if !h.authorized(r) {
		return h.authStatus(), failed(MsgInvalidAuth)
	}
	if bad != "" {
		return h.failStatus(), failed(bad)
	}
	found := make([]string, 0, len(ids))
	for _, id := range ids {
		if h.known(id) { // the caller's function: without h.mu held
			found = append(found, id)
		}
	}
	held := make([]Holding, len(found))
	h.mu.Lock()
	h.stats.ReadTickets += len(ids)
	h.stats.ReadFound += len(found)
	for i, id := range found {
		held[i] = h.holding(id)
		if h.inflight[id] > 0 {
			// What the reply shows is a race the client lost or won.
			h.violation(fmt.Sprintf("request %d reads ticket %s while an update for it is in flight", seq, id))
		}
		if !h.opts.NoRecord {
			h.reads[id] = append(h.reads[id], seq)
		}
	}
	h.mu.Unlock()
	out := make([]readJSON, len(found))
	for i, id := range found {
		out[i] = h.readTicket(h.tenant.ticket(id, held[i]))
	}
	return http.StatusOK, out
}

// readJSON is one element of a Get Ticket reply.
type readJSON struct {
	AdditionalInfo map[string]any  `json:"additional_info"`
	History        []any           `json:"history"`
	TaskDetails    taskDetailsJSON `json:"task_details"`
}

// taskDetailsJSON is the part of the documented task_details the fake
// shows, customer data included.
type taskDetailsJSON struct {
	TicketID      string  `json:"ticketId"`
	Date          string  `json:"date"`
	Status        string  `json:"status"`
	Substatus     string  `json:"substatus"`
	Queue         *string `json:"queue,omitempty"` // Options.ReadQueue
	Disposition   string  `json:"disposition"`
	CustomerName  string  `json:"customerName"`
	CustomerEmail string  `json:"customerEmail"`
	CustomerPhone string  `json:"customerPhone"`
}

// readTicket shows t as Get Ticket does: names, or keys with
// Options.ReadKeys.
func (h *Handler) readTicket(t Ticket) readJSON {
	pick := func(key, name string) string {
		if h.opts.ReadKeys {
			return key
		}
		return name
	}
	d := taskDetailsJSON{
		TicketID:      t.ID,
		Date:          t.Created.Format(readDateLayout),
		Status:        pick(t.SubStatus.Status.Key, t.SubStatus.Status.Name),
		Substatus:     pick(t.SubStatus.Key, t.SubStatus.Name),
		Disposition:   t.Disposition,
		CustomerName:  t.Customer.Name,
		CustomerEmail: t.Customer.Email,
		CustomerPhone: t.Customer.Phone,
	}
	if h.opts.ReadQueue {
		q := pick(t.Queue.Key, t.Queue.Name)
		d.Queue = &q
	}
	history := []any{}
	if h.opts.LongHistory != nil {
		const entry = 1000 // bytes of a history entry's text
		for n := h.opts.LongHistory(t.ID); n > 0; n -= entry {
			history = append(history, map[string]any{"comment": strings.Repeat("x", min(n, entry))})
		}
	}
	return readJSON{AdditionalInfo: map[string]any{}, History: history, TaskDetails: d}
}
