package run

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// readSide is what a run keeps of what Kapture holds: the pre-image of
// every ticket before its first row is sent (Config.Backup), and the
// key-name pairs the API's replies show, kept beside the results for the
// commands that translate names (verify, undo).
type readSide struct {
	book   *names.Book
	backup *snapshot.Writer // nil without Config.Backup
	hook   *snapshot.Backup // the engine's backup hook over backup
	api    string
}

// openReadSide readies the read side of a run that sends, and hooks it
// into the engine's configuration: the replies' tickets teach the book,
// and with a backup every ticket is read before its first row leaves. It
// refuses a backup snapshot of another API, or a file that is no
// snapshot, before anything is sent.
func (r *runner) openReadSide(ecfg *batch.Config) (*readSide, error) {
	api, err := batch.APIRoot(*ecfg)
	if err != nil {
		return nil, err
	}
	if r.cfg.Mode == writer.Resume {
		if err := checkPairsFile(r.cfg.Results, api); err != nil {
			return nil, err
		}
	}
	rs := &readSide{book: r.cfg.Names, api: api}
	if rs.book == nil {
		rs.book = names.NewBook()
	}
	ecfg.Observe = rs.book.LearnTicket
	if r.cfg.Backup != "" {
		if rs.backup, err = snapshot.Open(r.cfg.Backup, api); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		rs.hook = &snapshot.Backup{W: rs.backup, Book: rs.book}
		ecfg.Backup = rs.hook
	}
	return rs, nil
}

// close saves the pairs the replies showed beside the results file (when
// the run opened one), says once which keys the replies named otherwise
// than before, and closes the backup.
func (rs *readSide) close(r *runner) error {
	if rs == nil {
		return nil
	}
	var err error
	if r.stats.resultsOpen.Load() && rs.book.Learned() > 0 {
		path := names.ResultsPath(r.cfg.Results)
		if serr := rs.book.Save(path, rs.api); serr != nil {
			err = fmt.Errorf("keep the key-name pairs the replies showed in %s: %w", path, serr)
		}
	}
	for _, k := range rs.book.Full() {
		r.log.Warn("the API's replies showed more keys of a kind than any tenant has: the pairs past the limit were not kept, so a read showing one of their names is not resolved",
			"kind", string(k), "limit", names.MaxKeys)
	}
	for _, rn := range rs.book.Renamed() {
		r.log.Warn("the API's replies name a key otherwise than before (the newer name is kept)",
			"kind", string(rn.Kind), "key", rn.Key, "was", rn.Old, "now", rn.New)
	}
	if rs.backup != nil {
		if n := rs.hook.Older(); n > 0 {
			r.stats.backupOlder.Store(int64(n))
			r.log.Info("pre-images taken before this run are kept in the backup: the tickets are not read again, and undo restores what they held then",
				"backup", r.cfg.Backup, "tickets", n)
		}
		if n := rs.hook.Missing(); n > 0 {
			r.stats.backupMissing.Store(int64(n))
			r.log.Warn("tickets changed by an earlier run have no pre-image in the backup: the earlier run's backup has theirs, if it had one (they were not read: the read would be the job's own change; undo lists them)",
				"backup", r.cfg.Backup, "tickets", n)
		}
		err = errors.Join(err, rs.backup.Close())
	}
	return err
}

// markChanged gives a resume's backup the tickets the runs it goes on
// from may have changed (st, read from the results file): one the backup
// holds no pre-image of (the earlier runs had another backup, or none) is
// not read, for the read would be the job's own change (F20).
func (rs *readSide) markChanged(st *resume.State, results string) error {
	if rs == nil || rs.hook == nil || st == nil {
		return nil
	}
	changed, err := changedTickets(st, results)
	rs.hook.Changed = changed
	return err
}

