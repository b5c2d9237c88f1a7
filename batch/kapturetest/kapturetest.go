// Package kapturetest is an in-process fake of Kapture CRM's Update Ticket
// API (POST {prefix}/update-ticket-from-other-source.html/v.2.0) and Get
// Ticket API (POST {prefix}/search-ticket-by-ticket-id.html/v.2.0). It
// answers as the vendor pages document, in each reply form the client must
// handle (see Reply), holds each ticket's state in a tenant's catalogue of
// sub-statuses and queues (see Catalogue and Ticket), records what it
// applied so tests can assert the final state and the order of updates per
// ticket, and injects the faults a real API and network show (error pages,
// 429s, dropped connections, non-JSON bodies, stalls, a rate limit, a
// workflow that silently keeps a sub-status). The tests use it through
// NewServer; `kapture-bulk mock` serves a Handler on an address.
//
// Where the vendor pages are silent (unknown tickets, several items in one
// payload, a missing sub_status, a key the tenant lacks, what a read shows)
// the fake's behaviour is a documented guess: see the Msg constants and
// Options.
package kapturetest

import (
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

// Path is the Update Ticket endpoint, relative to the API root (and
// Options.Prefix).
const Path = "/update-ticket-from-other-source.html/v.2.0"

// ReadPath is the Get Ticket endpoint, relative to the API root (and
// Options.Prefix).
const ReadPath = "/search-ticket-by-ticket-id.html/v.2.0"

// DefaultToken is the token accepted when Options.Token is empty.
const DefaultToken = "kapturetest-token"

// The messages the fake answers with. The first six are the vendor's
// documented ones, verbatim (the last two Get Ticket's); the others are
// ours, since the pages do not say what Kapture answers in those cases.
const (
	MsgSuccess          = "Status and Comment have been updated.\n"
	MsgInvalidAuth      = "Invalid Auth Key"
	MsgMissingTicketID  = "No Data found/ticket_id is missing"
	MsgBadCallbackTime  = "Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss."
	MsgInvalidJSON      = "Invalid Json."
	MsgMissingTicketIDs = "ticket_ids are missing."

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
	// MsgUnlisted, formatted with the key and "sub_status" or "queue",
	// refuses a key the catalogue lacks under Options.RefuseUnlisted.
	MsgUnlisted = "Invalid value '%s' for %s"
)

// callbackLayout is the documented callback_time format, yyyy-MM-dd HH:mm:ss.
const callbackLayout = "2006-01-02 15:04:05"

// MaxBodyBytes bounds a request body; the client's payloads are far smaller.
const MaxBodyBytes = 32 << 20

// Handler is the fake API, an http.Handler, and the record of what it
// received. It is safe for concurrent use. Close releases requests held by
// stalls and latency so a server can shut down.
type Handler struct {
	opts     Options
	path     string
	readPath string
	token    string
	known    func(string) bool
	tenant   *tenant
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
	inflight map[string]int // ticket id → update requests carrying it now
	history  map[string][]Update
	state    map[string]Item
	tickets  map[string]Holding // tickets changed since their start
	reads    map[string][]int   // ticket id → the reads that showed it
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
		readPath: cleanPrefix(opts.Prefix) + ReadPath,
		token:    opts.Token,
		known:    opts.Known,
		done:     make(chan struct{}),
		rng:      rand.New(rand.NewPCG(opts.Seed, 0x6b617074757265)), // "kapture"
		inflight: make(map[string]int),
		history:  make(map[string][]Update),
		state:    make(map[string]Item),
		tickets:  make(map[string]Holding),
		reads:    make(map[string][]int),
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
	if opts.Catalogue != nil {
		h.tenant = newTenant(*opts.Catalogue)
	} else {
		h.tenant = newTenant(DefaultCatalogue())
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

// Path returns the update endpoint's full path: Options.Prefix + Path.
func (h *Handler) Path() string { return h.path }

// ReadPath returns the Get Ticket endpoint's full path: Options.Prefix +
// ReadPath.
func (h *Handler) ReadPath() string { return h.readPath }

// Close ends every wait, now and later: a request held by a stall or by
// Latency has its connection closed unanswered; one that waits for
// nothing is still served. http.Server.Shutdown and httptest.Server.Close
// wait for active requests, so call it before them. Recording survives
// Close.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.done) })
}

// ServeHTTP serves the two endpoints; any other path is a 404 and any
// other method a 405, both with an HTML page, as a Java web server
// answers. Updates and reads share the rate limit, the faults and the
// sequence numbers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	read := r.URL.Path == h.readPath
	if !read && r.URL.Path != h.path {
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
	seq := h.arrive(r, read)

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
	if read {
		h.serveRead(w, r, seq, body)
	} else {
		h.serveUpdate(w, r, seq, body)
	}
}

// serve waits Options.Latency, then serves the request's fault (hook's
// or a random one) or answer's reply. release ends the request's tickets'
// time in flight: before the answer, since the client may send a
// ticket's next update the moment it reads it, and that is no violation.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, hook func() *Fault, answer func() (int, any), release func()) {
	if !h.sleep(r, h.opts.Latency) {
		// The client gave up (and may already be retrying), or Close.
		release()
		h.drop(w)
		return
	}
	if f := h.pickFault(hook); f != nil {
		h.serveFault(w, r, f, answer, release)
		return
	}
	status, reply := answer()
	release()
	h.writeJSON(w, status, reply)
}

// arrive numbers and counts a request to an endpoint and records its
// headers.
func (h *Handler) arrive(r *http.Request, read bool) int {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	if read {
		h.stats.Reads++
	} else {
		h.stats.Requests++
	}
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

// failed is the documented failure object.
func failed(msg string) any {
	return struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}{msg, "failed"}
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
