package kapturetest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

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
// of a payload even when others fail, knows DefaultKnown's tickets in
// DefaultCatalogue's tenant, applies every update, reads names, and
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
	// Catalogue is the tenant's sub-statuses and queues; nil means
	// DefaultCatalogue.
	Catalogue *Catalogue
	// RefuseUnlisted fails an update whose sub_status, or non-empty
	// queue, the catalogue lacks (MsgUnlisted). Otherwise the fake
	// applies it and names the key UnlistedPrefix+key: the vendor page
	// does not say which a tenant does, and the repository's tests send
	// keys of their own.
	RefuseUnlisted bool
	// KeepSubStatus is the share (0 to 1) of sub-status changes the
	// tenant's workflow refuses without a word: the reply says success
	// and its ticket shows the old sub-status, the queue and disposition
	// are applied. Which ones is drawn from Seed, the ticket and the
	// transition, so a retry is refused again and concurrent runs agree.
	KeepSubStatus float64

	// ReadKeys makes Get Ticket show task_details' status, substatus
	// (and queue) as keys instead of names, the vendor's examples'
	// form. ReadQueue adds the ticket's queue, which those examples do
	// not show.
	ReadKeys, ReadQueue bool
	// LongHistory, when not nil, gives the bytes of history Get Ticket
	// shows for a ticket (0: none): a long-lived ticket whose reply alone
	// may be over the client's bound.
	LongHistory func(id string) int

	// Latency is added to every request to either endpoint, while it
	// counts as in flight; a request abandoned meanwhile gets no answer.
	Latency time.Duration
	// RateLimit is the requests per second served, updates and reads
	// together (a token bucket); over it the answer is 429 with
	// Retry-After in whole seconds. 0 means unlimited.
	RateLimit float64
	// RateBurst is the bucket's size: how many requests may arrive
	// back to back after a quiet spell. 0 means 1, the strictest: it
	// refuses a request that arrives a fraction of a millisecond before
	// 1/RateLimit has passed since the previous one.
	RateBurst int

	// Faults are per-request fault probabilities, updates and reads
	// alike, drawn from a generator seeded with Seed, so a run of
	// sequential requests is reproducible.
	Faults Faults
	Seed   uint64
	// Fail, when set, is asked (concurrently) about every update request
	// that passed the rate limit: n is its sequence number (1-based, in
	// order of arrival at either endpoint, as in Update.Request) and
	// items its parsed body (nil when unparsable). A non-nil Fault is
	// served instead of a random one. See Script and InvalidAuth.
	Fail func(n int, items []Item) *Fault
	// FailRead is Fail for Get Ticket requests: ids are the ticket ids
	// asked (nil when the body is unparsable). Fail is not asked about
	// reads, so a test scripting updates by number sees no reads.
	FailRead func(n int, ids []string) *Fault
	// StallFor is how long FaultStall holds a request before answering a
	// 504 page; 0 means until the client gives up or the Handler closes.
	StallFor time.Duration

	// NoRecord keeps the counters (Stats) and the order checks but not
	// what was applied: History, State, States and ReadLog stay empty,
	// and tickets keep their starting state (or last hand edit): a reply
	// shows it with that one update applied. Recording grows with every
	// update; a benchmark of millions of rows turns it off so the fake
	// spends less of the CPU and memory the client under test shares.
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
	if !(o.KeepSubStatus >= 0 && o.KeepSubStatus <= 1) { // NaN too
		return fmt.Errorf("keep sub-status share %v: want 0 to 1", o.KeepSubStatus)
	}
	if o.Catalogue != nil {
		if err := o.Catalogue.validate(); err != nil {
			return err
		}
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
