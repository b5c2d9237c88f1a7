// Package syncstate is the state of a nightly reconciliation ("sync"): for
// each ticket, the content of the row last applied to it successfully
// (rowkey.Key.Content: a hash of the exact object sent), and when. A sync
// run compares each ticket's last row in tonight's export with it and
// sends only the tickets whose row differs, whose last attempt failed, or
// that are new.
//
// The state is one bbolt file: pure Go, transactional (a commit is all or
// nothing, whatever happens to the process), and locked against a second
// process for as long as one has it open. It knows nothing of flags, the
// results CSV or the wire.
//
// # What must never happen
//
// The state must never claim that a ticket holds a row it may not hold:
// the next night would then take that ticket as unchanged and never send
// it. A request that left may have been applied whatever became of its
// answer (a kill -9, a timeout, a dropped connection, a reply that did not
// speak of the row). So:
//
//  1. Before a request leaves, every ticket it carries is marked in flight
//     (bucket "inflight"), and that mark is committed: Sending returns only
//     then, and the run's engine sends only after Sending returned. A
//     commit hands its pages to the OS in write calls before it returns, so
//     a kill -9 of the process after it cannot undo it.
//
//  2. A ticket's entry says Applied with a content only once the run has a
//     success for that very row (Outcome). The entry and the removal of the
//     ticket's in-flight mark are committed in one transaction: there is no
//     moment at which the mark is gone and the outcome not recorded. A
//     later row of the ticket sent before that commit is marked again in
//     the same transaction, after the removal.
//
//  3. A failed row, or one whose outcome is unknown, makes its ticket's
//     entry Failed (or Unknown): not a content anyone may compare with, so
//     the ticket is sent again next time though its row is unchanged.
//
//  4. Opening the state for a run first turns every in-flight mark left by
//     a run that died into Unknown, in one transaction, before anything
//     else reads the state. Closing it cleanly does the same for rows sent
//     whose outcome never came (a stop in mid-payload).
//
//  5. A state that cannot be read whole, or whose content is not what its
//     last commit wrote (a damaged file), is refused, never believed nor
//     a crash: see check.go. A run refuses a state of another API than
//     the one it records: its entries speak of that API's tickets.
//
// Hence, after a kill -9 at any instant, a ticket is Applied with content C
// only if the last request that carried a row of it had C and was answered
// with success; every ticket of a request in flight (or answered but not
// yet committed) is sent again next time, and no other. Outcomes are
// committed lazily (Commit, when the run's writer has nothing else to do,
// and always with the next Sending): losing them to a kill only sends
// their tickets again, which the in-flight marks guarantee.
//
// Two tickets never share a row in flight, and one ticket's rows go out one
// at a time in file order, so a ticket has at most one row in flight and
// its outcomes arrive in file order: the last outcome recorded is that of
// its last row sent.
//
// # Cost
//
// Commits are made with NoSync (no fsync): a commit costs write calls of
// the pages it changed, tens of microseconds, where an fsync costs
// milliseconds on a VM and far more with F_FULLFSYNC on macOS. The file is
// fsynced when the state is closed. What a kill -9 cannot undo, a power
// cut or kernel crash in mid-run can: the state's last commits (or, if the
// OS wrote pages out of order, its consistency). That is the same
// trade-off as the results CSV's; see Open for how a state in doubt is
// told apart.
package syncstate

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Status is what the state knows of a ticket.
type Status uint8

const (
	// Applied: the last request that carried a row of the ticket succeeded,
	// and that row's content is the entry's Content.
	Applied Status = 1
	// Failed: the ticket's last row was refused, or could not be
	// delivered; what the ticket holds is not known.
	Failed Status = 2
	// Unknown: a request with a row of the ticket was in flight when a
	// run died, or its outcome never came; it may or may not be applied.
	Unknown Status = 3
)

