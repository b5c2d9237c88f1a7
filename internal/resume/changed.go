package resume

import (
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// ChangedTickets returns the tickets the recorded runs may have changed,
// by their hash (rowkey.TicketHash), each with the first input line of
// such a row of it (0 when none is known): a ticket with a row whose
// latest result is a success, a row not applied (the API said success:
// it took the row's queue or disposition, or a rule moved the ticket on),
// or an outcome nobody knows (a request in flight at a kill, recorded so
// by a resume or not yet; a results row that cannot be read). msgs reads
// the messages of failed rows from the results file. What the ticket
// holds now is then no pre-image of the job: undo restores these
// tickets, and a resume's backup does not read them.
func (s *State) ChangedTickets(msgs *writer.Messages) (map[uint64]int, error) {
	changed := map[uint64]int{}
	var err error
	s.Tickets(func(ticket uint64, r Result) {
		if err != nil || !mayHaveChanged(r, msgs, &err) {
			return
		}
		if line, ok := changed[ticket]; !ok || r.Line > 0 && (line == 0 || r.Line < line) {
			changed[ticket] = r.Line
		}
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
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
