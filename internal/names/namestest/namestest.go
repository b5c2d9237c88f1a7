// Package namestest gives the read side's tests the fake tenant of
// batch/kapturetest as the read side sees it: the pairs its update replies
// teach, and its tickets as a Get Ticket read shows them.
package namestest

import (
	"encoding/json"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
)

// Catalogue returns a Book of the pairs the fake tenant's update replies
// show (kapturetest.DefaultCatalogue): its statuses, sub-statuses (each
// under its status, as a reply shows it) and queues.
func Catalogue() *names.Book {
	b := names.NewBook()
	cat := kapturetest.DefaultCatalogue()
	for _, s := range cat.SubStatuses {
		b.LearnTicket(batch.Ticket{Status: batch.Code{Key: s.Status.Key, Name: s.Status.Name}, SubStatus: batch.Code{Key: s.Key, Name: s.Name}})
	}
	for _, q := range cat.Queues {
		b.Learn(names.Queue, q.Key, q.Name)
	}
	return b
}

// Shape is how a tenant's reads show a ticket: the vendor's examples show
// names and no queue.
type Shape struct {
	Keys  bool // keys rather than names
	Queue bool // the queue too
}

// Read returns ticket id of h as a Get Ticket read of shape s shows it,
// Found false for a ticket h does not have. Raw is the read's element
// with the customer's data as Kapture sends it: unmasked, so that a test
// can check that nothing stores it.
func Read(h *kapturetest.Handler, id string, s Shape) batch.Ticket {
	kt, ok := h.Ticket(id)
	if !ok {
		return batch.Ticket{ID: id}
	}
	pick := func(key, name string) batch.Code {
		if s.Keys {
			return batch.Code{Value: key, Given: true}
		}
		return batch.Code{Value: name, Given: true}
	}
	t := batch.Ticket{ID: id, Found: true,
		Status:      pick(kt.SubStatus.Status.Key, kt.SubStatus.Status.Name),
		SubStatus:   pick(kt.SubStatus.Key, kt.SubStatus.Name),
		Disposition: kt.Disposition, DispositionGiven: true}
	if s.Queue {
		t.Queue = pick(kt.Queue.Key, kt.Queue.Name)
	}
	t.Raw, _ = json.Marshal(map[string]any{ // of maps and strings: cannot fail
		"task_details": map[string]any{"ticketId": id, "substatus": t.SubStatus.Value,
			"customerName": kt.Customer.Name, "customerEmail": kt.Customer.Email, "customerPhone": kt.Customer.Phone},
		"history": []any{map[string]any{"comment": "customer wrote from " + kt.Customer.Email, "agentName": "Ravi"}},
	})
	return t
}