// String returns the status as the state commands spell it: applied,
// failed or unknown.
func (s Status) String() string {
	switch s {
	case Applied:
		return "applied"
	case Failed:
		return "failed"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Entry is the state of one ticket.
type Entry struct {
	Status Status
	// Content is rowkey.Key.Content of the row last applied successfully
	// to the ticket, and Applied when; 0 and the zero time if none was.
	// Only an Applied entry says the ticket holds it now.
	Content uint64
	Applied time.Time
}

// Unchanged reports whether a row of content content need not be sent to
// a ticket whose entry is e.
func (e Entry) Unchanged(content uint64) bool {
	return e.Status == Applied && e.Content == content
}

// Buckets and meta keys.
var (
	bucketTickets  = []byte("tickets")  // ticket id → entry
	bucketInflight = []byte("inflight") // ticket id → nothing: a request with a row of it may be in flight
	bucketMeta     = []byte("meta")

	metaFormat   = []byte("format")
	metaStarted  = []byte("run_started")  // RFC 3339 of the last run's start
	metaFinished = []byte("run_finished") // of the last run that closed the state cleanly
	metaFull     = []byte("full_finished")
	metaResults  = []byte("run_results") // the last run's results file
	metaDirty    = []byte("open")        // set while a run has the state open
	metaAPI      = []byte("api")         // the API the state belongs to
)

// entrySize is the size of an encoded entry: status, content, applied
// (Unix milliseconds), all big-endian.
const entrySize = 1 + 8 + 8

// fillPercent packs leaves fuller than bbolt's default (half), so that a
// state of a million tickets is about 50 MB rather than 100: most of its
// writes update entries in place (same size), which never split a page.
const fillPercent = 0.9

// maxTicketID bounds a ticket id used as a key: bbolt's limit. The
// reader's bound on a row's object (16 KiB) keeps every valid row under it.
const maxTicketID = bolt.MaxKeySize

// State is an open sync state. Its write methods (Sending, Outcome,
// Commit) are for one goroutine at a time; reads (Get, Scan, Stats) for
// any, but not while that goroutine commits.
type State struct {
	db       *bolt.DB
	path     string
	readOnly bool
	closed   bool
	broken   error // set by guard: the file is damaged, nothing more is read

	// marked holds the tickets whose in-flight mark is committed and not
	// yet cleared by a committed outcome.
	marked  map[string]struct{}
	pending []outcome // outcomes not yet committed, in arrival order
	buf     []byte

	// Recovered counts the tickets a run that died had in flight, turned
	// Unknown by Open; Unclean says that the last run did not close the
	// state (it was killed, or the machine stopped).
	Recovered int
	Unclean   bool
	// API is the API the state belongs to ("" for a state of an older
	// version not yet run); Adopted says that this Open recorded it, the
	// state having none.
	API     string
	Adopted bool
	// Results is the last run's results file, as it was when Open found
	// it (StartRun records this run's).
	Results string
}

// outcome is the result of one row, for Commit.
type outcome struct {
	ticket  string
	content uint64
	ok      bool
	at      time.Time
}

// Path returns the state's file.
func (s *State) Path() string { return s.path }

// encode appends e to b.
func encode(b []byte, e Entry) []byte {
	b = append(b, byte(e.Status))
	b = binary.BigEndian.AppendUint64(b, e.Content)
	var ms int64
	if !e.Applied.IsZero() {
		ms = e.Applied.UnixMilli()
	}
	return binary.BigEndian.AppendUint64(b, uint64(ms))
}

// decode reads an entry; ok is false for a missing or malformed one (the
// zero Entry, which is never Unchanged).
func decode(v []byte) (e Entry, ok bool) {
	if len(v) != entrySize || v[0] < byte(Applied) || v[0] > byte(Unknown) {
		return Entry{}, false
	}
	e.Status = Status(v[0])
	e.Content = binary.BigEndian.Uint64(v[1:])
	if ms := int64(binary.BigEndian.Uint64(v[9:])); ms != 0 {
		e.Applied = time.UnixMilli(ms).UTC()
	}
	return e, true
}

// checkTicket refuses a ticket id that cannot be a key.
func checkTicket(id string) error {
	if id == "" || len(id) > maxTicketID {
		return fmt.Errorf("ticket id of %d bytes: want 1 to %d", len(id), maxTicketID)
	}
	return nil
}

// Sending marks tickets as in flight and returns once that is committed
// (with every outcome recorded so far): only then may the request that
// carries their rows leave. Tickets already marked cost nothing; when all
// are, nothing is written.
func (s *State) Sending(tickets []string) error {
	var fresh []string
	for _, t := range tickets {
		if _, ok := s.marked[t]; !ok {
			if err := checkTicket(t); err != nil {
				return fmt.Errorf("sync state %q: %w", s.path, err)
			}
			fresh = append(fresh, t)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	return s.commit(fresh)
}

// Outcome records the outcome of a row of ticket, whose content is
// content: applied (ok) or not. It is committed by the next Commit or
// Sending; until then the ticket stays marked in flight.
func (s *State) Outcome(ticket string, content uint64, ok bool, at time.Time) {
	s.pending = append(s.pending, outcome{ticket: ticket, content: content, ok: ok, at: at})
	// The commit of this outcome clears the ticket's mark: a next row of
	// the ticket sent before that commit must be marked again after it,
	// in the same transaction.
	delete(s.marked, ticket)
}

// Pending returns the number of outcomes not yet committed.
func (s *State) Pending() int { return len(s.pending) }

// Commit commits the outcomes recorded so far.
func (s *State) Commit() error {
	if len(s.pending) == 0 {
		return nil
	}
	return s.commit(nil)
}

// commit writes the pending outcomes, clearing their tickets' in-flight
// marks, then marks fresh as in flight, in one transaction.
func (s *State) commit(fresh []string) error {
	if s.readOnly || s.closed {
		return fmt.Errorf("sync state %q: not open for a run", s.path)
	}
	// Sorted by ticket (stable: a ticket's outcomes keep their order), so
	// the transaction walks the tree in order.
	slices.SortStableFunc(s.pending, func(a, b outcome) int { return strings.Compare(a.ticket, b.ticket) })
	slices.Sort(fresh)
	// bbolt keeps the values it is given until the commit: one buffer
	// holds them all, never reused within the transaction.
	s.buf = slices.Grow(s.buf[:0], len(s.pending)*entrySize)
	err := s.update(func(tx *bolt.Tx) error {
		w := beginWrite(tx)
		for _, o := range s.pending {
			if err := s.put(w, o); err != nil {
				return err
			}
			if err := w.unmark([]byte(o.ticket)); err != nil {
				return err
			}
		}
		for _, t := range fresh {
			if err := w.mark([]byte(t)); err != nil {
				return err
			}
		}
		return w.end()
	})
	if err != nil {
		return err
	}
	for _, t := range fresh {
		s.marked[t] = struct{}{}
	}
	s.pending = s.pending[:0]
	return nil
}

// put records one outcome in the tickets bucket.
func (s *State) put(w *writeTx, o outcome) error {
	key := []byte(o.ticket)
	old := w.tk.Get(key)
	e, _ := decode(old)
	if o.ok {
		e = Entry{Status: Applied, Content: o.content, Applied: o.at}
	} else {
		e.Status = Failed // keeps the last content applied, for people
	}
	n := len(s.buf)
	s.buf = encode(s.buf, e)
	return w.put(key, old, s.buf[n:len(s.buf):len(s.buf)])
}
