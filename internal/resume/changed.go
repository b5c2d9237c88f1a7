package resume

import (
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Changed calls fn with each row whose latest result says the recorded
// runs may have changed its ticket, with the ticket's hash
// (rowkey.TicketHash), a ticket's rows together: a success, a row not
// applied (the API said success: it took the row's queue or disposition,
// or a rule moved the ticket on), or an outcome nobody knows (a request in
// flight at a kill, recorded so by a resume or not yet; a results row
// that cannot be read). msgs reads the messages of failed rows from the
// results file. What such a ticket holds now is no pre-image of the job:
// undo restores these tickets, and a resume's backup does not read them.
func (s *State) Changed(msgs *writer.Messages, fn func(ticket uint64, r Result)) error {
	var err error
	s.Tickets(func(ticket uint64, r Result) {
		if err == nil && mayHaveChanged(r, msgs, &err) {
			fn(ticket, r)
		}
	})
	return err
}

// mayHaveChanged reports whether a row whose latest result is r may have
// changed its ticket; *err gets an error reading its message.
func mayHaveChanged(r Result, msgs *writer.Messages, err *error) bool {
	switch {
	case r.Status == Success, r.At < 0:
		return true
	case r.Status != Failed:
		return false
	}
	msg, merr := r.Message(msgs)
	*err = merr
	return msg == MsgUnknown || strings.HasPrefix(msg, batch.NotAppliedPrefix)
}
