package batch

import (
	"context"
	"errors"
	"fmt"
)

// Backup keeps the state of tickets before the run changes them
// (Config.Backup).
type Backup interface {
	// Need returns which of ids (the tickets of a payload about to leave
	// for the first time) have no pre-image yet. Called by the workers,
	// concurrently.
	Need(ids []string) []string
	// Keep records the tickets read for them before the payload leaves;
	// an error is fatal (the run stops). Called by the workers.
	Keep(ctx context.Context, tickets []Ticket) error
}

// backupFailed starts the message of rows held back because the read of
// their pre-images failed.
const backupFailed = "not sent: the backup read failed: "

// backup reads the pre-images of p's tickets that have none and hands
// them to Config.Backup, before p's first request leaves (never before a
// retry, a split half or a row sent again on its own: its tickets were
// read already). The read is paced and retried as a request is. It
// returns what of p may go, and whether any may: not when a stop came
// first (p is left as never sent), nor when the read still failed after
// its retries (p's rows are failed, never sent; that counts towards the
// breaker). A ticket the read could not take (Ticket.Unread: its reply
// alone is over the size bound) has its rows failed, never sent, and the
// rest of p goes. A read refused for a reason no retry or later payload
// changes (the token, the address, the API's refusal of the read, a reply
// in a shape no read can take) fails p's rows so and is fatal; an error
// of Keep is fatal.
func (w *worker) backup(s stops, p held) (rest held, send bool, err error) {
	ids := make([]string, len(p.rows))
	for i, r := range p.rows {
		ids[i] = r.TicketID
	}
	need := w.e.cfg.Backup.Need(ids)
	if len(need) == 0 {
		return p, true, nil
	}
	tickets, status, err := w.e.read(s.soft, need)
	if err == nil {
		read, unread := tickets[:0:0], map[string]string{}
		for _, t := range tickets {
			if t.Unread != "" {
				unread[t.ID] = t.Unread
			} else {
				read = append(read, t)
			}
		}
		if len(read) == 0 {
			return w.holdBack(p, unread, status)
		}
		if err := w.e.cfg.Backup.Keep(s.run, read); err != nil {
			return p, false, fmt.Errorf("keep the pre-images of %d tickets: %w", len(read), err)
		}
		return w.holdBack(p, unread, status)
	}
	if s.soft.Err() != nil {
		return p, false, w.abandon(s.run, p, false)
	}
	msg := backupFailed + err.Error()
	if eerr := w.emitAll(p.rows, Failed, msg, status, p.prior); eerr != nil {
		return p, false, eerr
	}
	if _, gaveUp := errors.AsType[*readGaveUp](err); gaveUp {
		return p, false, w.e.unhealthy(msg)
	}
	return p, false, fmt.Errorf("the backup read failed: %w", err)
}

// holdBack fails, never sent, the rows of p whose ticket has a reason in
// why (backupFailed and the reason), and returns the rest of p, and
// whether any is left to send.
func (w *worker) holdBack(p held, why map[string]string, httpStatus int) (held, bool, error) {
	if len(why) == 0 {
		return p, true, nil
	}
	rest := p
	rest.rows = nil
	for _, r := range p.rows {
		reason, ok := why[r.TicketID]
		if !ok {
			rest.rows = append(rest.rows, r)
			continue
		}
		if err := w.emitAll([]Row{r}, Failed, backupFailed+reason, httpStatus, p.prior); err != nil {
			return p, false, err
		}
	}
	return rest, len(rest.rows) > 0, nil
}
