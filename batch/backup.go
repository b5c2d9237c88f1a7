package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Backup keeps the state of tickets before the run changes them
// (Config.Backup).
type Backup interface {
	// Need returns which of ids (the tickets of a payload about to leave
	// for the first time) have no pre-image yet (read), and which have
	// one that says the read did not show the ticket (absent). Called by
	// the workers, concurrently.
	Need(ids []string) (read, absent []string)
	// Keep records the tickets read for them before the payload leaves;
	// an error is fatal (the run stops). Called by the workers.
	Keep(ctx context.Context, tickets []Ticket) error
}

// backupFailed starts the message of rows held back because the read of
// their pre-images failed.
const backupFailed = "not sent: the backup read failed: "

// NotShown is the message of rows held back because the read of their
// ticket's pre-image did not show the ticket: sent, the change could not
// be undone, and a backup read that fails holds its payload back too.
const NotShown = "not sent: the backup read did not show this ticket, so the change could not be undone; send it without --backup if it must go"

// backup reads the pre-images of p's tickets that have none and hands
// them to Config.Backup, before p's first request leaves (never before a
// retry, a split half or a row sent again on its own: its tickets were
// read already). The read is paced and retried as a request is. It
// returns the rows of p that may go: none when a stop came first (p is
// left as never sent), nor when the read still failed after its retries
// (p's rows are failed, never sent; that counts towards the breaker). The
// rows of a ticket whose pre-image says the read did not show it are
// failed, never sent (NotShown), and the rest go. A read refused for a
// reason no retry or later payload changes (the token, the address, the
// API's refusal of the read, a reply in a shape no read can take) fails
// p's rows so and is fatal; an error of Keep is fatal.
func (w *worker) backup(s stops, p held) (send []Row, err error) {
	ids := make([]string, len(p.rows))
	for i, r := range p.rows {
		ids[i] = r.TicketID
	}
	need, absent := w.e.cfg.Backup.Need(ids)
	var shown []string // tickets this read did not show
	status := 0
	if len(need) > 0 {
		var tickets []Ticket
		tickets, status, err = w.e.read(s.soft, need)
		if err != nil {
			return nil, w.backupFailed(s, p, status, err)
		}
		if err := w.e.cfg.Backup.Keep(s.run, tickets); err != nil {
			return nil, fmt.Errorf("keep the pre-images of %d tickets: %w", len(tickets), err)
		}
		for _, t := range tickets {
			if !t.Found {
				shown = append(shown, t.ID)
			}
		}
	}
	send = p.rows
	for _, held := range []struct {
		ids    []string
		status int
	}{{absent, 0}, {shown, status}} {
		if send, err = w.holdBack(send, held.ids, held.status); err != nil {
			return nil, err
		}
	}
	return send, nil
}

// backupFailed settles p after the read of its pre-images failed with err
// (status: the last reply's HTTP status), and returns the run's error.
func (w *worker) backupFailed(s stops, p held, status int, err error) error {
	if s.soft.Err() != nil {
		return w.abandon(s.run, p, false)
	}
	msg := backupFailed + err.Error()
	if eerr := w.emitAll(p.rows, Failed, msg, status, p.prior); eerr != nil {
		return eerr
	}
	if _, gaveUp := errors.AsType[*readGaveUp](err); gaveUp {
		return w.e.unhealthy(msg)
	}
	return fmt.Errorf("the backup read failed: %w", err)
}

// holdBack fails, never sent (NotShown), the rows of rows whose ticket is
// one of ids, and returns the others, in order.
func (w *worker) holdBack(rows []Row, ids []string, status int) ([]Row, error) {
	if len(ids) == 0 {
		return rows, nil
	}
	var keep, held []Row
	for _, r := range rows {
		if slices.Contains(ids, r.TicketID) {
			held = append(held, r)
		} else {
			keep = append(keep, r)
		}
	}
	return keep, w.emitAll(held, Failed, NotShown, status, 0)
}
