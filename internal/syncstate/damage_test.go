package syncstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	bolt "go.etcd.io/bbolt"
)

const testAPI = "https://acme.kapturecrm.com"

// damageSource makes a state of a few thousand tickets, applied, failed
// and left in flight by a killed run, and returns its bytes and what it
// holds (as a run opening it sees it).
func damageSource(t *testing.T) ([]byte, map[string]Entry) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src.state")
	s, err := Open(path, Options{API: testAPI})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 1500)
	for i := range ids {
		ids[i] = fmt.Sprintf("7135%08d", i*7)
	}
	for i := 0; i < len(ids); i += 100 {
		s.Sending(ids[i : i+100])
		for j, id := range ids[i : i+100] {
			s.Outcome(id, uint64(i+j+1), (i+j)%17 != 0, at)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	s.Sending(ids[40:90]) // killed with these in flight
	s.Outcome(ids[45], 99, true, at)
	s.Commit()
	kill(t, s)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, path) // settles the marks, as a run would
	held := map[string]Entry{}
	if err := s.Scan(func(id string, e Entry) error { held[id] = e; return nil }); err != nil {
		t.Fatal(err)
	}
	return b, held
}

// damage changes b as seed says: a cut, bytes changed at random offsets,
// a page zeroed, or a meta page's byte changed.
func damage(b []byte, seed uint64) ([]byte, string) {
	r := rand.New(rand.NewPCG(seed, 7))
	b = append([]byte(nil), b...)
	const page = 4096
	switch kind := seed % 4; kind {
	case 0:
		n := r.IntN(len(b))
		return b[:n], fmt.Sprintf("cut to %d bytes", n)
	case 1:
		what := "flipped"
		for range 1 + r.IntN(4) {
			o := r.IntN(len(b))
			b[o] ^= byte(1 + r.IntN(255))
			what += fmt.Sprintf(" %d", o)
		}
		return b, what
	case 2:
		p := r.IntN(len(b) / page)
		clear(b[p*page : (p+1)*page])
		return b, fmt.Sprintf("page %d zeroed", p)
	default:
		o := r.IntN(2)*page + r.IntN(16+64)
		b[o] ^= byte(1 + r.IntN(255))
		return b, fmt.Sprintf("meta byte %d flipped", o)
	}
}

// TestDamagedStates: a state damaged in any of hundreds of ways is
// refused (ErrDamaged, ErrNotState) by a run and by a look, without a
// panic or a fault; or, where the damage is in bytes nothing reads, it
// reads as what it held. Never does a damaged state make a ticket
// Unchanged with a content it did not hold applied.
func TestDamagedStates(t *testing.T) {
	src, held := damageSource(t)
	dir := t.TempDir()
	refused := 0
	for seed := range uint64(300) {
		b, what := damage(src, seed)
		path := filepath.Join(dir, fmt.Sprintf("s%d.state", seed))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, ro := range []bool{true, false} {
			n, err := readDamaged(path, ro, held)
			switch {
			case err == nil:
			case errors.Is(err, ErrDamaged), errors.Is(err, ErrNotState):
				refused++
			default:
				t.Errorf("seed %d (%s, read-only %v): %v; want it refused as damaged", seed, what, ro, err)
			}
			if n > 0 {
				t.Errorf("seed %d (%s, read-only %v): %d tickets read as applied with a content the state did not hold", seed, what, ro, n)
			}
		}
	}
	t.Logf("%d of 600 opens refused", refused)
}

// readDamaged opens the state at path and reads all of it as a run and
// the state commands do; it returns how many tickets it read as Applied
// with a content held does not have them applied with.
func readDamaged(path string, ro bool, held map[string]Entry) (wrong int, err error) {
	s, err := Open(path, Options{ReadOnly: ro, API: testAPI})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	ok := func(id string, content uint64) bool {
		h := held[id]
		return h.Status == Applied && h.Content == content
	}
	err = s.Scan(func(id string, e Entry) error {
		if e.Status == Applied && !ok(id, e.Content) {
			wrong++
		}
		return nil
	})
	if _, serr := s.Stats(); err == nil {
		err = serr
	}
	if ro || err != nil {
		return wrong, err
	}
	p := NewPlanner()
	for id, e := range held {
		p.Add(id, rowkey.Key{Ticket: rowkey.TicketHash(id), Content: e.Content})
	}
	pl, err := s.Plan(p)
	if err != nil {
		return wrong, err
	}
	for id, e := range held {
		k := rowkey.Key{Ticket: rowkey.TicketHash(id), Content: e.Content}
		if pl.Decide(id, k) == Unchanged && !ok(id, e.Content) {
			wrong++
		}
	}
	s.Sending([]string{"713500000000"})
	s.Outcome("713500000000", 1, true, at)
	return wrong, errors.Join(s.Commit(), s.Close())
}

// TestDamageCaughtByDigest: bytes changed inside an entry, which bbolt's
// page checks do not see, refuse the state.
func TestDamageCaughtByDigest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.state")
	s := open(t, path)
	s.Sending([]string{"7"})
	s.Outcome("7", 1, false, at)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The entry's status byte, Failed, made Applied behind bbolt's back.
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		v := append([]byte(nil), tx.Bucket(bucketTickets).Get([]byte("7"))...)
		v[0] = byte(Applied)
		return tx.Bucket(bucketTickets).Put([]byte("7"), v)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{true, false} {
		if _, err := Open(path, Options{ReadOnly: ro}); !errors.Is(err, ErrDamaged) {
			t.Errorf("read-only %v: %v, want ErrDamaged", ro, err)
		}
	}
}

// TestNewerMetaDamaged: a state whose newer meta page is damaged is
// refused, where bbolt alone would open it as of the commit before: one
// that may not know of a request in flight.
func TestNewerMetaDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.state")
	s := open(t, path)
	s.Sending([]string{"7"})
	s.Outcome("7", 1, true, at)
	s.Commit()
	s.Sending([]string{"7"}) // the next row of 7 leaves
	kill(t, s)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page, txidAt = 4096, 16 + 48
	newer := 0
	if binary.NativeEndian.Uint64(b[page+txidAt:]) > binary.NativeEndian.Uint64(b[txidAt:]) {
		newer = 1
	}
	b[newer*page+txidAt+8] ^= 0xff // its checksum
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrDamaged) {
		t.Errorf("%v, want ErrDamaged", err)
	}
}
