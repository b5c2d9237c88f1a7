package writer

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.FixedZone("IST", 5*3600+1800))

// fp returns a key derived from n, spelled as older results files did
// (16 hex digits): a legacy key.
func fp(n uint64) rowkey.Key {
	return rowkey.Key{Content: n}
}

func tempPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "in.results.csv")
}

func mustOpen(t *testing.T, path string, mode Mode) *Writer {
	t.Helper()
	w, err := Open(path, mode)
	if err != nil {
		t.Fatalf("Open(%q, %v): %v", path, mode, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func mustWrite(t *testing.T, w *Writer, rows ...Result) {
	t.Helper()
	if err := w.Write(rows); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func mustClose(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// readBack reads back the rows of a Writer opened in Resume mode.
func readBack(t *testing.T, w *Writer) []Row {
	t.Helper()
	var rows []Row
	if err := w.ReadBack(func(r Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatalf("ReadBack: %v", err)
	}
	return rows
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readCSV parses a results file the way a consumer would.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("results file does not parse as CSV: %v", err)
	}
	return recs
}

func TestRoundTrip(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	rows := []Result{
		{TicketID: "713517204455", Status: StatusSuccess, Message: "Ticket updated", Line: 2, HTTPStatus: 200, Attempts: 1, FinishedAt: t0, Key: fp(0xdeadbeef)},
		{TicketID: "713517204456", Status: StatusFailed, Message: `No Data found, "ticket" missing`, Line: 3, HTTPStatus: 404, Attempts: 2, FinishedAt: t0, Key: fp(1)},
		{TicketID: "7.13517E+11", Status: StatusInvalid, Message: "ticket_id looks like a number in scientific notation", Line: 5, FinishedAt: t0},
		{TicketID: "713517204457", Status: StatusFailed, Message: "connection reset", Line: 1_000_000, Attempts: 6, FinishedAt: t0, Key: fp(^uint64(0))},
	}
	mustWrite(t, w, rows[:1]...)
	mustWrite(t, w, rows[1:]...)
	mustWrite(t, w) // nothing: no-op
	mustClose(t, w)

	got := readFile(t, path)
	want := Header + "\n" +
		"713517204455,success,Ticket updated,2,200,1,2025-03-14T03:56:53.589Z,00000000deadbeef\n" +
		`713517204456,failed,"No Data found, ""ticket"" missing",3,404,2,2025-03-14T03:56:53.589Z,0000000000000001` + "\n" +
		"7.13517E+11,invalid,ticket_id looks like a number in scientific notation,5,,0,2025-03-14T03:56:53.589Z,\n" +
		"713517204457,failed,connection reset,1000000,,6,2025-03-14T03:56:53.589Z,ffffffffffffffff\n"
	if got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}

	w = mustOpen(t, path, Resume)
	back := readBack(t, w)
	if len(back) != 4 || w.Rows() != 4 || w.TornBytes() != 0 {
		t.Errorf("read back %d rows, Rows() = %d, TornBytes() = %d; want 4, 4, 0", len(back), w.Rows(), w.TornBytes())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msgs := NewMessages(f)
	offset := int64(len(Header) + 1)
	for i, r := range back {
		want := Row{Status: rows[i].Status, Line: rows[i].Line, TicketID: rows[i].TicketID, Message: rows[i].Message, FileLine: i + 2, Offset: offset}
		if !rows[i].Key.IsZero() {
			want.Key, want.KeyOK = rows[i].Key, true
		}
		if r != want {
			t.Errorf("row %d read back as %+v, want %+v", i, r, want)
		}
		if m, err := msgs.At(r.Offset); err != nil || m != rows[i].Message {
			t.Errorf("row %d: message at %d is %q (%v), want %q", i, r.Offset, m, err, rows[i].Message)
		}
		offset += int64(len(strings.SplitAfter(got, "\n")[i+1]))
	}
	mustClose(t, w)
	if got := readFile(t, path); got != want {
		t.Errorf("Resume and Close changed the file:\n%s", got)
	}
}

func TestZeroFinishedAtIsNow(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	w.now = func() time.Time { return t0 }
	mustWrite(t, w, Result{TicketID: "1", Status: StatusInvalid, Message: "bad", Line: 2})
	mustClose(t, w)
	recs := readCSV(t, path)
	if got, want := recs[1][6], "2025-03-14T03:56:53.589Z"; got != want {
		t.Errorf("finished_at = %q, want %q", got, want)
	}
}

func TestCellsAreInertAndOneLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Ticket updated", "Ticket updated"},
		{"empty ticket", "", ""},
		{"equals", "=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"plus", "+1+1", "'+1+1"},
		{"minus", "-2+3", "'-2+3"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\t=1", "'\t=1"},
		{"leading CR becomes space", "\r=1", " =1"},
		{"inner equals", "a=b", "a=b"},
		{"newlines", "line one\nline two\r\nthree\rfour", "line one line two three four"},
		{"newline then formula", "\n=1", " =1"},
		{"already quoted", "'=1", "'=1"},
		{"unicode", "Ticket mis à jour ✓", "Ticket mis à jour ✓"},
		{"invalid utf-8", "caf\xe9", "caf\uFFFD"},
		{"long", strings.Repeat("é", maxCell), strings.Repeat("é", maxCell/2) + "…"},
		{"long, cut inside a character", "x" + strings.Repeat("é", maxCell/2), "x" + strings.Repeat("é", maxCell/2-1) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			w := mustOpen(t, path, Create)
			mustWrite(t, w, Result{TicketID: tt.in, Status: StatusFailed, Message: tt.in, Line: 2, FinishedAt: t0, Key: fp(1)})
			mustClose(t, w)
			content := readFile(t, path)
			if n := strings.Count(content, "\n"); n != 2 {
				t.Errorf("file has %d newlines, want 2 (one per row):\n%q", n, content)
			}
			recs := readCSV(t, path)
			if got := recs[1][0]; got != tt.want {
				t.Errorf("ticket_id cell = %q, want %q", got, tt.want)
			}
			wantMsg := tt.want
			if wantMsg == "" {
				wantMsg = noMessage
			}
			if got := recs[1][2]; got != wantMsg {
				t.Errorf("message cell = %q, want %q", got, wantMsg)
			}
		})
	}
}

func TestEmptyMessage(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	mustWrite(t, w,
		Result{TicketID: "1", Status: StatusSuccess, Line: 2, FinishedAt: t0, Key: fp(1)},
		Result{TicketID: "2", Status: StatusFailed, Line: 3, FinishedAt: t0, Key: fp(2)},
		Result{TicketID: "3", Status: StatusInvalid, Line: 4, FinishedAt: t0},
	)
	mustClose(t, w)
	recs := readCSV(t, path)
	for i, want := range []string{"", noMessage, noMessage} {
		if got := recs[i+1][2]; got != want {
			t.Errorf("row %d (%s): message = %q, want %q", i+1, recs[i+1][1], got, want)
		}
	}
}

func TestWriteRefusesMalformedRows(t *testing.T) {
	good := Result{TicketID: "1", Status: StatusSuccess, Message: "ok", Line: 2, HTTPStatus: 200, Attempts: 1, FinishedAt: t0, Key: fp(1)}
	tests := []struct {
		name string
		edit func(*Result)
	}{
		{"unknown status", func(r *Result) { r.Status = "ok" }},
		{"line 0", func(r *Result) { r.Line = 0 }},
		{"negative http status", func(r *Result) { r.HTTPStatus = -1 }},
		{"http status 1000", func(r *Result) { r.HTTPStatus = 1000 }},
		{"negative attempts", func(r *Result) { r.Attempts = -1 }},
		{"success without a key", func(r *Result) { r.Key = rowkey.Key{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			w := mustOpen(t, path, Create)
			bad := good
			tt.edit(&bad)
			// The good row in the same call must not be written either.
			if err := w.Write([]Result{good, bad}); err == nil {
				t.Fatal("Write: no error")
			} else if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			// The writer is still usable: the refusal wrote nothing.
			mustWrite(t, w, good)
			mustClose(t, w)
			if got := len(readCSV(t, path)); got != 2 {
				t.Errorf("file has %d records, want header + 1", got)
			}
		})
	}
}

func TestInvalidMayHaveKey(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	mustWrite(t, w, Result{TicketID: "1", Status: StatusInvalid, Message: "bad", Line: 2, FinishedAt: t0, Key: fp(9)})
	mustClose(t, w)
	if got := readCSV(t, path)[1][7]; got != fp(9).String() {
		t.Errorf("fingerprint = %q", got)
	}
}

func TestModes(t *testing.T) {
	const rows = Header + "\n1,success,ok,2,200,1,2025-03-14T03:56:53.589Z,0000000000000001\n"
	const input = "ticket_id,sub_status\n1,CL\n"
	tests := []struct {
		name     string
		existing *string // nil: no file
		mode     Mode
		wantErr  error
		// wantContent is the file after Open + Close, or after the refusal.
		wantContent string
	}{
		{"create new", nil, Create, nil, Header + "\n"},
		{"create empty", ptr(""), Create, nil, Header + "\n"},
		{"create refuses results", ptr(rows), Create, ErrExists, rows},
		{"create takes a header without rows", ptr(Header + "\n"), Create, nil, Header + "\n"},
		{"create takes a CRLF header without rows", ptr(Header + "\r\n"), Create, nil, Header + "\r\n"},
		{"create refuses a torn header", ptr("ticket_id,sta"), Create, ErrExists, "ticket_id,sta"},
		{"create refuses a header and a blank line", ptr(Header + "\n\n"), Create, ErrExists, Header + "\n\n"},
		{"create refuses anything", ptr(input), Create, ErrExists, input},
		{"overwrite new", nil, Overwrite, nil, Header + "\n"},
		{"overwrite empty", ptr(""), Overwrite, nil, Header + "\n"},
		{"overwrite results", ptr(rows), Overwrite, nil, Header + "\n"},
		{"overwrite torn header", ptr("ticket_id,sta"), Overwrite, nil, Header + "\n"},
		{"overwrite a BOM and a torn header", ptr("\ufeffticket_id,sta"), Overwrite, nil, Header + "\n"},
		{"resume a BOM alone", ptr("\ufeff"), Resume, nil, Header + "\n"},
		{"overwrite refuses the input file", ptr(input), Overwrite, ErrNotResults, input},
		{"resume new", nil, Resume, nil, Header + "\n"},
		{"resume empty", ptr(""), Resume, nil, Header + "\n"},
		{"resume results", ptr(rows), Resume, nil, rows},
		{"resume crlf results", ptr(strings.ReplaceAll(rows, "\n", "\r\n")), Resume, nil, strings.ReplaceAll(rows, "\n", "\r\n")},
		{"resume refuses the input file", ptr(input), Resume, ErrNotResults, input},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			if tt.existing != nil {
				writeFile(t, path, *tt.existing)
			}
			w, err := Open(path, tt.mode)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open: err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
			} else {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				mustClose(t, w)
			}
			if got := readFile(t, path); got != tt.wantContent {
				t.Errorf("file:\n%q\nwant:\n%q", got, tt.wantContent)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestResumeAppendsWithoutSecondHeader(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	mustWrite(t, w, Result{TicketID: "1", Status: StatusFailed, Message: "timeout", Line: 2, Attempts: 6, FinishedAt: t0, Key: fp(1)})
	mustClose(t, w)

	w = mustOpen(t, path, Resume)
	mustWrite(t, w, Result{TicketID: "1", Status: StatusSuccess, Message: "ok", Line: 2, HTTPStatus: 200, Attempts: 1, FinishedAt: t0, Key: fp(1)})
	mustClose(t, w)

	recs := readCSV(t, path)
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3: %q", len(recs), recs)
	}
	if strings.Count(readFile(t, path), "ticket_id,status") != 1 {
		t.Error("header written twice")
	}
	w = mustOpen(t, path, Resume)
	if back := readBack(t, w); len(back) != 2 || back[1].Status != StatusSuccess || back[1].Key != fp(1) {
		t.Errorf("after resume: read back %+v, want the failed row then the successful one", back)
	}
}

func TestWriteAfterClose(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	mustClose(t, w)
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	err := w.Write([]Result{{TicketID: "1", Status: StatusInvalid, Message: "x", Line: 2}})
	if !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: err = %v, want os.ErrClosed", err)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "x.results.csv")
	_, err := Open(path, Create)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open in a missing directory: err = %v, want ErrNotExist", err)
	}
	if _, serr := os.Stat(filepath.Dir(path)); !errors.Is(serr, os.ErrNotExist) {
		t.Error("Open created the parent directory")
	}
}

func TestUnknownMode(t *testing.T) {
	path := tempPath(t)
	if _, err := Open(path, Mode(7)); err == nil {
		t.Fatal("Open with Mode(7): no error")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("Open with a bad mode created the file")
	}
}

func TestWriteFailureIsSticky(t *testing.T) {
	path := tempPath(t)
	w := mustOpen(t, path, Create)
	ok := Result{TicketID: "1", Status: StatusInvalid, Message: "x", Line: 2, FinishedAt: t0}
	mustWrite(t, w, ok)
	w.f.Close() // the disk goes away under the writer
	err := w.Write([]Result{ok})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Write on a dead file: err = %v, want an error naming the file", err)
	}
	if err2 := w.Write([]Result{ok}); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("second Write: err = %v, want the first error again", err2)
	}
	if got := len(readCSV(t, path)); got != 2 {
		t.Errorf("file has %d records, want header + 1", got)
	}
}

func TestCreateAppendsToHeaderOnlyFile(t *testing.T) {
	path := tempPath(t)
	writeFile(t, path, Header+"\n")
	w := mustOpen(t, path, Create)
	mustWrite(t, w, Result{TicketID: "1", Status: StatusInvalid, Message: "x", Line: 2, FinishedAt: t0})
	mustClose(t, w)
	if got, want := readFile(t, path), Header+"\n1,invalid,x,2,,0,2025-03-14T03:56:53.589Z,\n"; got != want {
		t.Errorf("file %q, want %q", got, want)
	}
}

// readCSVString parses s with encoding/csv; nil when it does not parse.
func readCSVString(t *testing.T, s string) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil
	}
	return recs
}