// changedTickets returns the tickets (rowkey.TicketHash) the results file
// at path, read as st, records as changed (resume.State.Changed).
func changedTickets(st *resume.State, path string) (map[uint64]struct{}, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the results' messages: %w", err)
	}
	defer f.Close()
	changed := map[uint64]struct{}{}
	err = st.Changed(writer.NewMessages(f), func(ticket uint64, _ resume.Result) { changed[ticket] = struct{}{} })
	if err != nil {
		return nil, fmt.Errorf("read the results' messages: %w", err)
	}
	return changed, nil
}

// checkBackupFresh refuses, before anything is sent, a run that is not a
// resume (or a resume of no results yet) whose backup holds pre-images
// of tickets of its input: a ticket
// keeps its first pre-image, so the backup would hold what the ticket held
// before an earlier job, and undo would put that back. A resume goes on
// with its backup; a sync night cannot resume, and a stopped night run
// again is a continuation (see close: it says how many tickets kept an
// older pre-image). The input's valid rows within the limit are read once
// more; stdin cannot be, so a backup holding any ticket is refused.
func (r *runner) checkBackupFresh(rs *readSide) error {
	if rs == nil || rs.backup == nil || r.cfg.Sync.State != "" || rs.backup.Len() == 0 {
		return nil
	}
	if r.cfg.Mode == writer.Resume && !noResults(r.cfg.Results) {
		return nil
	}
	way := "a backup is one job's: move it aside or name a new file; --resume goes on with it"
	if r.cfg.Mode == writer.Resume {
		way = "a backup is one job's, and " + r.cfg.Results + " records no earlier run of this one: move the backup aside or name a new file"
	}
	if r.fromStdin {
		return refuse(fmt.Errorf("backup %s already holds the pre-images of %s, and a run from stdin cannot tell whether they are of this job: %s",
			r.cfg.Backup, plural.Of(rs.backup.Len(), "ticket", "tickets"), way))
	}
	n, _, err := r.inputTickets(r.cfg.Limit, rs.backup.Has)
	if err != nil || n == 0 {
		return err
	}
	return refuse(fmt.Errorf("backup %s already holds the pre-images of %d of this job's tickets, taken before this run: %s",
		r.cfg.Backup, n, way))
}

// noResults reports whether the results file at path is missing or
// empty: a --resume of it starts a job (the flag given every time, as a
// scheduled job does) and goes on with no earlier run's backup.
func noResults(path string) bool {
	fi, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() == 0
}

// inputTickets counts the distinct tickets of the input's valid rows,
// within limit (0: all), that has holds, and gives the first one's id.
func (r *runner) inputTickets(limit int, has func(ticketID string) bool) (n int, first string, err error) {
	fh, err := openFile(r.cfg.Input)
	if err != nil {
		return 0, "", err
	}
	defer fh.Close()
	rd, err := reader.Open(fh, r.cfg.Reader)
	if err != nil {
		return 0, "", refuse(err)
	}
	seen := map[uint64]struct{}{}
	for n := 0; limit == 0 || n < limit; n++ {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, "", refuse(err)
		}
		if rec.Invalid != "" || !has(rec.TicketID) {
			continue
		}
		if first == "" {
			first = rec.TicketID
		}
		seen[rowkey.TicketHash(rec.TicketID)] = struct{}{}
	}
	return len(seen), first, nil
}

// checkPairsFile refuses, before anything is sent, a run whose results
// file has beside it a file of key-name pairs that the run could not
// merge its own into at the end: one that is no names file, or one of
// another API.
func checkPairsFile(results, api string) error {
	if results == "" {
		return nil
	}
	path := names.ResultsPath(results)
	got, err := names.APIOf(path)
	switch {
	case err != nil:
		return fmt.Errorf("the key-name pairs beside the results: %w", err)
	case got != "" && got != api:
		return fmt.Errorf("results file %q %w: %s (%s says so), not %s", results, writer.ErrOtherAPI, got, path, api)
	}
	return nil
}
