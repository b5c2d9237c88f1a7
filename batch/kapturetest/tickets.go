package kapturetest

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// Status is a ticket's parent status, as the update reply's status
// (key) and statusName show it.
type Status struct{ Key, Name string }

// SubStatus is a key an update's sub_status takes, its name, and the
// parent status a ticket in it has.
type SubStatus struct {
	Key, Name string
	Status    Status
}

// Queue is a key an update's queue takes, and its name.
type Queue struct{ Key, Name string }

// Catalogue is a tenant's configuration: the sub-statuses and queues an
// update may name by key, and the names replies and reads show for them.
type Catalogue struct {
	SubStatuses []SubStatus
	Queues      []Queue
}

// DefaultCatalogue is the tenant of Options.Catalogue nil. Names are
// free text per tenant, and the vendor's own example shows a sub-status
// (PS) named "Pending" like its parent status, so names need not be
// unique: here "Others" is a sub-status of both P and C, and a read that
// shows only names cannot tell which key a ticket holds.
func DefaultCatalogue() Catalogue {
	pending, complete := Status{"P", "Pending"}, Status{"C", "Complete"}
	return Catalogue{
		SubStatuses: []SubStatus{
			{"P", "Pending", pending},
			{"PS", "Pending Seller", pending},
			{"PC", "Pending Customer", pending},
			{"PO", "Others", pending},
			{"CL", "Closed", complete},
			{"RS", "Resolved", complete},
			{"CD", "Duplicate", complete},
			{"CO", "Others", complete},
		},
		Queues: []Queue{
			{"L1-Support", "L1 Support"},
			{"L2-Billing", "L2 Billing"},
			{"ESC", "Escalations"},
		},
	}
}

// validate reports a catalogue the fake cannot answer from.
func (c Catalogue) validate() error {
	if len(c.SubStatuses) == 0 {
		return errors.New("catalogue: no sub-status")
	}
	subs := make(map[string]bool)
	statuses := make(map[string]string) // key → name: one name per parent status
	for _, s := range c.SubStatuses {
		switch {
		case s.Key == "" || s.Name == "" || s.Status.Key == "" || s.Status.Name == "":
			return fmt.Errorf("catalogue: sub-status %q: key, name and parent status must not be empty", s.Key)
		case subs[s.Key]:
			return fmt.Errorf("catalogue: sub-status key %q twice", s.Key)
		}
		subs[s.Key] = true
		if name, ok := statuses[s.Status.Key]; ok && name != s.Status.Name {
			return fmt.Errorf("catalogue: status %q named both %q and %q", s.Status.Key, name, s.Status.Name)
		}
		statuses[s.Status.Key] = s.Status.Name
	}
	queues := make(map[string]bool)
	for _, q := range c.Queues {
		if q.Key == "" || q.Name == "" || queues[q.Key] {
			return fmt.Errorf("catalogue: queue %q: key and name must not be empty, and a key appear once", q.Key)
		}
		queues[q.Key] = true
	}
	return nil
}

// UnlistedPrefix starts the name the fake makes up for a sub-status or
// queue key its catalogue lacks, when Options.RefuseUnlisted is off.
const UnlistedPrefix = "Unlisted "

// tenant answers names for keys from a catalogue; read-only once made,
// so it is used without the Handler's lock.
type tenant struct {
	cat    Catalogue
	subs   map[string]SubStatus
	queues map[string]Queue
}

func newTenant(c Catalogue) *tenant {
	t := &tenant{cat: c, subs: make(map[string]SubStatus), queues: make(map[string]Queue)}
	for _, s := range c.SubStatuses {
		t.subs[s.Key] = s
	}
	for _, q := range c.Queues {
		t.queues[q.Key] = q
	}
	return t
}

// subStatus returns key's entry; an unlisted key gets a made-up name
// under the first sub-status's parent status.
func (t *tenant) subStatus(key string) (s SubStatus, listed bool) {
	if s, ok := t.subs[key]; ok {
		return s, true
	}
	return SubStatus{Key: key, Name: UnlistedPrefix + key, Status: t.cat.SubStatuses[0].Status}, false
}

// queue returns key's entry; "" is no queue, with no name.
func (t *tenant) queue(key string) (q Queue, listed bool) {
	if key == "" {
		return Queue{}, true
	}
	if q, ok := t.queues[key]; ok {
		return q, true
	}
	return Queue{Key: key, Name: UnlistedPrefix + key}, false
}

// Holding is what updates and hand edits change on a ticket, as keys
// (an update's sub_status, queue and disposition); Queue and Disposition
// "" are none.
type Holding struct{ SubStatus, Queue, Disposition string }

// Customer is the customer data a read shows: made up per ticket, so
// that tests can check it is stored nowhere.
type Customer struct{ Name, Email, Phone string }

// Ticket is what a ticket holds, as replies and reads show it: keys
// with their names (an unlisted key with a made-up one).
type Ticket struct {
	ID          string
	SubStatus   SubStatus // and its parent status
	Queue       Queue     // zero: in no queue
	Disposition string
	Created     time.Time
	Customer    Customer
}

