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
const NotShown = "not sent: the backup read did not show this ticket, so the change could not be undone; send it in a run without a backup if it must go"

// backup reads the pre-images of p's tickets that have none and hands
// them to Config.Backup, before p's first request leaves (never before a
// retry, a split half or a row sent again on its own: its tickets were
// read already). The read is paced and retried as a request is. It
// returns the rows of p that may go: none when a stop came first (p is
// left as never sent), nor when the read still failed after its retries
// (p's rows are failed, never sent; that counts towards the breaker). The
// rows of a ticket the read did not show (NotShown), or could not take
// (Ticket.Unread: its reply alone is over the size bound), are failed,
// never sent, and the rest go. A read refused for a reason no retry or
// later payload changes (the token, the address, the API's refusal of the
// read, a reply in a shape no read can take) fails p's rows so and is
// fatal; an error of Keep is fatal.
func (w *worker) backup(s stops, p held) (send []Row, err error) {
	ids := make([]string, len(p.rows))
	for i, r := range p.rows {
		ids[i] = r.TicketID
	}
	need, absent := w.e.cfg.Backup.Need(ids)
	why := map[string]string{} // ticket → why its rows stay
	for _, id := range absent {
		why[id] = NotShown
	}
	if len(need) > 0 {
		tickets, status, err := w.e.read(s.soft, need)
		if err != nil {
			return nil, w.backupFailed(s, p, status, err)
		}
		read := tickets[:0:0]
		for _, t := range tickets {
			switch {
			case t.Unread != "":
				why[t.ID] = backupFailed + t.Unread
				continue
			case !t.Found:
				why[t.ID] = NotShown
			}
			read = append(read, t)
		}
		if len(read) > 0 {
			if err := w.e.cfg.Backup.Keep(s.run, read); err != nil {
				return nil, fmt.Errorf("keep the pre-images of %d tickets: %w", len(read), err)
			}
		}
	}
	return w.holdBack(p.rows, why)
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

// holdBack fails, never sent, the rows whose ticket has a reason in why,
// and returns the others, in order. Their http_status is 0: the read
// that held them back answered 200, and the row was not sent.
func (w *worker) holdBack(rows []Row, why map[string]string) ([]Row, error) {
	if len(why) == 0 {
		return rows, nil
	}
	var keep []Row
	for _, r := range rows {
		msg, ok := why[r.TicketID]
		if !ok {
			keep = append(keep, r)
			continue
		}
		if err := w.emitAll([]Row{r}, Failed, msg, 0, 0); err != nil {
			return nil, err
		}
	}
	return keep, nil
}
