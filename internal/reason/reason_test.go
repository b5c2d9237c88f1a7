package reason

import (
	"fmt"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"No ticket found for ticket_id 999900000123", "No ticket found for ticket_id <id>"},
		{"No ticket found for ticket_id 713516551148", "No ticket found for ticket_id <id>"},
		{"Status and Comment have been updated.", "Status and Comment have been updated."},
		{`ticket_id "7.13517E+11" looks like a number Excel rewrote in scientific notation`, "ticket_id <value> looks like a number Excel rewrote in scientific notation"},
		{`ticket_id "say \"hi\"" is not a ticket id`, "ticket_id <value> is not a ticket id"},
		{"line 12 has 5 fields but the header has 6", "line <n> has <n> fields but the header has <n>"},
		{"gave up after 6 attempts: HTTP 503", "gave up after <n> attempts: HTTP 503"},
		{"HTTP 401: Invalid Auth Key", "HTTP 401: Invalid Auth Key"},
		// An encoding's name is advice, not a value (break-test 3, B11).
		{"not UTF-8 at byte 12: read it with --encoding windows-1252", "not UTF-8 at byte <n>: read it with --encoding windows-1252"},
		{"ISO-8859-15 or utf-16, xwindows-1252, windows-1252x", "ISO-8859-15 or utf-16, xwindows-<n>, windows-<n>x"},
		{"unreadable reply (http 200): <html>", "unreadable reply (http 200): <html>"},
		{"HTTP 4010 and HTTP 600 and HTTP 503.5 and XHTTP 503 and HTTP  503", "HTTP <n> and HTTP <n> and HTTP <n> and XHTTP <n> and HTTP <n>"},
		{"Invalid value 'XYZ' for sub_status", "Invalid value <value> for sub_status"},
		{"can't find the tickets' queue", "can't find the tickets' queue"},
		{"timeout after 30s (request req_8f3a9c1d)", "timeout after <n>s (request <id>)"},
		{"dial tcp 10.0.0.1:443: connect: connection refused", "dial tcp <n>:<n>: connect: connection refused"},
		{"value 7.13517E+11 and 713,517,204,461", "value <n> and <n>"},
		{"id 8f3a9c1d-4e2b-11ee-be56-0242ac120002", "id <id>"},
		{"4e2b-11ee and 16LE, 5xx, 2nd", "<id>-<id> and <id>, <n>xx, <n>nd"},
		{"  spaced \n\t out  ", "spaced out"},
		{`an unclosed " quote`, `an unclosed " quote`},
		{"12345 rows, 123456 id", "<n> rows, <id> id"},
		{"reply larger than 1310720 bytes", "reply larger than <n> bytes"},
		{"larger than 2097152B, 1310720 Bytes, 4194304 bytesx", "larger than <n>B, <n> Bytes, <id> bytesx"},
		{"ticket 713516551148: 1310720 bytes", "ticket <id>: <n> bytes"},
		{"sub_status contains the control character U+009B (CONTROL SEQUENCE INTRODUCER) at byte 3", "sub_status contains the control character U+009B (CONTROL SEQUENCE INTRODUCER) at byte <n>"},
		{"U+200B, U+1F600 and U+10FFFF; not XU+0041, U+12 or U+0041A7B", "U+200B, U+1F600 and U+10FFFF; not XU+<n>, U+<n> or U+<id>"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if got := Mask(tt.msg); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}

func TestMaskGroupsMessagesThatDifferOnlyInValues(t *testing.T) {
	a := Mask(`No ticket found for ticket_id 999900000123 (request "abc")`)
	b := Mask(`No ticket found for ticket_id 999900000456 (request "xyz")`)
	if a != b {
		t.Errorf("%q and %q differ", a, b)
	}
}

func TestMaskBoundsLength(t *testing.T) {
	long := "<html>" + strings.Repeat("Service Unavailable é ", 2000) + "</html>"
	got := Mask(long)
	if len(got) > MaxLen+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("len %d (%q…), want at most %d bytes ending in …", len(got), got[:min(len(got), 40)], MaxLen)
	}
	if Mask(long) != got {
		t.Error("not deterministic")
	}
}

func TestTallyGroupsCountsAndOrders(t *testing.T) {
	tl := NewTally(0)
	tl.Add("failed", "No ticket found for ticket_id 999900000123", 9)
	tl.Add("invalid", `ticket_id "abc" is not a ticket id (digits only)`, 4)
	tl.Add("failed", "No ticket found for ticket_id 999900000456", 3)
	tl.Add("failed", "gave up after 6 attempts: HTTP 503", 7)
	tl.Add("invalid", `ticket_id "x" is not a ticket id (digits only)`, 12)
	got := tl.Top(0)
	want := []Group{
		{"No ticket found for ticket_id <id>", "failed", 2, 3}, // the lowest line, whatever the order
		{"ticket_id <value> is not a ticket id (digits only)", "invalid", 2, 4},
		{"gave up after <n> attempts: HTTP 503", "failed", 1, 7},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Top(0) =\n%v\nwant\n%v", got, want)
	}
	if got := tl.Top(1); len(got) != 1 || got[0] != want[0] {
		t.Errorf("Top(1) = %v, want %v", got, want[:1])
	}
}

func TestTallyKeepsTheLowestLines(t *testing.T) {
	tl := NewTally(0)
	tl.KeepLines(3)
	for _, line := range []int{9, 4, 12, 2, 7, 4} {
		tl.Add("invalid", fmt.Sprintf("ticket_id %q is not a ticket id", fmt.Sprint(line)), line)
	}
	tl.Add("invalid", "another reason", 5)
	top := tl.Top(0)
	if got := fmt.Sprint(tl.Lines(top[0]), tl.Lines(top[1])); got != "[2 4 4] [5]" {
		t.Errorf("lines %s, want [2 4 4] [5]", got)
	}
	if NewTally(0).Lines(top[0]) != nil {
		t.Error("a Tally that keeps no lines returned some")
	}
}

func TestTallyIsBounded(t *testing.T) {
	tl := NewTally(3)
	for i := range 10 {
		tl.Add("failed", fmt.Sprintf("reason %c", 'a'+i), i+2)
	}
	tl.Add("failed", "reason a", 50)
	if tl.Len() != 4 {
		t.Fatalf("%d groups, want 3 kept and one other", tl.Len())
	}
	var total int64
	var other Group
	for _, g := range tl.Top(0) {
		total += g.Count
		if g.Reason == Other {
			other = g
		}
	}
	if total != 11 || other.Count != 7 || other.ExampleLine != 5 {
		t.Errorf("total %d, other %+v; want 11 rows, 7 under Other from line 5", total, other)
	}
}
