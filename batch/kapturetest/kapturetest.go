// Package kapturetest is an in-process fake of Kapture CRM's Update Ticket
// API (POST {prefix}/update-ticket-from-other-source.html/v.2.0). It answers
// as the vendor page documents, in each reply form the client must handle
// (see Reply), records what it applied so tests can assert the final state and the order
// of updates per ticket, and injects the faults a real API and network show
// (error pages, 429s, dropped connections, non-JSON bodies, stalls, a rate
// limit). The tests use it through NewServer; `kapture-bulk mock` serves a
// Handler on an address.
//
// Where the vendor page is silent (unknown tickets, several items in one
// payload, a missing sub_status) the fake's behaviour is a documented guess:
// see the Msg constants and Options.
package kapturetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Path is the endpoint, relative to the API root (and Options.Prefix).
const Path = "/update-ticket-from-other-source.html/v.2.0"

// DefaultToken is the token accepted when Options.Token is empty.
const DefaultToken = "kapturetest-token"

// The messages the fake answers with. The first four are the vendor's
// documented ones, verbatim; the others are ours, since the page does not
// say what Kapture answers in those cases.
const (
	MsgSuccess         = "Status and Comment have been updated.\n"
	MsgInvalidAuth     = "Invalid Auth Key"
	MsgMissingTicketID = "No Data found/ticket_id is missing"
	MsgBadCallbackTime = "Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss."

	MsgMissingSubStatus = "No Data found/sub_status is missing"
	// MsgUnknownTicket is followed by the ticket id.
	MsgUnknownTicket = "No ticket found for ticket_id "
	// MsgNotApplied answers, in the array form of an atomic API, an item
	// that was valid but not applied because another item failed.
	MsgNotApplied = "Not updated: another item of this request failed"
	// MsgBadBody answers a body that is not a JSON array of objects whose
	// values are strings (HTTP 400), or an empty array.
	MsgBadBody = "Invalid request body: expected a JSON array of objects with string values"
	// MsgTooLarge answers a body over MaxBodyBytes (HTTP 413).
	MsgTooLarge = "Request body too large"
)

// callbackLayout is the documented callback_time format, yyyy-MM-dd HH:mm:ss.
const callbackLayout = "2006-01-02 15:04:05"

// MaxBodyBytes bounds a request body; the client's payloads are far smaller.
const MaxBodyBytes = 32 << 20

// Reply is the shape of the answer to a payload. The vendor page shows an
// array request answered by one object, for one item, and does not say
// what Kapture answers for several, so the client must handle each of
// these forms and the tests run against each.
type Reply int

const (
	// ReplyArray answers a JSON array with one result per item, in order.
	ReplyArray Reply = iota
	// ReplyObject answers one object for the whole payload: the success
	// object (naming the last item) when every item succeeded, else the
	// first failure.
	ReplyObject
	// ReplyLast answers one object about the last item of the payload
	// only: its success object, naming it, or its failure object (which,
	// as documented, names no ticket). The other items are checked and
	// applied or refused each on its own, as the array form does, without
	// a word about them: an API written as a loop over the items that
	// answers with whatever the last one produced. With Atomic, an item
	// not applied because another failed answers MsgNotApplied.
	ReplyLast
)

func (r Reply) String() string {
	switch r {
	case ReplyArray:
		return "array"
	case ReplyObject:
		return "object"
	case ReplyLast:
		return "last"
	}
	return fmt.Sprintf("Reply(%d)", int(r))
}

// ParseReply parses "array", "object" or "last", as the mock's --reply
// flag takes.
func ParseReply(s string) (Reply, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "array":
		return ReplyArray, nil
	case "object":
		return ReplyObject, nil
	case "last":
		return ReplyLast, nil
	}
	return 0, fmt.Errorf("reply form %q: want array, object or last", s)
}

// Item is one object of a request body: every key it carried (the six
// documented ones and any extra ones) with its value.
type Item map[string]string

func (it Item) clone() Item {
	c := make(Item, len(it))
	for k, v := range it {
		c[k] = v
	}
	return c
}

