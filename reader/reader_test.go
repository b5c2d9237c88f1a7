package reader

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// want is one expected record: its line, ticket_id, and a fragment of its
// Invalid message ("" for a valid row).
type want struct {
	line    int
	ticket  string
	invalid string
}

// readAll runs Open and Next to the end, the way the pipeline does.
func readAll(in io.Reader, opts Options) ([]Record, *Reader, error) {
	rd, err := Open(in, opts)
	if err != nil {
		return nil, nil, err
	}
	var recs []Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return recs, rd, nil
		}
		if err != nil {
			return recs, rd, err
		}
		recs = append(recs, rec)
	}
}

// readerCase is a file of testdata read with opts, and what comes of it.
type readerCase struct {
	file    string
	opts    Options
	want    []want
	skipped int
	// fileErr is a fragment of the FileError's message; errLine and
	// errCol its Line and Column.
	fileErr         string
	errLine, errCol int
	header, leftOut []string
	check           func(t *testing.T, recs []Record)
}

// readerFormatCases are files as spreadsheets and exports write them:
// byte order marks, line ends, UTF-16, delimiters and sep= lines.
func readerFormatCases() []readerCase {
	return []readerCase{
		{file: "basic.csv", want: []want{{2, "713517204455", ""}, {3, "713517204456", ""}},
			header: []string{"ticket_id", "sub_status", "queue", "comment", "callback_time", "disposition"},
			check: func(t *testing.T, recs []Record) {
				got := recs[0]
				if got.SubStatus != "CL" || got.Queue != "Billing" || got.Comment != "done" || got.CallbackTime != "2024-03-06 14:30:00" || got.Disposition != "resolved" {
					t.Errorf("record = %+v", got)
				}
			}},
		{file: "excel_bom_crlf.csv", want: []want{{2, "101", ""}, {3, "102", ""}},
			header: []string{"ticket_id", "sub_status", "queue", "comment", "callback_time", "disposition"},
			check: func(t *testing.T, recs []Record) {
				if got, w := recs[0].Comment, "café"; got != w {
					t.Errorf("comment = %q, want %q", got, w)
				}
				if got, w := recs[1].Comment, "two\nlines"; got != w {
					t.Errorf("comment = %q, want %q", got, w)
				}
			}},
		{file: "sheets.csv", want: []want{{2, "201", ""}, {4, "202", ""}},
			check: func(t *testing.T, recs []Record) {
				if got, w := recs[0].Comment, "first\nsecond"; got != w {
					t.Errorf("comment = %q, want %q", got, w)
				}
				if got, w := recs[1].Comment, "last row"; got != w {
					t.Errorf("last comment = %q, want %q", got, w)
				}
			}},
		{file: "utf16le.txt", want: []want{{2, "301", ""}, {3, "302", ""}},
			check: func(t *testing.T, recs []Record) {
				if recs[0].Comment != "naïve" || recs[1].Comment != "€5" {
					t.Errorf("comments = %q, %q", recs[0].Comment, recs[1].Comment)
				}
			}},
		{file: "utf16be.txt", want: []want{{2, "311", ""}},
			check: func(t *testing.T, recs []Record) {
				if recs[0].Comment != "naïve" {
					t.Errorf("comment = %q", recs[0].Comment)
				}
			}},
		{file: "semicolon.csv", want: []want{{2, "401", ""}, {3, "402", "line 3 has 4 fields but the header has 3"}},
			check: func(t *testing.T, recs []Record) {
				if recs[0].Comment != "a, b" {
					t.Errorf("comment = %q", recs[0].Comment)
				}
			}},
		{file: "tab.tsv", want: []want{{2, "411", ""}},
			check: func(t *testing.T, recs []Record) {
				if recs[0].Comment != "a,b;c" {
					t.Errorf("comment = %q", recs[0].Comment)
				}
			}},
		{file: "pipe.csv", want: []want{{2, "421", ""}}},
		// With --delimiter the pipe file is one column: refused, listing it.
		{file: "pipe.csv", opts: Options{Delimiter: ','}, fileErr: `no ticket_id or sub_status column; columns found: "ticket_id|sub_status|comment"`, errLine: 1},
		{file: "sep_line.csv", want: []want{{3, "431", ""}, {4, "432", ""}},
			header: []string{"ticket_id", "sub_status", "comment"},
			check: func(t *testing.T, recs []Record) {
				if recs[0].Comment != "x,y" {
					t.Errorf("comment = %q", recs[0].Comment)
				}
			}},
		// The sep= line says |, --delimiter says ,: the option wins, the
		// line is still not the header.
	}
}

