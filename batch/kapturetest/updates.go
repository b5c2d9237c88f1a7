package kapturetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// parseItems decodes a body that must be a JSON array of objects with
// string values. Stricter than Kapture may be (it might coerce numbers),
// so that a client sending a number as ticket_id is caught here.
func parseItems(body []byte) ([]Item, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, errors.New("body is not a JSON array")
	}
	var items []Item
	if err := json.Unmarshal(trimmed, &items); err != nil {
		return nil, fmt.Errorf("decode body: %w", err)
	}
	if len(items) == 0 {
		return nil, errors.New("empty array")
	}
	for i, it := range items {
		if it == nil { // a JSON null in the array
			return nil, fmt.Errorf("item %d is null", i)
		}
	}
	return items, nil
}

// enter marks the payload's tickets in flight and records order
// violations: a ticket already in flight in another request, or twice in
// this one. The returned release may be called more than once.
func (h *Handler) enter(seq int, items []Item) (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Items += len(items)
	ids := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		id := it["ticket_id"]
		if id == "" {
			continue
		}
		if seen[id] {
			h.violation(fmt.Sprintf("request %d carries ticket %s twice", seq, id))
			continue
		}
		seen[id] = true
		if h.inflight[id] > 0 {
			h.violation(fmt.Sprintf("request %d carries ticket %s while another request for it is in flight", seq, id))
		}
		h.inflight[id]++
		ids = append(ids, id)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, id := range ids {
				if h.inflight[id]--; h.inflight[id] == 0 {
					delete(h.inflight, id)
				}
			}
		})
	}
}

// maxViolationExamples bounds the examples kept; the count is exact.
const maxViolationExamples = 10

func (h *Handler) violation(msg string) { // h.mu held
	h.stats.OrderViolations++
	if len(h.stats.ViolationExamples) < maxViolationExamples {
		h.stats.ViolationExamples = append(h.stats.ViolationExamples, msg)
	}
}

// serveUpdate serves a request to the update endpoint, body read.
func (h *Handler) serveUpdate(w http.ResponseWriter, r *http.Request, seq int, body []byte) {
	items, parseErr := parseItems(body)
	release := h.enter(seq, items)
	defer release()
	var hook func() *Fault
	if h.opts.Fail != nil {
		hook = func() *Fault { return h.opts.Fail(seq, items) }
	}
	h.serve(w, r, hook, func() (int, any) { return h.answer(r, seq, items, parseErr) }, release)
}

// answer authenticates and processes a request that drew no fault,
// applying its updates, and returns the reply.
func (h *Handler) answer(r *http.Request, seq int, items []Item, parseErr error) (int, any) {
	if !h.authorized(r) {
		return h.authStatus(), failed(MsgInvalidAuth)
	}
	if parseErr != nil {
		return http.StatusBadRequest, failed(MsgBadBody)
	}
	msgs := make([]string, len(items)) // "" = valid
	anyFailed, allFailed := false, true
	for i, it := range items {
		msgs[i] = h.check(it)
		if msgs[i] != "" {
			anyFailed = true
		} else {
			allFailed = false
		}
	}
	firstFailure := ""
	for _, m := range msgs {
		if m != "" {
			firstFailure = m
			break
		}
	}
	applyNone := h.opts.Atomic && anyFailed
	if applyNone {
		for i := range msgs {
			if msgs[i] == "" {
				msgs[i] = MsgNotApplied
			}
		}
		allFailed = true
	}
	held := h.apply(seq, items, msgs)

	switch h.opts.Reply {
	case ReplyObject:
		if anyFailed {
			return h.failStatus(), failed(firstFailure)
		}
		return http.StatusOK, h.success(items[len(items)-1], held[len(items)-1])
	case ReplyLast:
		last := len(items) - 1
		if msgs[last] != "" {
			return h.failStatus(), failed(msgs[last])
		}
		return http.StatusOK, h.success(items[last], held[last])
	}
	out := make([]any, len(items))
	for i, it := range items {
		if msgs[i] != "" {
			out[i] = failed(msgs[i])
		} else {
			out[i] = h.success(it, held[i])
		}
	}
	status := http.StatusOK
	if allFailed {
		status = h.failStatus()
	}
	return status, out
}

// check returns the failure message for an item, or "" when it can be
// applied. Known is the caller's function: called without h.mu held.
func (h *Handler) check(it Item) string {
	id := it["ticket_id"]
	switch {
	case id == "":
		return MsgMissingTicketID
	case it["sub_status"] == "":
		return MsgMissingSubStatus
	case it["callback_time"] != "" && !validCallback(it["callback_time"]):
		return MsgBadCallbackTime
	case !h.known(id):
		return MsgUnknownTicket + id
	}
	return h.unlisted(it["sub_status"], it["queue"])
}

func validCallback(s string) bool {
	_, err := time.Parse(callbackLayout, s)
	return err == nil
}

// apply applies the items whose message is "" and returns what their
// tickets hold afterwards, all under one lock so a payload lands as a
// whole. An item sets the sub-status (unless the workflow keeps the old
// one), and the queue and disposition when non-empty.
func (h *Handler) apply(seq int, items []Item, msgs []string) []Holding {
	held := make([]Holding, len(items))
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, it := range items {
		if msgs[i] != "" {
			h.stats.Failed++
			continue
		}
		h.stats.Applied++
		id := it["ticket_id"]
		hd, kept := h.holding(id), ""
		if h.keeps(id, hd.SubStatus, it["sub_status"]) {
			kept = hd.SubStatus
			h.stats.KeptSubStatus++
		} else {
			hd.SubStatus = it["sub_status"]
		}
		if q := it["queue"]; q != "" {
			hd.Queue = q
		}
		if d := it["disposition"]; d != "" {
			hd.Disposition = d
		}
		held[i] = hd
		if h.opts.NoRecord {
			continue
		}
		h.tickets[id] = hd
		h.history[id] = append(h.history[id], Update{Request: seq, Item: it.clone(), KeptSubStatus: kept})
		state := it.clone()
		if kept != "" {
			state["sub_status"] = kept
		}
		h.state[id] = state
	}
	return held
}

// ticketJSON is the part of the documented success example's ticket that
// says what it now holds: each coded field as key and name.
type ticketJSON struct {
	TicketID      string `json:"ticketId"`
	Status        string `json:"status"`
	StatusName    string `json:"statusName"`
	Substatus     string `json:"substatus"`
	SubstatusName string `json:"substatusName"`
	QueueKey      string `json:"queueKey"`
	QueueName     string `json:"queueName"`
}

// success is the documented success object for an item whose ticket now
// holds hd.
func (h *Handler) success(it Item, hd Holding) any {
	sub, _ := h.tenant.subStatus(hd.SubStatus)
	q, _ := h.tenant.queue(hd.Queue)
	return struct {
		Ticket            ticketJSON     `json:"ticket"`
		AdditionalDetails map[string]any `json:"Additional_details"`
		Message           string         `json:"message"`
		Status            string         `json:"status"`
	}{
		Ticket: ticketJSON{TicketID: it["ticket_id"], Status: sub.Status.Key, StatusName: sub.Status.Name,
			Substatus: sub.Key, SubstatusName: sub.Name, QueueKey: q.Key, QueueName: q.Name},
		AdditionalDetails: map[string]any{},
		Message:           MsgSuccess,
		Status:            "success",
	}
}