// Options configure a Handler. The zero value is a root-mounted API that
// accepts DefaultToken, answers in the array form, applies the good items
// of a payload even when others fail, knows DefaultKnown's tickets, and
// injects no faults.
type Options struct {
	// Token is the accepted token ("Authorization: Basic <Token>");
	// "" means DefaultToken.
	Token string
	// Prefix mounts the API under a path ("/kapture"), so a client that
	// drops or doubles the base URL's path gets a 404 instead of passing.
	Prefix string

	// Reply is the reply form.
	Reply Reply
	// Atomic: when any item of a payload fails, none is applied. Otherwise
	// the good items are applied even though an object reply says failed.
	Atomic bool
	// AuthStatus is the HTTP status of "Invalid Auth Key"; 0 means 401.
	// Kapture may answer failures with 200, so tests use both.
	AuthStatus int
	// FailStatus is the HTTP status of a failed object reply (ReplyObject,
	// ReplyLast), and of an array reply whose every item failed; 0 means
	// 200.
	FailStatus int

	// Known reports whether a ticket exists; nil means DefaultKnown. It is
	// called concurrently.
	Known func(ticketID string) bool

	// Latency is added to every request to the endpoint, while it counts
	// as in flight; a request abandoned meanwhile gets no answer.
	Latency time.Duration
	// RateLimit is the requests per second served (a token bucket);
	// over it the answer is 429 with Retry-After in whole seconds.
	// 0 means unlimited.
	RateLimit float64
	// RateBurst is the bucket's size: how many requests may arrive
	// back to back after a quiet spell. 0 means 1, the strictest: it
	// refuses a request that arrives a fraction of a millisecond before
	// 1/RateLimit has passed since the previous one.
	RateBurst int

	// Faults are per-request fault probabilities, drawn from a generator
	// seeded with Seed, so a run of sequential requests is reproducible.
	Faults Faults
	Seed   uint64
	// Fail, when set, is asked (concurrently) about every request to the
	// endpoint that passed the rate limit: n is its sequence number
	// (1-based, in order of arrival, as in Update.Request) and items its
	// parsed body (nil when unparsable). A non-nil Fault is served
	// instead of a random one. See Script and InvalidAuth.
	Fail func(n int, items []Item) *Fault
	// StallFor is how long FaultStall holds a request before answering a
	// 504 page; 0 means until the client gives up or the Handler closes.
	StallFor time.Duration

	// NoRecord keeps the counters (Stats) and the order checks but not
	// what was applied: History, State and States stay empty. Recording
	// grows with every update; a benchmark of millions of rows turns it
	// off so the fake spends less of the CPU and memory the client under
	// test shares.
	NoRecord bool
}

// Validate reports options the Handler cannot honour; NewHandler panics
// on them, so a command should call Validate on its flags first.
func (o Options) Validate() error {
	if o.Reply != ReplyArray && o.Reply != ReplyObject && o.Reply != ReplyLast {
		return fmt.Errorf("reply form %d: want ReplyArray, ReplyObject or ReplyLast", int(o.Reply))
	}
	if o.RateBurst < 0 {
		return fmt.Errorf("rate burst %d: must not be negative", o.RateBurst)
	}
	if o.RateLimit < 0 {
		return fmt.Errorf("rate limit %v: must not be negative", o.RateLimit)
	}
	if o.Latency < 0 || o.StallFor < 0 {
		return errors.New("latency and stall duration must not be negative")
	}
	if err := o.Faults.validate(); err != nil {
		return err
	}
	for _, s := range []int{o.AuthStatus, o.FailStatus} {
		if s != 0 && (s < 200 || s > 599) {
			return fmt.Errorf("HTTP status %d out of range", s)
		}
	}
	return nil
}

// DefaultKnown is the rule used when Options.Known is nil: a ticket exists
// when its id is 12 digits starting with 7, like the vendor's example
// 713516551148. The samples and the mock rely on it: 999... ids are unknown.
func DefaultKnown(id string) bool {
	if len(id) != 12 || id[0] != '7' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// Handler is the fake API, an http.Handler, and the record of what it
// received. It is safe for concurrent use. Close releases requests held by
// stalls and latency so a server can shut down.
type Handler struct {
	opts  Options
	path  string
	token string
	known func(string) bool
	// interval between served requests under Options.RateLimit, 0 for
	// unlimited; tolerance is how early a request may come when the
	// bucket holds more than one token (RateBurst-1 intervals).
	interval, tolerance time.Duration

	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	next     time.Time  // rate limit: the theoretical arrival time of the next request (GCRA)
	rng      *rand.Rand // fault draws; not safe for concurrent use
	seq      int
	inflight map[string]int // ticket id → requests carrying it now
	history  map[string][]Update
	state    map[string]Item
	stats    Stats
}

// NewHandler returns a Handler for opts. It panics when opts.Validate fails.
func NewHandler(opts Options) *Handler {
	if err := opts.Validate(); err != nil {
		panic("kapturetest: " + err.Error())
	}
	h := &Handler{
		opts:     opts,
		path:     cleanPrefix(opts.Prefix) + Path,
		token:    opts.Token,
		known:    opts.Known,
		done:     make(chan struct{}),
		rng:      rand.New(rand.NewPCG(opts.Seed, 0x6b617074757265)), // "kapture"
		inflight: make(map[string]int),
		history:  make(map[string][]Update),
		state:    make(map[string]Item),
		stats: Stats{
			ByStatus: make(map[int]int),
			Faults:   make(map[FaultKind]int),
		},
	}
	if h.token == "" {
		h.token = DefaultToken
	}
	if h.known == nil {
		h.known = DefaultKnown
	}
	if opts.RateLimit > 0 {
		h.interval = time.Duration(float64(time.Second) / opts.RateLimit)
		h.tolerance = time.Duration(max(opts.RateBurst, 1)-1) * h.interval
	}
	return h
}

// cleanPrefix makes "kapture/", "/kapture" and "/kapture/" the same mount.
func cleanPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

// Path returns the endpoint's full path: Options.Prefix + Path.
func (h *Handler) Path() string { return h.path }

// Close ends every wait, now and later: a request held by a stall or by
// Latency has its connection closed unanswered; one that waits for
// nothing is still served. http.Server.Shutdown and httptest.Server.Close
// wait for active requests, so call it before them. Recording survives
// Close.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.done) })
}

