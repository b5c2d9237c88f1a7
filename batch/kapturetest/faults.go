package kapturetest

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// FaultKind is a way a request can go wrong between the client and the API.
type FaultKind int

const (
	// FaultErrorPage answers an HTML error page with Fault.Status
	// (default 500), as a crashed backend or a proxy does.
	FaultErrorPage FaultKind = iota + 1
	// FaultTooMany answers 429 with a Retry-After header.
	FaultTooMany
	// FaultDropBefore closes the connection without an answer, after
	// reading the body and before applying anything.
	FaultDropBefore
	// FaultDropAfter applies the request as usual, then closes the
	// connection without an answer: the client cannot tell that its
	// update landed and sends it again.
	FaultDropAfter
	// FaultNotJSON answers 200 with an HTML body, as a login page or a
	// captive proxy does.
	FaultNotJSON
	// FaultStall answers nothing until Options.StallFor has passed (then
	// a 504 page), the client gives up or the Handler is closed.
	FaultStall
	// FaultReply answers Fault.Status with Fault.Body as JSON (default
	// body: a failed object with the status text), e.g. a 401
	// "Invalid Auth Key" for a token revoked mid-run.
	FaultReply
)

var faultNames = map[FaultKind]string{
	FaultErrorPage:  "error-page",
	FaultTooMany:    "too-many",
	FaultDropBefore: "drop-before",
	FaultDropAfter:  "drop-after",
	FaultNotJSON:    "not-json",
	FaultStall:      "stall",
	FaultReply:      "reply",
}

