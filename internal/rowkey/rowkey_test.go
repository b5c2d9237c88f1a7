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

func TestCounter(t *testing.T) {
	c := NewCounter(0)
	var got []uint32
	for _, content := range []uint64{1, 2, 1, 1, 3, 2} {
		got = append(got, c.Next(content))
	}
	if want := []uint32{0, 0, 1, 2, 0, 1}; !equal(got, want) {
		t.Errorf("occurrences %v, want %v", got, want)
	}
}

// TestCounterWindow: a repeat within the window is counted across a change
// of generation; one further back than the window starts again at 0.
func TestCounterWindow(t *testing.T) {
	c := NewCounter(4) // generations of 2
	seq := []uint64{1, 2, 3, 1, 4, 5, 6, 7, 1}
	var got []uint32
	for _, content := range seq {
		got = append(got, c.Next(content))
	}
	if want := []uint32{0, 0, 0, 1, 0, 0, 0, 0, 0}; !equal(got, want) {
		t.Errorf("occurrences %v, want %v", got, want)
	}
	// The same sequence numbers alike: a resume reads the input again.
	c2 := NewCounter(4)
	for i, content := range seq {
		if n := c2.Next(content); n != got[i] {
			t.Fatalf("second read, row %d: %d, want %d", i, n, got[i])
		}
	}
}

func equal(a, b []uint32) bool { return slices.Equal(a, b) }
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
