package reader

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRealInstant holds the hand-written date check to time.Parse over
// every day of a leap and a common year, century years and odd times.
func TestRealInstant(t *testing.T) {
	var vals []string
	for _, y := range []int{1900, 2000, 2023, 2024, 2100} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				vals = append(vals, fmt.Sprintf("%04d-%02d-%02d 12:00:00", y, m, d))
			}
		}
	}
	for _, hms := range []string{"00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "99:99:99"} {
		vals = append(vals, "2024-03-06 "+hms)
	}
	for _, v := range vals {
		_, err := time.Parse(callbackLayout, v)
		if got, want := realInstant(v), err == nil; got != want {
			t.Errorf("realInstant(%q) = %v, time.Parse says %v", v, got, want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	tests := map[string]string{
		"Ticket ID":           "ticket_id",
		" Sub Status ":        "sub_status",
		"QUEUE":               "queue",
		"callback-time":       "callback_time",
		"Callback - Time":     "callback_time",
		"\u00a0Comment\u00a0": "comment",
		"ticket_id\u200b":     "ticket_id",
		"Sub_Status":          "sub_status",
		"  ":                  "",
		"":                    "",
		"Agent Name":          "agent_name",
	}
	for in, want := range tests {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCellChecks(t *testing.T) {
	tests := []struct {
		in, want string // want: fragment of the problem, "" for none
	}{
		{"ok", ""},
		{"café", ""},
		{"NULL", "NULL marker"},
		{"Null", "NULL marker"},
		{`\N`, "NULL marker"},
		{"#N/A", "spreadsheet error"},
		{"#NUM!", "spreadsheet error"},
		{"#N/A text", ""},
		{"a\x00b", "NUL byte at byte 2"},
		{"a\xffb", "byte 0xFF at byte 2"},
		{"\xe9t\xe9", "byte 0xE9 at byte 1"},
		{"a\uFFFDb", "U+FFFD at byte 2"},
	}
	for _, tt := range tests {
		got := cellProblem("queue", tt.in, false)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("cellProblem(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestControlCharactersRefused: a cell that is sent holds no control
// character (a comment or an extra column keeps its line breaks and
// tabs), and a code no invisible formatting character either; the
// message names the column and the character.
func TestControlCharactersRefused(t *testing.T) {
	in := "ticket_id,sub_status,queue,comment,region\n" +
		"713516000001,\x1b[2JCL,,a,\n" +
		"713516000002,\u009b31mCL,,b,\n" +
		"713516000003,CL,Q\u202e1,c,\n" +
		"713516000004,CL,,\"line\nbreak\ttab\r\nend \u202eRTL\u2028\",\"north\tsouth\"\n" +
		"713516000005,CL,,bell\x07,\n" +
		"713516000006,CL,,a,x\u0085y\n" +
		"713516000007,CL,,del\x7f,\n"
	recs, _, err := readAll(strings.NewReader(in), Options{Name: "in.csv", ExtraColumns: []string{"region"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"sub_status contains the control character U+001B (ESCAPE) at byte 1",
		"sub_status contains the control character U+009B (CONTROL SEQUENCE INTRODUCER) at byte 1",
		"queue contains the invisible character U+202E (RIGHT-TO-LEFT OVERRIDE) at byte 2",
		"",
		"comment contains the control character U+0007 at byte 5",
		"region contains the control character U+0085 (NEXT LINE) at byte 2",
		"comment contains the control character U+007F (DELETE) at byte 4",
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		if got := recs[i].Invalid; (w == "") != (got == "") || !strings.HasPrefix(got, w) {
			t.Errorf("line %d: invalid %q, want %q", recs[i].Line, got, w)
		}
	}
}

func TestTicketPatternWholeMatch(t *testing.T) {
	// Leftmost-first alternation matches "a" in "ab": the whole-match rule
	// must still accept "ab".
	re := regexp.MustCompile(`a|ab`)
	anchored, err := anchor(re)
	if err != nil {
		t.Fatal(err)
	}
	for v, ok := range map[string]bool{"ab": true, "a": true, "abc": false, "xab": false} {
		if got := ticketProblem(v, re, anchored) == ""; got != ok {
			t.Errorf("%q: valid = %v, want %v", v, got, ok)
		}
	}
}

// TestTicketIDReadBack: whatever --ticket-id-pattern allows, an id
// holding a comma or white space makes its row invalid: Get Ticket takes
// ids comma-separated, so it could never be read back (before, validate
// took it and snapshot, verify and run --backup stopped with exit 3).
func TestTicketIDReadBack(t *testing.T) {
	re := regexp.MustCompile(`.+`)
	anchored, err := anchor(re)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]string{
		"714800000001,714800000002": "a ticket id must not hold a comma",
		"7148 00000001":             "a ticket id must not hold white space",
		"7148\u00a000000001":        "a ticket id must not hold white space",
		"TKT-714800000001":          "",
	} {
		got := ticketProblem(v, re, anchored)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("ticketProblem(%q) = %q, want …%s…", v, got, want)
		}
	}
	rd, err := Open(strings.NewReader("ticket_id,sub_status\n\"714800000001,714800000002\",CL\n"), Options{TicketIDPattern: re})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := rd.Next(); err != nil || !strings.Contains(rec.Invalid, "must not hold a comma") {
		t.Errorf("row: %+v, %v; want invalid", rec, err)
	}
}

func TestScientificTicketIDHintInEveryLocale(t *testing.T) {
	// Excel writes a long number in scientific notation with the locale's
	// decimal separator: a point, or a comma in most of Europe.
	for _, v := range []string{"7.13517E+11", "7,13517E+11", "7E+11", "7,1E11"} {
		t.Run(v, func(t *testing.T) {
			got := ticketProblem(v, nil, nil)
			if want := "looks like a number Excel rewrote in scientific notation"; !strings.Contains(got, want) {
				t.Errorf("ticketProblem(%q) = %q, want it to say %q", v, got, want)
			}
		})
	}
	if got := ticketProblem("7,1,3E+11", nil, nil); strings.Contains(got, "scientific") {
		t.Errorf("7,1,3E+11: %q: not one number, must not get the scientific hint", got)
	}
}

func TestTrim(t *testing.T) {
	for in, want := range map[string]string{
		" a ":           "a",
		"\ta\t":         "a",
		"\u00a0a\u00a0": "a",
		"a b":           "a b",
		"":              "",
		"\u00a0":        "",
		"\u00e9":        "\u00e9", // starts with 0xC3, not NBSP
		"a\u00c2":       "a\u00c2",
	} {
		if got := trim(in); got != want {
			t.Errorf("trim(%q) = %q, want %q", in, got, want)
		}
	}
}
