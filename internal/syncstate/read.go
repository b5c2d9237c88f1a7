package syncstate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StartRun records that a run begins, writing its results to results.
func (s *State) StartRun(results string, at time.Time) error {
	return s.update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if err := m.Put(metaStarted, stamp(at)); err != nil {
			return err
		}
		return m.Put(metaResults, []byte(results))
	})
}

// update runs fn in a read-write transaction under guard.
func (s *State) update(fn func(tx *bolt.Tx) error) error {
	err := s.guard(func() error { return s.db.Update(fn) })
	if err != nil && err != s.broken {
		err = fmt.Errorf("sync state %q: %w", s.path, err)
	}
	return err
}

// view runs fn in a read-only transaction under guard.
func (s *State) view(fn func(tx *bolt.Tx) error) error {
	return s.guard(func() error { return s.db.View(fn) })
}

// Finish records that the run got every row of its export a result (full:
// it sent every row, refreshing the whole state). Close still has to be
// called.
func (s *State) Finish(full bool, at time.Time) error {
	if err := s.Commit(); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if full {
			if err := m.Put(metaFull, stamp(at)); err != nil {
				return err
			}
		}
		return m.Put(metaFinished, stamp(at))
	})
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
	if !s.readOnly && s.broken == nil {
		errs = append(errs, s.Commit())
		errs = append(errs, s.update(func(tx *bolt.Tx) error {
			w := beginWrite(tx)
			if _, err := settleInflight(w); err != nil {
				return err
			}
			if err := w.end(); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Delete(metaDirty)
		}))
		if err := s.db.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync state %q: sync: %w", s.path, err))
		}
		if errors.Join(errs...) == nil {
			s.compact()
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
	err = s.view(func(tx *bolt.Tx) error {
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
	return s.view(func(tx *bolt.Tx) error {
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
	// API is the API the state belongs to; "" until a run of this
	// version records it.
	API string
	// Open is set when a run has the state open now, or the last one did
	// not close it (it was killed).
	Open bool
}

// Stats counts the state's tickets by status and reads what it records of
// its runs.
func (s *State) Stats() (Stats, error) {
	var st Stats
	st.API = s.API
	err := s.view(func(tx *bolt.Tx) error {
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

// Compaction. Tickets written over many small commits (a first night, a
// --full) leave the tree's pages half empty: a state of a million tickets
// takes 100 MB where 45 MB hold data, and a run reads every page to plan.
// Updates of existing tickets keep their size and never split a page, so
// once packed, a state stays packed.
const (
	compactBelow = 0.6     // compact when less of the leaves is in use
	compactOver  = 4 << 20 // and they take more than this
	compactTx    = 4 << 20 // bytes per transaction of the copy: bounds its memory
)

// CompactPath is where the state at path is copied when it is compacted:
// beside it, a file a run writes too.
func CompactPath(path string) string { return path + ".compact" }

// compact rewrites a sparse state into a packed copy and puts the copy in
// its place, while the state is still open and locked (so no other run
// can have opened the file being replaced). It is best effort: on any
// failure (on Windows, a file open cannot be replaced) the state stays as
// it is, whole.
func (s *State) compact() {
	var inuse, alloc int
	s.view(func(tx *bolt.Tx) error {
		st := tx.Bucket(bucketTickets).Stats()
		inuse, alloc = st.LeafInuse, st.LeafAlloc
		return nil
	})
	if alloc < compactOver || float64(inuse) >= compactBelow*float64(alloc) {
		return
	}
	tmp := CompactPath(s.path)
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o644, &bolt.Options{Timeout: lockWait, NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return
	}
	err = s.guard(func() error { return bolt.Compact(dst, s.db, compactTx) })
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		os.Remove(tmp)
		return
	}
	syncDir(filepath.Dir(s.path))
}

// syncDir makes a rename in dir durable where the OS allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