func (k FaultKind) String() string {
	if s, ok := faultNames[k]; ok {
		return s
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is what a request gets instead of its answer. Except for
// FaultDropAfter, a request that gets a fault applies nothing.
type Fault struct {
	Kind FaultKind
	// Status is the HTTP status of FaultErrorPage (default 500) and
	// FaultReply (default 500).
	Status int
	// Body is FaultReply's body.
	Body string
	// RetryAfter is FaultTooMany's delay (default Faults.RetryAfter,
	// else 1s), sent in whole seconds, or as an HTTP date when
	// RetryAfterDate is set.
	RetryAfter     time.Duration
	RetryAfterDate bool
}

// InvalidAuth is a FaultReply answering "Invalid Auth Key" with status,
// for a token that stops working mid-run.
func InvalidAuth(status int) *Fault {
	return &Fault{Kind: FaultReply, Status: status, Body: `{"message":"Invalid Auth Key","status":"failed"}`}
}

// Script returns an Options.Fail that gives the n-th request faults[n-1]
// (nil entries: no fault) and no fault after the script's end. For "every
// request gets X", set Options.Fail to a function returning X.
func Script(faults ...*Fault) func(n int, items []Item) *Fault {
	return func(n int, _ []Item) *Fault {
		if n >= 1 && n <= len(faults) {
			return faults[n-1]
		}
		return nil
	}
}

// Faults are per-request probabilities, each in [0, 1], summing to at most
// 1: one draw per request decides which fault, if any, it gets.
type Faults struct {
	ErrorPage, TooMany, DropBefore, DropAfter, NotJSON, Stall float64
	// RetryAfter is the delay the random 429s announce; 0 means 1s.
	RetryAfter time.Duration
	// RetryAfterDate sends Retry-After as an HTTP date, not seconds.
	RetryAfterDate bool
}

// Spread returns Faults giving each of the six kinds total/6 of the
// requests, so that total is the share of requests that fail: what the
// mock's --fail-rate means.
func Spread(total float64) Faults {
	p := total / 6
	return Faults{ErrorPage: p, TooMany: p, DropBefore: p, DropAfter: p, NotJSON: p, Stall: p}
}

// kinds pairs each probability with its kind, in the fixed order draws
// are compared against, so a seed gives the same faults across versions.
func (f Faults) kinds() []struct {
	p    float64
	kind FaultKind
} {
	return []struct {
		p    float64
		kind FaultKind
	}{
		{f.ErrorPage, FaultErrorPage}, {f.TooMany, FaultTooMany},
		{f.DropBefore, FaultDropBefore}, {f.DropAfter, FaultDropAfter},
		{f.NotJSON, FaultNotJSON}, {f.Stall, FaultStall},
	}
}

func (f Faults) validate() error {
	sum := 0.0
	for _, k := range f.kinds() {
		if !(k.p >= 0 && k.p <= 1) { // also refuses NaN
			return fmt.Errorf("fault probability %s = %v: want 0 to 1", k.kind, k.p)
		}
		sum += k.p
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("fault probabilities sum to %v: want at most 1", sum)
	}
	if f.RetryAfter < 0 {
		return errors.New("fault Retry-After must not be negative")
	}
	return nil
}

// pickFault decides a request's fault: hook's (Options.Fail or FailRead,
// nil when unset), else a random one. The generator is drawn for every
// request, even one the hook decided, so a script does not shift the
// random faults of the requests after it.
func (h *Handler) pickFault(hook func() *Fault) *Fault {
	h.mu.Lock()
	u := h.rng.Float64()
	h.mu.Unlock()
	if hook != nil {
		if f := hook(); f != nil {
			return f
		}
	}
	for _, k := range h.opts.Faults.kinds() {
		if u < k.p {
			return &Fault{Kind: k.kind, RetryAfter: h.opts.Faults.RetryAfter, RetryAfterDate: h.opts.Faults.RetryAfterDate}
		}
		u -= k.p
	}
	return nil
}

// serveFault serves f. answer does what the request asks (for
// FaultDropAfter). It releases the request's tickets before answering,
// holding or closing: the client may send them again the moment it sees
// the fault (or gives up on a stall), and that is no order violation.
func (h *Handler) serveFault(w http.ResponseWriter, r *http.Request, f *Fault, answer func() (int, any), release func()) {
	h.mu.Lock()
	h.stats.Faults[f.Kind]++
	h.mu.Unlock()
	if f.Kind != FaultDropAfter { // it applies first, as an answered request
		release()
	}
	switch f.Kind {
	case FaultErrorPage:
		h.countStatus(statusOr(f.Status, http.StatusInternalServerError))
		writeHTML(w, statusOr(f.Status, http.StatusInternalServerError))
	case FaultTooMany:
		d := f.RetryAfter
		if d <= 0 {
			d = time.Second
		}
		if f.RetryAfterDate {
			// Rounded up: an HTTP date has whole seconds.
			w.Header().Set("Retry-After", time.Now().Add(d+time.Second-1).UTC().Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", retryAfterSeconds(d))
		}
		h.writeJSON(w, http.StatusTooManyRequests, failed("Too Many Requests"))
	case FaultDropBefore:
		h.drop(w)
	case FaultDropAfter:
		answer()
		release()
		h.drop(w)
	case FaultNotJSON:
		h.countStatus(http.StatusOK)
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, "<!doctype html><html><head><title>Kapture CRM - Login</title></head><body><form action=\"/login\"></form></body></html>\n")
	case FaultStall:
		d := h.opts.StallFor
		if d == 0 {
			d = -1 // until the client gives up or Close
		}
		if h.sleep(r, d) {
			h.countStatus(http.StatusGatewayTimeout)
			writeHTML(w, http.StatusGatewayTimeout)
			return
		}
		h.drop(w)
	case FaultReply:
		status := statusOr(f.Status, http.StatusInternalServerError)
		if f.Body == "" {
			h.writeJSON(w, status, failed(http.StatusText(status)))
			return
		}
		h.countStatus(status)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprint(w, f.Body)
	default:
		panic(fmt.Sprintf("kapturetest: unknown fault kind %d", int(f.Kind)))
	}
}

func statusOr(s, def int) int {
	if s == 0 {
		return def
	}
	return s
}

// drop closes the connection without answering (a handler that just
// returns would send an empty 200), and counts it under status 0. Without
// a hijackable connection (HTTP/2) the ErrAbortHandler panic makes
// net/http reset the stream instead, silently.
func (h *Handler) drop(w http.ResponseWriter) {
	h.countStatus(0)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