// readerStructureCases are a sep= line overridden, CR line ends,
// Windows-1252, blank rows, header problems, ragged rows and CSV syntax
// errors.
func readerStructureCases() []readerCase {
	return []readerCase{
		{file: "sep_quoted_override.csv", opts: Options{Delimiter: ','}, want: []want{{3, "441", ""}}},
		{file: "cr_only.csv", want: []want{{2, "501", ""}, {4, "502", ""}},
			check: func(t *testing.T, recs []Record) {
				if got, w := recs[0].Comment, "multi\nline"; got != w {
					t.Errorf("comment = %q, want %q", got, w)
				}
			}},
		{file: "cp1252.csv", opts: Options{Encoding: "Windows-1252"}, want: []want{{2, "601", ""}, {3, "602", ""}},
			check: func(t *testing.T, recs []Record) {
				if got, w := recs[0].Comment, "café € 5"; got != w {
					t.Errorf("comment = %q, want %q", got, w)
				}
			}},
		{file: "cp1252.csv", want: []want{{2, "601", "comment is not valid UTF-8 (byte 0xE9 at byte 4)"}, {3, "602", ""}}},
		{file: "blank_rows.csv", want: []want{{3, "701", ""}, {7, "702", ""}}, skipped: 7},
		{file: "unnamed_cols.csv", want: []want{{2, "801", ""}, {3, "802", `column 4 has no header but holds "stray"`}},
			header: []string{"ticket_id", "sub_status", "", ""}},
		{file: "header_variants.csv", want: []want{{2, "901", ""}},
			header: []string{"ticket_id", "sub_status", "queue", "comment", "callback_time", "disposition"}},
		{file: "header_zero_width.csv", want: []want{{2, "2101", ""}}},
		{file: "dup_header.csv", fileErr: `columns 1 "Ticket ID" and 3 "ticket-id" are both ticket_id`, errLine: 1, errCol: 3},
		{file: "missing_col.csv", fileErr: `no ticket_id or sub_status column; columns found: "Ticket", "Status", "Comment"`, errLine: 1},
		{file: "ragged.csv", want: []want{
			{2, "1001", ""},
			{5, "1002", "line 5 has 3 fields but the header has 6"},
			{6, "1003", "line 6 has 7 fields but the header has 6"},
			{7, "1004", ""},
		}},
		{file: "syntax_unclosed.csv", want: []want{{2, "1101", ""}}, fileErr: "quoted field column 3 (comment) starts here and its quote is never closed", errLine: 3, errCol: 3},
		{file: "syntax_bare.csv", want: []want{{2, "1201", ""}, {3, "1202", ""}}, fileErr: `a " inside unquoted field column 3 (comment)`, errLine: 5, errCol: 3},
		{file: "syntax_mysql.csv", want: []want{{2, "1301", ""}}, fileErr: `MySQL-style backslash-escaped quotes`, errLine: 3, errCol: 3},
		{file: "utf16le_nobom.csv", fileErr: "looks like UTF-16 without a byte order mark", errLine: 1, errCol: 1},
		{file: "syntax_header.csv", fileErr: "quoted field column 2 starts here and its quote is never closed", errLine: 1, errCol: 2},
		{file: "syntax_after_quote.csv", fileErr: `a " inside quoted field column 2 (sub_status), which starts here, is not doubled`, errLine: 2, errCol: 2},
		{file: "ragged_multiline.csv", want: []want{{2, "1", "line 2 has 2 fields but the header has 3"}, {4, "2", ""}}},
	}
}