// ServeHTTP serves the endpoint; any other path is a 404 and any other
// method a 405, both with an HTML page, as a Java web server answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.path {
		h.countOther(http.StatusNotFound)
		writeHTML(w, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		h.countOther(http.StatusMethodNotAllowed)
		w.Header().Set("Allow", http.MethodPost)
		writeHTML(w, http.StatusMethodNotAllowed)
		return
	}
	seq := h.arrive(r)

	if wait, limited := h.rateLimited(); limited {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		h.writeJSON(w, http.StatusTooManyRequests, failed("Too Many Requests"))
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.writeJSON(w, http.StatusRequestEntityTooLarge, failed(MsgTooLarge))
			return
		}
		h.drop(w) // the client went away mid-body
		return
	}
	items, parseErr := parseItems(body)
	release := h.enter(seq, items)
	defer release()

	if !h.sleep(r, h.opts.Latency) {
		// The client gave up (and may already be retrying), or Close.
		release()
		h.drop(w)
		return
	}
	if f := h.pickFault(seq, items); f != nil {
		h.serveFault(w, r, f, seq, items, parseErr, release)
		return
	}
	status, reply := h.answer(r, seq, items, parseErr)
	// Released before answering: the client may send the ticket's next
	// update the moment it reads this reply, and that is no violation.
	release()
	h.writeJSON(w, status, reply)
}

// arrive numbers and counts a request to the endpoint and records its
// headers.
func (h *Handler) arrive(r *http.Request) int {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	h.stats.Requests++
	h.stats.UserAgent = r.Header.Get("User-Agent")
	h.stats.ContentType = ct
	if err != nil || mt != "application/json" {
		h.stats.BadContentType++
	}
	return h.seq
}

func (h *Handler) countStatus(status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.ByStatus[status]++
}

func (h *Handler) countOther(status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Other++
	h.stats.ByStatus[status]++
}

// rateLimited reports whether the request is over Options.RateLimit and,
// if so, how long until it would have been served. A token bucket with a
// burst of 1 is a single "next" time; a refused request takes no token.
// (Hand-written rather than with x/time/rate, which the client paces
// itself with: the fake judges the client's pacing by an implementation
// of its own.)
func (h *Handler) rateLimited() (time.Duration, bool) {
	if h.interval == 0 {
		return 0, false
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	// A token bucket as GCRA: serve when now is no more than tolerance
	// before the theoretical arrival time, then push that time on.
	if h.next.Before(now) {
		h.next = now // also keeps the Sub below from saturating
	}
	if wait := h.next.Sub(now) - h.tolerance; wait > 0 {
		h.stats.RateLimited++
		return wait, true
	}
	h.next = h.next.Add(h.interval)
	return 0, false
}

// retryAfterSeconds renders d as Retry-After seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return fmt.Sprint(s)
}

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

// sleep waits d (forever when d < 0) and reports whether it passed; false
// when the client gave up or the Handler was closed first.
func (h *Handler) sleep(r *http.Request, d time.Duration) bool {
	if d == 0 {
		return true
	}
	var elapsed <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		elapsed = t.C
	}
	select {
	case <-elapsed:
		return true
	case <-r.Context().Done():
		return false
	case <-h.done:
		return false
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

func (h *Handler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Basic") && token == h.token
}

func (h *Handler) authStatus() int {
	if h.opts.AuthStatus != 0 {
		return h.opts.AuthStatus
	}
	return http.StatusUnauthorized
}

func (h *Handler) failStatus() int {
	if h.opts.FailStatus != 0 {
		return h.opts.FailStatus
	}
	return http.StatusOK
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

// failed is the documented failure object.
func failed(msg string) any {
	return struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}{msg, "failed"}
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

func (h *Handler) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // our own types: cannot happen
		panic(fmt.Errorf("kapturetest: encode reply: %w", err))
	}
	h.countStatus(status)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client gone away is its own business
}

// writeHTML answers an HTML error page, as Kapture's web server and the
// proxies in front of it do.
func writeHTML(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(status)
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	_, _ = fmt.Fprintf(w, "<!doctype html><html><head><title>%s</title></head><body><h1>%s</h1></body></html>\n", text, text)
}
