package kapturetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Update is one item applied to a ticket.
type Update struct {
	// Request is the sequence number of the request that applied it
	// (1-based, in order of arrival).
	Request int
	// Item is the object as received, every key included.
	Item Item
	// KeptSubStatus is the sub-status the ticket kept instead of Item's
	// (Options.KeepSubStatus), "" when Item's was applied.
	KeptSubStatus string
}

// Stats counts what the Handler received. ByStatus counts answers by HTTP
// status; key 0 counts requests left without an answer (dropped
// connections, clients that gave up, requests released by Close).
type Stats struct {
	// Requests counts requests to the update endpoint (POST to Path),
	// Reads those to Get Ticket (POST to ReadPath); Other counts the
	// rest (404, 405).
	Requests, Reads, Other int
	// Items counts the items of every parsable update body, whatever
	// happened to them; Applied and Failed count items answered success
	// or failed. KeptSubStatus counts the applied items whose sub-status
	// the workflow kept (Options.KeepSubStatus).
	Items, Applied, Failed, KeptSubStatus int
	// ReadTickets counts the ticket ids asked by the reads answered,
	// ReadFound those that exist (and were in the reply).
	ReadTickets, ReadFound int
	ByStatus               map[int]int
	// RateLimited counts requests refused over Options.RateLimit,
	// updates and reads.
	RateLimited int
	// Faults counts the faults served, random or from Options.Fail.
	Faults map[FaultKind]int
	// OrderViolations counts tickets sent while another request for them
	// was in flight, or twice in one payload, and tickets read while an
	// update for them was in flight: the client promises none of these.
	// ViolationExamples keeps the first few, described.
	OrderViolations   int
	ViolationExamples []string
	// BadContentType counts requests whose Content-Type was not
	// application/json; UserAgent and ContentType are the last request's.
	BadContentType         int
	UserAgent, ContentType string
}

// Stats returns a copy of the counters.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.ByStatus = maps.Clone(h.stats.ByStatus)
	s.Faults = maps.Clone(h.stats.Faults)
	s.ViolationExamples = slices.Clone(h.stats.ViolationExamples)
	return s
}

// History returns the updates applied to a ticket, oldest first.
func (h *Handler) History(ticketID string) []Update {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Update, len(h.history[ticketID]))
	for i, u := range h.history[ticketID] {
		u.Item = u.Item.clone()
		out[i] = u
	}
	return out
}

// State returns the last item applied to a ticket, with the sub-status
// the ticket kept when the workflow refused the item's
// (Options.KeepSubStatus). Each item replaces the whole state, so it is
// exactly the last row sent for the ticket; what the ticket holds, empty
// fields and hand edits considered, is Ticket. ok is false when nothing
// was applied.
func (h *Handler) State(ticketID string) (state Item, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	it, ok := h.state[ticketID]
	if !ok {
		return nil, false
	}
	return it.clone(), true
}

// States returns the state of every ticket that received an update.
func (h *Handler) States() map[string]Item {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]Item, len(h.state))
	for id, it := range h.state {
		out[id] = it.clone()
	}
	return out
}

// ReadLog returns the sequence numbers of the reads whose reply showed
// the ticket, oldest first, to set against History's Request numbers.
func (h *Handler) ReadLog(ticketID string) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reads[ticketID])
}

// Summary describes what the Handler received, for the mock to print when
// it stops.
func (h *Handler) Summary() string {
	s := h.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "requests: %d to %s", s.Requests, h.path)
	if s.Other > 0 {
		fmt.Fprintf(&b, ", %d elsewhere", s.Other)
	}
	fmt.Fprintf(&b, "\nitems: %d received, %d applied, %d failed\n", s.Items, s.Applied, s.Failed)
	if s.KeptSubStatus > 0 {
		fmt.Fprintf(&b, "applied with the old sub-status kept (the reply says success): %d\n", s.KeptSubStatus)
	}
	fmt.Fprintf(&b, "reads: %d to %s, %d tickets asked, %d found\n", s.Reads, h.readPath, s.ReadTickets, s.ReadFound)
	b.WriteString("answers by HTTP status:")
	for _, code := range slices.Sorted(maps.Keys(s.ByStatus)) {
		if code == 0 {
			fmt.Fprintf(&b, " none×%d", s.ByStatus[code])
		} else {
			fmt.Fprintf(&b, " %d×%d", code, s.ByStatus[code])
		}
	}
	fmt.Fprintf(&b, "\nrefused by rate limit: %d\n", s.RateLimited)
	if len(s.Faults) > 0 {
		b.WriteString("faults injected:")
		for _, k := range slices.Sorted(maps.Keys(s.Faults)) {
			fmt.Fprintf(&b, " %s×%d", k, s.Faults[k])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "order violations: %d\n", s.OrderViolations)
	for _, ex := range s.ViolationExamples {
		fmt.Fprintf(&b, "  %s\n", ex)
	}
	if s.BadContentType > 0 {
		fmt.Fprintf(&b, "requests without Content-Type application/json: %d\n", s.BadContentType)
	}
	if s.UserAgent != "" {
		fmt.Fprintf(&b, "last User-Agent: %s\n", s.UserAgent)
	}
	return b.String()
}