// readerTicketCases are damaged ticket ids, with and without a pattern, and
// trimmed values.
func readerTicketCases() []readerCase {
	return []readerCase{
		{file: "ticket_damage.csv", want: []want{
			{2, "7.13517E+11", `ticket_id "7.13517E+11" looks like a number Excel rewrote in scientific notation; format the column as Text and export again`},
			{3, "713517204455.0", "has a decimal part (.0)"},
			{4, "713,517,204,461", "has thousands separators"},
			{5, `="713518110402"`, `Excel formula wrapper (="...")`},
			{6, "713518\u200b110402", "invisible character U+200B (ZERO WIDTH SPACE)"},
			{7, "\u200b", "invisible character U+200B"},
			{8, "", "ticket_id is empty"},
			{9, "７１３", "non-ASCII digit U+FF17"},
			{10, "abc", `ticket_id "abc" is not a ticket id (digits only)`},
			{11, "713518110403", ""},
			{12, "'713518110404", "starts with an apostrophe"},
		}},
		{file: "ticket_damage.csv", opts: Options{TicketIDPattern: regexp.MustCompile(`[a-z]+|7\d+`)}, want: []want{
			{2, "7.13517E+11", "scientific notation"},
			{3, "713517204455.0", "decimal part"},
			{4, "713,517,204,461", "thousands"},
			{5, `="713518110402"`, "formula"},
			{6, "713518\u200b110402", "U+200B"},
			{7, "\u200b", "U+200B"},
			{8, "", "ticket_id is empty"},
			{9, "７１３", "U+FF17"},
			{10, "abc", ""},
			{11, "713518110403", ""},
			{12, "'713518110404", "apostrophe"},
		}},
		{file: "trim.csv", want: []want{{2, "1401", ""}},
			check: func(t *testing.T, recs []Record) {
				got := recs[0]
				if got.SubStatus != "CL" || got.Queue != "Q" || got.CallbackTime != "2024-03-06 14:30:00" || got.Disposition != "d" {
					t.Errorf("not trimmed: %+v", got)
				}
				if w := "  keep\n  me  "; got.Comment != w {
					t.Errorf("comment = %q, want verbatim %q", got.Comment, w)
				}
			}},
	}
}

// readerValueCases are callback times, NULL markers, files with a header or
// nothing, extra columns, invalid UTF-8 and the last line.
func readerValueCases() []readerCase {
	return []readerCase{
		{file: "callback.csv", want: []want{
			{2, "1501", ""},
			{3, "1502", `callback_time "05-03-2024 14:30" is not yyyy-MM-dd HH:mm:ss`},
			{4, "1503", "is not yyyy-MM-dd HH:mm:ss"},
			{5, "1504", "looks like an Excel date serial number"},
			{6, "1505", "is not yyyy-MM-dd HH:mm:ss"},
			{7, "1506", `"2024-02-30 10:00:00" is not a real date and time`},
			{8, "1507", "is not a real date and time"},
			{9, "1508", "is not yyyy-MM-dd HH:mm:ss"},
			{10, "1509", "is not yyyy-MM-dd HH:mm:ss"},
			{11, "1510", "is not yyyy-MM-dd HH:mm:ss"},
			{12, "1511", ""},
		}},
		{file: "nulls.csv", opts: Options{ExtraColumns: []string{"sent_extra"}}, leftOut: []string{"helper"}, want: []want{
			{2, "1601", `sub_status is "NULL", a NULL marker or spreadsheet error`},
			{3, "1602", `queue is "\N"`},
			{4, "1603", `comment is "#N/A"`},
			{5, "1604", `disposition is "#REF!"`},
			{6, "1605", ""}, // helper is not sent: not checked
			{7, "1606", `sent_extra is "#NAME?"`},
			{8, "1607", `sent_extra is "#DIV/0!"`},
			{9, "1608", `sub_status is "null"`},
		}},
		{file: "header_only.csv", header: []string{"ticket_id", "sub_status", "queue", "comment", "callback_time", "disposition"}},
		{file: "header_only_crlf_blank.csv", skipped: 2},
		{file: "empty.csv", fileErr: "the file is empty"},
		{file: "bom_only.csv", fileErr: "the file is empty"},
		{file: "blank_only.csv", fileErr: "the file is empty"},
		{file: "sep_only.csv", fileErr: "the file is empty after its sep= line"},
		{file: "extras.csv", opts: Options{ExtraColumns: []string{"agent_name"}}, leftOut: []string{"region", "helper_col"}, want: []want{{2, "1701", ""}},
			check: func(t *testing.T, recs []Record) {
				if got := recs[0].Extra; len(got) != 1 || got[0] != (Field{"agent_name", "Ann"}) {
					t.Errorf("extra = %+v", got)
				}
			}},
		{file: "extras.csv", opts: Options{AllExtra: true}, leftOut: nil, want: []want{{2, "1701", ""}},
			check: func(t *testing.T, recs []Record) {
				w := []Field{{"agent_name", "Ann"}, {"helper_col", "=x"}, {"region", "North"}} // by name
				if got := recs[0].Extra; len(got) != 3 || got[0] != w[0] || got[1] != w[1] || got[2] != w[2] {
					t.Errorf("extra = %+v, want %+v", got, w)
				}
			}},
		{file: "extras.csv", opts: Options{ExtraColumns: []string{"agent"}}, fileErr: `extra column agent is not in the header; columns found: "ticket_id", "sub_status", "Region", "Agent Name", "helper col"`, errLine: 1},
		{file: "invalid_utf8.csv", want: []want{
			{2, "1801", "comment is not valid UTF-8 (byte 0xFF at byte 3)"},
			{3, "1802", "sub_status contains a NUL byte"},
			{4, "1803", "comment contains U+FFFD"},
		}},
		{file: "no_final_newline.csv", want: []want{{2, "1901", ""}, {3, "1902", ""}}},
		{file: "leading_blank.csv", want: []want{{4, "2001", ""}}},
	}
}

