package batch

import (
	"strings"
)

// The reply check. A success reply carries the ticket as it now stands:
// a tenant's workflow may answer success and leave the ticket where it
// was (a transition it refuses, a rule that moves the ticket on). Such a
// row is not applied, whatever the reply's status says.

// NotAppliedPrefix starts the message of a row the reply check failed
// (Result.NotApplied): the API said success, yet its ticket holds
// something else. What the results file keeps of the row is that message,
// so this prefix is how a later reader (undo) tells such a row from one
// the API refused.
const NotAppliedPrefix = "not applied: "

// shownTicket is the ticket a success item's reply shows (rt), its codes
// made safe; id is the row's ticket, for a reply whose ticket names none.
func shownTicket(rt *replyTicket, id string) Ticket {
	if rt.TicketID.given && rt.TicketID.text != "" {
		id = serverText(rt.TicketID.text)
	}
	return Ticket{ID: id, Found: true,
		Status:    labelled(rt.Status, rt.StatusName),
		SubStatus: labelled(rt.Substatus, rt.SubstatusName),
		Queue:     labelled(rt.QueueKey, rt.QueueName)}
}

// labelled is a Code whose key and name the reply labels as such.
func labelled(key, name ticketText) Code {
	return Code{Key: serverText(key.text), Name: serverText(name.text), Given: key.given || name.given}
}

// checkApplied holds the tickets out's success items show against the
// rows they answer: an item whose ticket holds something else than its
// row sent becomes failed, notApplied. A success object for the whole
// payload (kindSuccess) that shows such a ticket becomes a result per
// row, the row it answers failed.
func checkApplied(out outcome, rows []Row) outcome {
	switch out.kind {
	case kindRows:
		for i := range out.entries {
			en := &out.entries[i]
			if !en.known || !en.ok || en.ticket == nil {
				continue
			}
			if msg := notApplied(en.ticket, rows[i]); msg != "" {
				en.ok, en.notApplied, en.message = false, true, msg
			}
		}
	case kindSuccess:
		if out.shown == nil {
			return out
		}
		msg := notApplied(out.shown, rows[out.shownAt])
		if msg == "" {
			return out
		}
		out.entries = make([]entry, len(rows))
		for i := range out.entries {
			out.entries[i] = entry{known: true, ok: true, message: out.message}
		}
		out.entries[out.shownAt] = entry{known: true, notApplied: true, message: msg, ticket: out.shown}
		out.kind, out.shown = kindRows, nil
	}
	return out
}

// notApplied returns what rt says its ticket holds instead of what r
// sent, "" when it holds r's sub-status (and r's queue, when r sent one)
// or the reply does not say. A key compares without regard to case (the
// API takes "cl" for "CL"). An empty sub-status key says nothing; an
// empty queue key and name given say the ticket is in no queue.
func notApplied(rt *replyTicket, r Row) string {
	var held []string
	if key := serverText(rt.Substatus.text); r.SubStatus != "" && key != "" && !strings.EqualFold(key, r.SubStatus) {
		held = append(held, "holds "+showCode(key, rt.SubstatusName)+", not "+r.SubStatus)
	}
	if key := serverText(rt.QueueKey.text); r.Queue != "" && (rt.QueueKey.given || rt.QueueName.given) && !strings.EqualFold(key, r.Queue) {
		switch {
		case key != "":
			held = append(held, "is in queue "+showCode(key, rt.QueueName)+", not "+r.Queue)
		case serverText(rt.QueueName.text) == "":
			held = append(held, "is in no queue, not "+r.Queue)
		}
	}
	if len(held) == 0 {
		return ""
	}
	return NotAppliedPrefix + "the ticket " + strings.Join(held, ", and ")
}

// showCode shows a code as KEY (Name), or KEY when the reply gives no
// name.
func showCode(key string, name ticketText) string {
	if n := serverText(name.text); n != "" {
		return key + " (" + n + ")"
	}
	return key
}

// observe hands the ticket a reply showed for the row of ticket id, if
// any, to Config.Observe.
func (e *Engine) observe(rt *replyTicket, id string) {
	if rt != nil && e.cfg.Observe != nil {
		e.cfg.Observe(shownTicket(rt, id))
	}
}
