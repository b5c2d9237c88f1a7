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
	h.apply(seq, items, msgs)

	switch h.opts.Reply {
	case ReplyObject:
		if anyFailed {
			return h.failStatus(), failed(firstFailure)
		}
		return http.StatusOK, success(items[len(items)-1])
	case ReplyLast:
		last := len(items) - 1
		if msgs[last] != "" {
			return h.failStatus(), failed(msgs[last])
		}
		return http.StatusOK, success(items[last])
	}
	out := make([]any, len(items))
	for i, it := range items {
		if msgs[i] != "" {
			out[i] = failed(msgs[i])
		} else {
			out[i] = success(it)
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
	return ""
}

func validCallback(s string) bool {
	_, err := time.Parse(callbackLayout, s)
	return err == nil
}

// apply records the items whose message is "" as applied, all under one
// lock so a payload lands as a whole.
func (h *Handler) apply(seq int, items []Item, msgs []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, it := range items {
		if msgs[i] != "" {
			h.stats.Failed++
			continue
		}
		h.stats.Applied++
		if h.opts.NoRecord {
			continue
		}
		id := it["ticket_id"]
		h.history[id] = append(h.history[id], Update{Request: seq, Item: it.clone()})
		h.state[id] = it.clone()
	}
}

// ticketJSON is a small part of the documented success example's ticket.
type ticketJSON struct {
	TicketID  string `json:"ticketId"`
	Substatus string `json:"substatus"`
	QueueKey  string `json:"queueKey"`
}

func success(it Item) any {
	return struct {
		Ticket            ticketJSON     `json:"ticket"`
		AdditionalDetails map[string]any `json:"Additional_details"`
		Message           string         `json:"message"`
		Status            string         `json:"status"`
	}{
		Ticket:            ticketJSON{TicketID: it["ticket_id"], Substatus: it["sub_status"], QueueKey: it["queue"]},
		AdditionalDetails: map[string]any{},
		Message:           MsgSuccess,
		Status:            "success",
	}
}
