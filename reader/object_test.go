package reader

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "\x00\x1f\x7f", "é ü 日本", "\u2028\u2029", "\xff\xfe bad", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, b, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = string([]rune(s)) // invalid bytes become U+FFFD, as encoding/json does
		}
		if got != want {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
	})
}

// TestJSONLenIsWhatIsWritten: the limit's count of a value is the length
// appendString writes, whatever the value holds.
func TestJSONLenIsWhatIsWritten(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "\x00\x1f\x7f\t\n\r", "é ü 日本 🙂", "\u2028\u2029", "\xff\xfe bad \xe2\x80", "<>&"} {
		if got, want := jsonLen(s), len(appendString(nil, s))-2; got != want {
			t.Errorf("jsonLen(%q) = %d, appendString writes %d", s, got, want)
		}
	}
}