func TestReader(t *testing.T) {
	tests := slices.Concat(readerFormatCases(), readerStructureCases(), readerTicketCases(), readerValueCases())
	for _, tt := range tests {
		name := tt.file
		if tt.opts.Delimiter != 0 || tt.opts.Encoding != "" || tt.opts.TicketIDPattern != nil || tt.opts.ExtraColumns != nil || tt.opts.AllExtra {
			name += "/opts"
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			tt.opts.Name = tt.file
			recs, rd, err := readAll(strings.NewReader(string(data)), tt.opts)
			checkFileErr(t, "Open/Next", err, tt.fileErr, tt.errLine, tt.errCol)
			// Check must refuse exactly what Open/Next refuse.
			_, checkErr := Check(strings.NewReader(string(data)), tt.opts)
			checkFileErr(t, "Check", checkErr, tt.fileErr, tt.errLine, tt.errCol)

			if len(recs) != len(tt.want) {
				t.Errorf("got %d records, want %d", len(recs), len(tt.want))
				for _, r := range recs {
					t.Logf("  %d %q %q", r.Line, r.TicketID, r.Invalid)
				}
			}
			for i := 0; i < len(recs) && i < len(tt.want); i++ {
				got, w := recs[i], tt.want[i]
				if got.Line != w.line || got.TicketID != w.ticket {
					t.Errorf("record %d: line %d ticket %q, want line %d ticket %q", i, got.Line, got.TicketID, w.line, w.ticket)
				}
				if w.invalid == "" && got.Invalid != "" {
					t.Errorf("record %d (line %d): unexpectedly invalid: %s", i, got.Line, got.Invalid)
				}
				if w.invalid != "" && !strings.Contains(got.Invalid, w.invalid) {
					t.Errorf("record %d (line %d): Invalid = %q, want it to contain %q", i, got.Line, got.Invalid, w.invalid)
				}
			}
			if rd == nil {
				return
			}
			if rd.Skipped() != tt.skipped {
				t.Errorf("Skipped() = %d, want %d", rd.Skipped(), tt.skipped)
			}
			if tt.header != nil && strings.Join(rd.hdr.names, "|") != strings.Join(tt.header, "|") {
				t.Errorf("header %q, want %q", rd.hdr.names, tt.header)
			}
			if strings.Join(rd.LeftOut(), "|") != strings.Join(tt.leftOut, "|") {
				t.Errorf("LeftOut() = %q, want %q", rd.LeftOut(), tt.leftOut)
			}
			if tt.check != nil && len(recs) == len(tt.want) {
				tt.check(t, recs)
			}
		})
	}
}

func checkFileErr(t *testing.T, what string, err error, msg string, line, col int) {
	t.Helper()
	if msg == "" {
		if err != nil {
			t.Errorf("%s: unexpected error: %v", what, err)
		}
		return
	}
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Errorf("%s: error = %v, want a *FileError containing %q", what, err, msg)
		return
	}
	if !strings.Contains(fe.Msg, msg) || fe.Line != line || fe.Column != col {
		t.Errorf("%s: error = %q (line %d, column %d), want %q at line %d, column %d", what, fe.Msg, fe.Line, fe.Column, msg, line, col)
	}
}

