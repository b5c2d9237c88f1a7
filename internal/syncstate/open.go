package syncstate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors of Open.
var (
	// ErrNotState: the file exists and is not a sync state.
	ErrNotState = errors.New("not a kapture-bulk sync state")
	// ErrLockedState: another process has the state open.
	ErrLockedState = errors.New("in use by another run (locked)")
)

// APIError refuses a state opened for a run with an API other than the
// one it belongs to: what it says tickets hold, they hold at that API.
type APIError struct {
	Path string
	// State is the API the state belongs to, Run the run's.
	State, Run string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("sync state %q belongs to the API %s, not %s: it says what that API's tickets hold", e.Path, e.State, e.Run)
}

// Options say how to open a state.
type Options struct {
	// ReadOnly opens an existing state for a look: it shares the lock with
	// other readers, and fails with ErrLockedState while a run has it.
	ReadOnly bool
	// API names the API a run sends to, as the caller normalises it. A
	// new state records it; a state of another API is refused with an
	// *APIError; a state that records none (made by an older version)
	// records it. Not used with ReadOnly.
	API string
}

// lockWait is how long Open waits for another process's lock: not at all
// (bbolt's wait is a poll; any positive value under its 50 ms step fails at
// the first try).
const lockWait = time.Nanosecond

// Open opens (for a run, creating it if it does not exist) the state at
// path. It fails at once with an error wrapping ErrLockedState when
// another process has it open, with ErrNotState for a file that is not a
// state, with ErrDamaged for a state that cannot be read whole or whose
// content is not what its last commit wrote (Open reads all of it), and
// for a run with an *APIError for a state of another API. Opened for a
// run, it then settles what a run that died left in flight (see the
// package doc): Recovered says how many tickets.
func Open(path string, opts Options) (*State, error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return nil, fmt.Errorf("sync state %q: not a regular file", path)
	case err != nil && opts.ReadOnly:
		return nil, fmt.Errorf("sync state: %w", err)
	case err == nil && fi.Size() > 0:
		if err := precheck(path); err != nil {
			return nil, err
		}
	}
	db, err := openDB(path, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	s := &State{db: db, path: path, readOnly: opts.ReadOnly, marked: map[string]struct{}{}}
	if err := s.start(opts.API); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// precheck checks what bbolt reads as it opens the file at path for
// writing (checkFile), under a reader's lock: a run writing the file
// would make a torn read.
func precheck(path string) error {
	ro, err := openDB(path, true)
	switch {
	case errors.Is(err, ErrLockedState):
		return err
	case err != nil:
		if cerr := checkPath(path); cerr != nil {
			return cerr // a file cut short is damaged, not "too small"
		}
		return err
	}
	defer ro.Close()
	return checkPath(path)
}

// openDB opens the bbolt file at path, under guard (bbolt reads the free
// list of a file it opens for writing), and says what its errors mean.
func openDB(path string, readOnly bool) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("sync state %q: %w: %v", path, ErrDamaged, r)
		}
	}()
	db, err = bolt.Open(path, 0o644, &bolt.Options{
		Timeout: lockWait, ReadOnly: readOnly, NoSync: true,
		FreelistType: bolt.FreelistMapType,
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("sync state %q: %w", path, ErrLockedState)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("sync state %q: %w (%v)", path, ErrNotState, err)
	case errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("sync state %q: %w: %v", path, ErrDamaged, err)
	}
	return nil, fmt.Errorf("sync state: %w", err)
}

// Formats: format is written into a new state; a state of formatV1 (no
// digest, no API) is read, and a run brings it to format.
const (
	format   = "kapture-bulk sync state 2"
	formatV1 = "kapture-bulk sync state 1"
)

// start checks the state (see verify) and, for a run, its API; it writes
// what a new state or one of formatV1 lacks and turns left-over in-flight
// marks into Unknown entries.
func (s *State) start(api string) error {
	err := s.guard(func() error {
		if s.readOnly {
			return s.db.View(func(tx *bolt.Tx) error {
				if _, err := verify(tx); err != nil {
					return err
				}
				s.API = string(tx.Bucket(bucketMeta).Get(metaAPI))
				return nil
			})
		}
		return s.db.Update(func(tx *bolt.Tx) error { return s.startRun(tx, api) })
	})
	var apiErr *APIError
	if err == nil || err == s.broken || errors.As(err, &apiErr) {
		return err // they name the state
	}
	return fmt.Errorf("sync state %q: %w", s.path, err)
}

// checkFormat refuses a file whose meta bucket does not say it is a state
// this version reads.
func checkFormat(tx *bolt.Tx) error {
	m := tx.Bucket(bucketMeta)
	if m == nil {
		return ErrNotState
	}
	switch f := m.Get(metaFormat); {
	case string(f) == format, string(f) == formatV1:
		return nil
	case bytes.HasPrefix(f, []byte("kapture-bulk sync state ")):
		return fmt.Errorf("%w of this version (%.40q)", ErrNotState, f)
	case tx.Bucket(bucketTickets) != nil:
		return fmt.Errorf("%w: its format is %.40q", ErrDamaged, f)
	}
	return ErrNotState
}

// startRun is start's transaction for a run.
func (s *State) startRun(tx *bolt.Tx, api string) error {
	m := tx.Bucket(bucketMeta)
	isNew := m == nil && tx.Bucket(bucketTickets) == nil
	if isNew {
		var err error
		if m, err = tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
		if err := m.Put(metaFormat, []byte(format)); err != nil {
			return err
		}
	}
	sum, err := verify(tx)
	if err != nil {
		return err
	}
	switch rec := m.Get(metaAPI); {
	case api == "": // not told: neither checked nor recorded
		s.API = string(rec)
	case rec == nil:
		if err := m.Put(metaAPI, []byte(api)); err != nil {
			return err
		}
		sum += pairHash(tagMeta, metaAPI, []byte(api))
		s.API, s.Adopted = api, !isNew
	case string(rec) != api:
		return &APIError{Path: s.path, State: string(rec), Run: api}
	default:
		s.API = api
	}
	for _, b := range [][]byte{bucketTickets, bucketInflight} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	if m.Get(metaDigest) == nil || s.Adopted { // a new state, or one of formatV1
		if err := m.Put(metaDigest, binary.BigEndian.AppendUint64(nil, sum)); err != nil {
			return err
		}
	}
	if err := m.Put(metaFormat, []byte(format)); err != nil {
		return err
	}
	s.Unclean = m.Get(metaDirty) != nil
	s.Results = string(m.Get(metaResults))
	w := beginWrite(tx)
	if s.Recovered, err = settleInflight(w); err != nil {
		return err
	}
	if err := w.end(); err != nil {
		return err
	}
	return m.Put(metaDirty, []byte{1})
}

// settleInflight turns every ticket marked in flight into Unknown and
// clears the marks; it returns how many there were.
func settleInflight(w *writeTx) (int, error) {
	var ids [][]byte
	err := w.in.ForEach(func(k, _ []byte) error {
		ids = append(ids, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		old := w.tk.Get(id)
		e, _ := decode(old)
		e.Status = Unknown
		if err := w.put(id, old, encode(nil, e)); err != nil {
			return 0, err
		}
		if err := w.unmark(id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
