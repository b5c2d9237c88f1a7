package batch

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestServerText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ticket updated", "Ticket updated"},
		{"  Status and Comment have been updated.\n", "Status and Comment have been updated."},
		{"\x1b[31;1mInvalid\x1b[0m sub_status", "Invalid sub_status"},
		{"\x1b[?25l\x1b[2J\x1b[Hcleared", "cleared"},
		{"\x1b]0;pwned\x07title", "title"},
		{"\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ here", "click here"},
		{"\x1bP1$r\x1b\\dcs", "dcs"},
		{"\x1b]0;never terminated", "0;never terminated"},
		{"\u009b31mC1 CSI\u009b0m", "C1 CSI"},
		{"\u009d0;c1 osc\u009cafter", "after"},
		{"\x1bcreset \x1b(Bcharset", "reset charset"},
		{"broken \x1b[31", "broken"},
		{"lone \x1b", "lone"},
		{"a\r\nb\tc\x00d\x7fe\u0085f\u2028g", "a b c d e f g"},
		{"a \n b", "a  b"},
		{"invoice\u202eexe.pdf", "invoiceexe.pdf"},
		{"\u2066isolate\u2069 \u200emark\u200f \u061c", "isolate mark"},
		{"bad \xff\xfe utf-8", "bad \ufffd\ufffd utf-8"},
		{"é देवनागरी क्\u200dष 👍🏽", "é देवनागरी क्\u200dष 👍🏽"},
		{"\x1b[31m", ""},
	}
	for _, tt := range tests {
		if got := serverText(tt.in); got != tt.want {
			t.Errorf("serverText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzServerText: whatever a server sends, what is kept is valid UTF-8
// without a control character, an escape or a bidirectional control, and
// making it safe again changes nothing.
func FuzzServerText(f *testing.F) {
	for _, s := range []string{"\x1b[31mred", "\x1b]0;t\x07x", "a\r\nb", "x\u202ey", "\xc2\x9b1m", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := serverText(in)
		if !utf8.ValidString(got) {
			t.Fatalf("serverText(%q) = %q: invalid UTF-8", in, got)
		}
		if i := strings.IndexFunc(got, func(r rune) bool { return isControl(r) || isBidiFormat(r) }); i >= 0 {
			t.Fatalf("serverText(%q) = %q: keeps %q", in, got, got[i:])
		}
		if again := serverText(got); again != got {
			t.Fatalf("serverText(%q) = %q, and again %q", in, got, again)
		}
	})
}