// Holding returns the ticket's keys.
func (t Ticket) Holding() Holding {
	return Holding{SubStatus: t.SubStatus.Key, Queue: t.Queue.Key, Disposition: t.Disposition}
}

// ticket describes id holding hd.
func (t *tenant) ticket(id string, hd Holding) Ticket {
	s, _ := t.subStatus(hd.SubStatus)
	q, _ := t.queue(hd.Queue)
	return Ticket{ID: id, SubStatus: s, Queue: q, Disposition: hd.Disposition, Created: created(id), Customer: customer(id)}
}

// The draws that make a ticket's starting state and customer from its id
// alone, so that two runs of the mock agree whatever their seed.
var (
	startDispositions = []string{"", "", "Query|Order Status", "Complaint|Late Delivery", "Request|Refund"}
	firstNames        = []string{"Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Meera", "Arjun", "Kavya", "Sanjay", "Divya", "Rahul", "Neha"}
	lastNames         = []string{"Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Patel", "Das", "Rao", "Khan", "Joshi", "Singh"}
	epoch             = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// mix is FNV-1a of the parts, NUL-separated, through splitmix64's
// finaliser so that every bit depends on every byte.
func mix(parts ...string) uint64 {
	f := fnv.New64a()
	for _, p := range parts {
		f.Write([]byte(p))
		f.Write([]byte{0})
	}
	x := f.Sum64()
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps x to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// start is the Holding a ticket has before any update or hand edit: one
// of the catalogue's sub-statuses, a queue or none, a disposition or none.
func (t *tenant) start(id string) Holding {
	x := mix("start", id)
	hd := Holding{
		SubStatus:   t.cat.SubStatuses[x%uint64(len(t.cat.SubStatuses))].Key,
		Disposition: startDispositions[(x>>24)%uint64(len(startDispositions))],
	}
	if i := (x >> 16) % uint64(len(t.cat.Queues)+1); i > 0 {
		hd.Queue = t.cat.Queues[i-1].Key
	}
	return hd
}

func created(id string) time.Time {
	return epoch.Add(time.Duration(mix("created", id)%(365*24*60)) * time.Minute)
}

func customer(id string) Customer {
	x := mix("customer", id)
	first, last := firstNames[x%uint64(len(firstNames))], lastNames[(x>>8)%uint64(len(lastNames))]
	return Customer{
		Name:  first + " " + last,
		Email: fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), (x>>16)%100),
		Phone: fmt.Sprintf("+91%d%09d", 6+(x>>24)%4, (x>>32)%1_000_000_000),
	}
}

// holding returns what id holds now: its last update or hand edit, else
// its starting state. h.mu held.
func (h *Handler) holding(id string) Holding {
	if hd, ok := h.tickets[id]; ok {
		return hd
	}
	return h.tenant.start(id)
}

// keeps reports whether the tenant's workflow refuses to move id from
// sub-status from to to, silently (Options.KeepSubStatus). A refusal is a
// property of the transition, so a retry of the same update is refused
// again, whatever order concurrent requests arrive in.
func (h *Handler) keeps(id, from, to string) bool {
	p := h.opts.KeepSubStatus
	return p > 0 && from != to && unit(mix("keep", fmt.Sprint(h.opts.Seed), id, from, to)) < p
}

// Ticket returns what a ticket holds now, hand edits included; ok is
// false when the ticket does not exist (Options.Known). Under
// Options.NoRecord it is the starting state or the last hand edit.
func (h *Handler) Ticket(id string) (t Ticket, ok bool) {
	if !h.known(id) {
		return Ticket{}, false
	}
	h.mu.Lock()
	hd := h.holding(id)
	h.mu.Unlock()
	return h.tenant.ticket(id, hd), true
}

// SetTicket changes what a ticket holds behind the API's back, as an
// agent editing it by hand in the CRM does: later replies and reads show
// it; History and State, the record of what the API applied, do not. It
// fails for a ticket that does not exist, an empty sub-status, or (with
// Options.RefuseUnlisted) a key the catalogue lacks.
func (h *Handler) SetTicket(id string, to Holding) error {
	if !h.known(id) {
		return fmt.Errorf("kapturetest: set ticket %q: no such ticket", id)
	}
	if to.SubStatus == "" {
		return fmt.Errorf("kapturetest: set ticket %q: empty sub-status", id)
	}
	if msg := h.unlisted(to.SubStatus, to.Queue); msg != "" {
		return fmt.Errorf("kapturetest: set ticket %q: %s", id, msg)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tickets[id] = to
	return nil
}

// unlisted returns the refusal of a sub-status or queue key the
// catalogue lacks under Options.RefuseUnlisted, else "".
func (h *Handler) unlisted(sub, queue string) string {
	if !h.opts.RefuseUnlisted {
		return ""
	}
	if _, ok := h.tenant.subStatus(sub); !ok {
		return fmt.Sprintf(MsgUnlisted, sub, "sub_status")
	}
	if _, ok := h.tenant.queue(queue); !ok {
		return fmt.Sprintf(MsgUnlisted, queue, "queue")
	}
	return ""
}
