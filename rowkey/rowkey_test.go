package rowkey

import (
	"errors"
	"slices"
	"testing"
)

func TestStringParseRoundTrip(t *testing.T) {
	for _, k := range []Key{
		New("713516551148", []byte(`{"ticket_id":"713516551148"}`)),
		{Content: 1, Ticket: 2, Occurrence: 3},
		{Content: ^uint64(0), Ticket: ^uint64(0), Occurrence: 1<<32 - 1},
		{Content: 0x0123456789abcdef}, // legacy
	} {
		s := k.String()
		got, err := Parse(s)
		if err != nil || got != k {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, k)
		}
		if !k.Legacy() && s[0] != 'k' {
			t.Errorf("%q does not start with a letter: a spreadsheet could take it for a number", s)
		}
	}
}

func TestSpelling(t *testing.T) {
	k := Key{Content: 0x3f9a0c1d2e4b5a6c, Ticket: 0x71a2b3c4d5e6f708}
	if got, want := k.String(), "k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	k.Occurrence = 2
	if got, want := k.String(), "k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708.2"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{
		"", "5.46614E+15", "3F9A0C1D2E4B5A6C", "3f9a0c1d2e4b5a6", "3f9a0c1d2e4b5a6cc",
		"k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f70", "k3f9a0c1d2e4b5a6c-71a2b3c4d5e6f708",
		"k3f9a0c1d2e4b5a6c.0000000000000000", // no ticket hash is 0
		"k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708.", "k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708.0",
		"k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708.02", "k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708.4294967296",
		"k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708.x", "x3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708",
		// Bytes next to the hex digits, and one with the high bit set.
		"k3f9a0c1d2e4b5a6g.71a2b3c4d5e6f708", "k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f70/",
		"k:f9a0c1d2e4b5a6c.71a2b3c4d5e6f708", "k`f9a0c1d2e4b5a6c.71a2b3c4d5e6f708",
		"k\xe3f9a0c1d2e4b5a6.71a2b3c4d5e6f708", "3f9a0c1d2e4b5a6G",
	} {
		if k, err := Parse(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, %v; want ErrSyntax", s, k, err)
		}
	}
}

func TestNewCoversTicketAndContent(t *testing.T) {
	a := New("1", []byte("x"))
	if b := New("2", []byte("x")); b.Ticket == a.Ticket || b.Content != a.Content {
		t.Errorf("same object, other ticket: %v and %v", a, b)
	}
	if c := New("1", []byte("y")); c.Ticket != a.Ticket || c.Content == a.Content {
		t.Errorf("same ticket, other object: %v and %v", a, c)
	}
	if a.Legacy() {
		t.Error("a new key is legacy")
	}
}

func TestIDTellsOccurrencesApart(t *testing.T) {
	k := New("1", []byte("x"))
	seen := map[uint64]bool{}
	for occ := range uint32(1000) {
		k.Occurrence = occ
		if seen[k.ID()] {
			t.Fatalf("occurrence %d has the ID of an earlier one", occ)
		}
		seen[k.ID()] = true
	}
}

// keyOf is a key of ticket t sending content c.
func keyOf(t, c uint64) Key { return Key{Content: c*1000 + t, Ticket: t} }

func TestCounter(t *testing.T) {
	c := NewCounter()
	var occ []uint32
	var rep []bool
	for _, tc := range [][2]uint64{{1, 1}, {2, 1}, {1, 1}, {1, 2}, {1, 1}, {3, 1}, {2, 1}} {
		n, r := c.Next(keyOf(tc[0], tc[1]))
		occ, rep = append(occ, n), append(rep, r)
	}
	if want := []uint32{0, 0, 1, 0, 2, 0, 1}; !slices.Equal(occ, want) {
		t.Errorf("occurrences %v, want %v", occ, want)
	}
	if want := []bool{false, false, true, true, true, false, true}; !slices.Equal(rep, want) {
		t.Errorf("repeats %v, want %v", rep, want)
	}
}

// TestCounterHasNoWindow: a repeat is numbered as one however many
// tickets came between, and the same sequence numbers alike.
func TestCounterHasNoWindow(t *testing.T) {
	play := func() []uint32 {
		c := NewCounter()
		var got []uint32
		n, _ := c.Next(keyOf(1, 9))
		got = append(got, n)
		for i := range uint64(200000) {
			c.Next(keyOf(100+i, 1))
		}
		n, rep := c.Next(keyOf(1, 9))
		if !rep {
			t.Error("a ticket 200,000 tickets back is taken for new")
		}
		return append(got, n)
	}
	got := play()
	if want := []uint32{0, 1}; !slices.Equal(got, want) {
		t.Errorf("occurrences %v, want %v", got, want)
	}
	if again := play(); !slices.Equal(again, got) {
		t.Errorf("second read numbered %v, first %v", again, got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708.2")
	f.Add("3f9a0c1d2e4b5a6c")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		if err != nil {
			return
		}
		if got := k.String(); got != s {
			t.Errorf("Parse(%q) then String = %q: a key has two spellings", s, got)
		}
	})
}