// TestKeepRaw: with KeepRaw every row carries its cells as the user had
// them (untrimmed, quotes and delimiters inside cells kept), whatever the
// encoding, delimiter or line endings, and ragged rows too.
func TestKeepRaw(t *testing.T) {
	const file = "sep=;\r\n Ticket ID ;Sub Status;Notes\r\n" +
		"713517204455; CL ;\"a; b\r\nsecond line\"\r\n" +
		"\r\n" +
		"713517204456;P;caf\xe9\r\n" +
		"713517204457;P\r\n" +
		";;\r\n" +
		"713517204458;CL;\"say \"\"hi\"\"\"\r\n"
	recs, rd, err := readAll(strings.NewReader(file), Options{KeepRaw: true, Encoding: "windows-1252"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rd.RawHeader(), "|"), " Ticket ID |Sub Status|Notes"; got != want {
		t.Errorf("RawHeader = %q, want %q", got, want)
	}
	if got := rd.Delimiter(); got != ';' {
		t.Errorf("Delimiter = %q, want ';'", got)
	}
	want := [][]string{
		{"713517204455", " CL ", "a; b\nsecond line"},
		{"713517204456", "P", "café"},
		{"713517204457", "P"},
		{"713517204458", "CL", `say "hi"`},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, rec := range recs {
		if strings.Join(rec.Raw, "|") != strings.Join(want[i], "|") {
			t.Errorf("line %d: Raw = %q, want %q", rec.Line, rec.Raw, want[i])
		}
	}
	recs, _, err = readAll(strings.NewReader(file), Options{Encoding: "windows-1252"})
	if err != nil || recs[0].Raw != nil {
		t.Errorf("without KeepRaw: Raw = %q, %v; want nil", recs[0].Raw, err)
	}
}

func TestPeek(t *testing.T) {
	tests := []struct {
		name, file string
		want       []int // the lines of the rows
	}{
		{"header only", "ticket_id,sub_status\n", nil},
		{"header and blank rows", "ticket_id,sub_status\n\n,\n\n", nil},
		{"rows", "ticket_id,sub_status\n\n1,CL\n2,P\n", []int{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := Open(strings.NewReader(tt.file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for {
				p, perr := rd.Peek()
				again, _ := rd.Peek()
				rec, err := rd.Next()
				if p.Line != rec.Line || again.Line != rec.Line || !errors.Is(perr, err) && perr != err {
					t.Fatalf("Peek gave line %d (%v), then %d; Next line %d (%v)", p.Line, perr, again.Line, rec.Line, err)
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rec.Line)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("rows on lines %v, want %v", got, tt.want)
			}
		})
	}
}

// All extra columns are sent but the error column of a report's failed
// rows file; named, it is sent.
func TestAllExtraLeavesOutTheReportErrorColumn(t *testing.T) {
	const file = "ticket_id,sub_status,Priority,Error\n713517204455,CL,high,No ticket found\n"
	for _, tt := range []struct {
		opts    Options
		sent    string
		leftOut []string
	}{
		{Options{AllExtra: true}, "priority", []string{"error"}},
		{Options{ExtraColumns: []string{"priority", "error"}}, "error,priority", nil},
	} {
		recs, rd, err := readAll(strings.NewReader(file), tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		var sent []string
		for _, f := range recs[0].Extra {
			sent = append(sent, f.Name)
		}
		if strings.Join(sent, ",") != tt.sent || strings.Join(rd.LeftOut(), ",") != strings.Join(tt.leftOut, ",") {
			t.Errorf("%+v: sent %v, left out %v; want %s and %v", tt.opts, sent, rd.LeftOut(), tt.sent, tt.leftOut)
		}
	}
}

// TestExtraColumnsByName: the extra columns go into a row's object by
// name, so that an export whose columns come in another order sends the
// very same objects (and its rows keep their keys).
func TestExtraColumnsByName(t *testing.T) {
	objects := func(csv string) []string {
		recs, _, err := readAll(strings.NewReader(csv), Options{ExtraColumns: []string{"region", "channel"}})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			out = append(out, string(AppendObject(nil, r)))
		}
		return out
	}
	a := objects("ticket_id,sub_status,region,channel\n713516551148,CL,north,web\n")
	b := objects("channel,sub_status,region,ticket_id\nweb,CL,north,713516551148\n")
	if len(a) != 1 || len(b) != 1 || a[0] != b[0] {
		t.Fatalf("same row, columns reordered: %q and %q", a, b)
	}
	if !strings.HasSuffix(a[0], `,"channel":"web","region":"north"}`) {
		t.Errorf("object %s: want the extra columns by name", a[0])
	}
}
