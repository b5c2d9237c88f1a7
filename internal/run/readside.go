package run

import (
	"errors"
	"fmt"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// readSide is what a run keeps of what Kapture holds: the pre-image of
// every ticket before its first row is sent (Config.Backup), and the
// key-name pairs the API's replies show, kept beside the results for the
// commands that translate names (verify, undo).
type readSide struct {
	book   *names.Book
	backup *snapshot.Writer // nil without Config.Backup
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
		ecfg.Backup = &snapshot.Backup{W: rs.backup, Book: rs.book}
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
	for _, rn := range rs.book.Renamed() {
		r.log.Warn("the API's replies name a key otherwise than before (the newer name is kept)",
			"kind", string(rn.Kind), "key", rn.Key, "was", rn.Old, "now", rn.New)
	}
	if rs.backup != nil {
		err = errors.Join(err, rs.backup.Close())
	}
	return err
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
