package run

import (
	"errors"
	"fmt"
	"os"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// checkOverwriteChanged refuses, before anything is sent, an --overwrite
// run with a backup whose results file records changes (a success, a row
// not applied, an outcome unknown: resume.State.Changed) to tickets of its
// input: what such a ticket holds now is that run's change, not a
// pre-image, and the evidence of it goes with the file the run truncates
// (break-test 3, B6: a canary run again afresh backed up its own change,
// and undo "restored" it). The earlier run's backup holds their
// pre-images; --resume goes on with it. The whole input is read once
// more, whatever the limit (a resume past it would read the rest); stdin
// cannot be, so a file recording any change is refused.
func (r *runner) checkOverwriteChanged(rs *readSide) error {
	if rs == nil || rs.backup == nil || r.cfg.Mode != writer.Overwrite || r.cfg.Sync.State != "" {
		return nil
	}
	if fi, err := os.Stat(r.cfg.Results); err != nil || fi.Size() == 0 {
		return nil // nothing recorded; Open says what else is wrong
	}
	st, _, err := resume.Peek(r.cfg.Results)
	if errors.Is(err, writer.ErrNotResults) {
		return nil // no results file: Open refuses it, in its words
	}
	if err != nil {
		return refuse(err)
	}
	changed, err := changedTickets(st, r.cfg.Results)
	if err != nil || len(changed) == 0 {
		return refuse(err)
	}
	const why = "their pre-images are in the backup of that run; --resume goes on with it"
	if r.fromStdin {
		return refuse(fmt.Errorf("results %s records changes to %s, and a run from stdin cannot tell whether they are of this input: %s",
			r.cfg.Results, plural.Of(len(changed), "ticket", "tickets"), why))
	}
	n, example, err := r.inputTickets(0, func(id string) bool {
		_, ok := changed[rowkey.TicketHash(id)]
		return ok
	})
	if err != nil || n == 0 {
		return err
	}
	return refuse(fmt.Errorf("results %s records changes to %d of these tickets (e.g. %s): %s",
		r.cfg.Results, n, example, why))
}
