package syncstate

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StartRun records that a run begins, writing its results to results.
func (s *State) StartRun(results string, at time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if err := m.Put(metaStarted, stamp(at)); err != nil {
			return err
		}
		return m.Put(metaResults, []byte(results))
	})
	if err != nil {
		return fmt.Errorf("sync state %q: %w", s.path, err)
	}
	return nil
}

// Finish records that the run got every row of its export a result (full:
// it sent every row, refreshing the whole state). Close still has to be
// called.
func (s *State) Finish(full bool, at time.Time) error {
	if err := s.Commit(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if full {
			if err := m.Put(metaFull, stamp(at)); err != nil {
				return err
			}
		}
		return m.Put(metaFinished, stamp(at))
	})
	if err != nil {
		return fmt.Errorf("sync state %q: %w", s.path, err)
	}
	return nil
}

func stamp(t time.Time) []byte { return []byte(t.UTC().Format(time.RFC3339)) }

// Close commits the outcomes recorded, turns tickets still marked in
// flight (their outcome never came) into Unknown, syncs the file to disk
// and closes it, releasing the lock. A second Close returns nil.
func (s *State) Close() error {
	if s.closed {
		return nil
	}
	var errs []error
	if !s.readOnly {
		errs = append(errs, s.Commit())
		err := s.db.Update(func(tx *bolt.Tx) error {
			if _, err := settleInflight(tx); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Delete(metaDirty)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("sync state %q: %w", s.path, err))
		}
		if err := s.db.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync state %q: sync: %w", s.path, err))
		}
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("sync state %q: close: %w", s.path, err))
	}
	return errors.Join(errs...)
}

// Get returns the entry of ticket; found is false when the state has
// none. A ticket a run that died had in flight is Unknown.
func (s *State) Get(ticket string) (e Entry, found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		e, found = decode(tx.Bucket(bucketTickets).Get([]byte(ticket)))
		if tx.Bucket(bucketInflight).Get([]byte(ticket)) != nil {
			e.Status, found = Unknown, true
		}
		return nil
	})
	return e, found, err
}

// Scan calls fn for every ticket of the state, in the order of their ids
// as bytes, until fn returns an error (which Scan returns). A ticket a run
// that died had in flight is Unknown.
func (s *State) Scan(fn func(ticket string, e Entry) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		in := tx.Bucket(bucketInflight)
		c := tx.Bucket(bucketTickets).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			e, _ := decode(v)
			if in.Get(k) != nil {
				e.Status = Unknown
			}
			if err := fn(string(k), e); err != nil {
				return err
			}
		}
		return nil
	})
}

// Stats says what a state holds.
type Stats struct {
	Tickets                  int
	Applied, Failed, Unknown int
	Bytes                    int64 // the file's size
	// When the last run started and when the last one finished cleanly,
	// the last --full run finished; and the last run's results file.
	RunStarted, RunFinished, FullFinished time.Time
	Results                               string
	// Open is set when a run has the state open now, or the last one did
	// not close it (it was killed).
	Open bool
}

// Stats counts the state's tickets by status and reads what it records of
// its runs.
func (s *State) Stats() (Stats, error) {
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		st.Bytes = tx.Size()
		m := tx.Bucket(bucketMeta)
		st.RunStarted, st.RunFinished, st.FullFinished = when(m.Get(metaStarted)), when(m.Get(metaFinished)), when(m.Get(metaFull))
		st.Results = string(m.Get(metaResults))
		st.Open = m.Get(metaDirty) != nil
		return nil
	})
	if err != nil {
		return st, err
	}
	err = s.Scan(func(_ string, e Entry) error {
		st.Tickets++
		switch e.Status {
		case Applied:
			st.Applied++
		case Failed:
			st.Failed++
		default:
			st.Unknown++
		}
		return nil
	})
	return st, err
}

func when(b []byte) time.Time {
	t, _ := time.Parse(time.RFC3339, string(b))
	return t
}
