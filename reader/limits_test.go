package reader

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// maxMessage bounds what a refusal or an invalid row may say: a line a
// person reads, never a dump of the input.
const maxMessage = 300

// writeTemp writes what gen produces to a file in a temporary folder.
func writeTemp(t *testing.T, name string, gen func(w *bufio.Writer)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	gen(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// repeat writes s n times.
func repeat(w *bufio.Writer, s string, n int) {
	w.WriteString(strings.Repeat(s, n))
}

// columns is a header line of n columns: ticket_id, sub_status, then c3…
func columns(n int, sep string) string {
	cols := []string{"ticket_id", "sub_status"}
	for i := 3; i <= n; i++ {
		cols = append(cols, "c"+strconv.Itoa(i))
	}
	return strings.Join(cols, sep)
}

// chunkings are the ways an input may arrive: whole reads from a file
// (nil), a byte at a time and in halves (as from a pipe).
var chunkings = map[string]func(io.Reader) io.Reader{
	"file":     nil,
	"one byte": iotest.OneByteReader,
	"half":     iotest.HalfReader,
}

// readPath reads the file at path through Open/Next and through Check,
// arriving as wrap makes it (nil: straight from the file).
func readPath(t *testing.T, path string, opts Options, wrap func(io.Reader) io.Reader) (recs []Record, nextErr, checkErr error) {
	t.Helper()
	open := func() (io.Reader, func()) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if wrap == nil {
			return f, func() { f.Close() }
		}
		return wrap(bufio.NewReader(f)), func() { f.Close() }
	}
	in, done := open()
	recs, _, nextErr = readAll(in, opts)
	done()
	in, done = open()
	_, checkErr = Check(in, opts)
	done()
	return recs, nextErr, checkErr
}

// wantRefusal checks a FileError: its place, its fragments, its length.
func wantRefusal(t *testing.T, err error, name string, line, col int, has ...string) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v, want a *FileError", err)
	}
	if fe.Name != name || fe.Line != line || fe.Column != col {
		t.Errorf("refused at %s:%d:%d, want %s:%d:%d (%v)", fe.Name, fe.Line, fe.Column, name, line, col, err)
	}
	for _, h := range has {
		if !strings.Contains(fe.Error(), h) {
			t.Errorf("message %q does not say %q", fe.Error(), h)
		}
	}
	if n := len(fe.Error()); n > maxMessage {
		t.Errorf("message is %d bytes, want at most %d: %.200q…", n, maxMessage, fe.Error())
	}
}

// fileLimitCase is an input near a limit of the whole file.
type fileLimitCase struct {
	name string
	gen  func(w *bufio.Writer)
	// errLine, errCol and errHas describe the refusal; zero errLine: the
	// file is read and recs rows come back, all valid.
	errLine, errCol int
	errHas          []string
	recs            int
}

func fileLimitCases() []fileLimitCase {
	const hdr = "ticket_id,sub_status,comment,helper\n"
	// rowOf writes a data row of exactly size bytes (line feed excluded),
	// its bulk in the helper column, which is not sent.
	rowOf := func(w *bufio.Writer, id string, size int) {
		head := id + ",CL,ok,"
		w.WriteString(head)
		repeat(w, "h", size-len(head))
		w.WriteString("\n")
	}
	// quotedRows writes rows whose quoted comments span two lines (CRLF).
	quotedRows := func(w *bufio.Writer, n int) {
		for i := range n {
			fmt.Fprintf(w, "%d,CL,\"two\r\nlines\",\r\n", 100+i)
		}
	}
	return []fileLimitCase{
		{name: "header at the byte limit", recs: 1, gen: func(w *bufio.Writer) {
			w.WriteString("ticket_id,sub_status,")
			repeat(w, "x", MaxRecordBytes-len("ticket_id,sub_status,"))
			w.WriteString("\n1,CL,\n")
		}},
		{name: "header over the byte limit", errLine: 1, errHas: []string{"header", "1 MiB", "no line break"}, gen: func(w *bufio.Writer) {
			w.WriteString("ticket_id,sub_status,")
			repeat(w, "x", MaxRecordBytes+1-len("ticket_id,sub_status,"))
			w.WriteString("\n1,CL,\n")
		}},
		{name: "header at the column limit", recs: 1, gen: func(w *bufio.Writer) {
			w.WriteString(columns(MaxColumns, ",") + "\n1,CL" + strings.Repeat(",", MaxColumns-2) + "\n")
		}},
		{name: "header over the column limit", errLine: 1, errHas: []string{"more than 1000 columns"}, gen: func(w *bufio.Writer) {
			w.WriteString(columns(MaxColumns+1, ",") + "\n1,CL" + strings.Repeat(",", MaxColumns-1) + "\n")
		}},
		{name: "a million columns", errLine: 1, errHas: []string{"more than 1000 columns"}, gen: func(w *bufio.Writer) {
			w.WriteString(columns(1_000_000, ",") + "\n")
		}},
		{name: "too many columns after sep= and blank lines", errLine: 4, errHas: []string{"more than 1000 columns"}, gen: func(w *bufio.Writer) {
			w.WriteString("sep=;\n\r\n\n" + columns(MaxColumns+1, ";") + "\n")
		}},
		{name: "quoted separators are no columns", recs: 1, gen: func(w *bufio.Writer) {
			w.WriteString(`ticket_id,sub_status,"` + strings.Repeat(",", 2*MaxColumns) + "\"\n1,CL,\n")
		}},
		{name: "row at the byte limit", recs: 3, gen: func(w *bufio.Writer) {
			w.WriteString(hdr)
			rowOf(w, "1", 100)
			rowOf(w, "2", MaxRecordBytes)
			rowOf(w, "3", 100)
		}},
		{name: "row at the byte limit with CRLF", recs: 2, gen: func(w *bufio.Writer) {
			w.WriteString(hdr)
			w.WriteString("1,CL,ok,")
			repeat(w, "h", MaxRecordBytes-len("1,CL,ok,")-1)
			w.WriteString("\r\n2,CL,ok,\r\n")
		}},
		{name: "row over the byte limit", errLine: 3, errHas: []string{"row starting here", "1 MiB", "no line break"}, gen: func(w *bufio.Writer) {
			w.WriteString(hdr)
			rowOf(w, "1", 100)
			rowOf(w, "2", MaxRecordBytes+1)
			rowOf(w, "3", 100)
		}},
		{name: "row over the byte limit after multi-line rows", errLine: 2 + 2*5 + 1, errHas: []string{"row starting here", "1 MiB"}, gen: func(w *bufio.Writer) {
			w.WriteString(hdr)
			quotedRows(w, 5)
			w.WriteString("\r\n") // a blank line
			rowOf(w, "2", MaxRecordBytes+1)
		}},
		{name: "quoted field over the byte limit", errLine: 4, errCol: 3, errHas: []string{"1 MiB", "column 3 (comment)", "closing quote"}, gen: func(w *bufio.Writer) {
			w.WriteString(hdr)
			quotedRows(w, 1)
			w.WriteString("2,CL,\"")
			repeat(w, "a long comment\n", MaxRecordBytes/15+1)
			w.WriteString("\",\n")
		}},
		{name: "quote never closed", errLine: 3, errCol: 4, errHas: []string{"1 MiB", "column 4 (helper)", "closing quote"}, gen: func(w *bufio.Writer) {
			w.WriteString(hdr)
			rowOf(w, "1", 100)
			w.WriteString("2,CL,ok,\"oops\n")
			for i := range MaxRecordBytes / 10 {
				fmt.Fprintf(w, "%d,CL,ok,\n", 1000+i)
			}
		}},
	}
}

func TestFileLimits(t *testing.T) {
	for _, tt := range fileLimitCases() {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, "in.csv", tt.gen)
			// A byte at a time is TestRecordGuardChunking's: through the
			// whole reader it is slow.
			for _, how := range []string{"file", "half"} {
				wrap := chunkings[how]
				t.Run(how, func(t *testing.T) {
					recs, err, checkErr := readPath(t, path, Options{Name: "in.csv"}, wrap)
					if tt.errLine == 0 {
						if err != nil || checkErr != nil {
							t.Fatalf("refused: %v / Check: %v", err, checkErr)
						}
						if len(recs) != tt.recs {
							t.Fatalf("%d records, want %d", len(recs), tt.recs)
						}
						for _, r := range recs {
							if r.Invalid != "" {
								t.Errorf("line %d invalid: %s", r.Line, r.Invalid)
							}
						}
						return
					}
					wantRefusal(t, err, "in.csv", tt.errLine, tt.errCol, tt.errHas...)
					sameRefusal(t, err, checkErr)
				})
			}
		})
	}
}

func TestObjectLimit(t *testing.T) {
	over := fmt.Sprintf("the limit is %d KiB per row", MaxObjectBytes>>10)
	// pad makes the request object of ticket 1, sub_status CL and a
	// comment of prefix plus padding exactly size bytes (see
	// TestObjectLimitMatchesTheWire for the wire's own count).
	pad := func(prefix string, size int) string {
		n := size - objectOverhead - len("1") - len("CL") - jsonLen(prefix)
		return prefix + strings.Repeat("x", n)
	}
	csvRow := func(id, comment string) string {
		return id + `,CL,"` + strings.ReplaceAll(comment, `"`, `""`) + "\",\n"
	}
	tests := []struct {
		name    string
		opts    Options
		gen     func(w *bufio.Writer)
		invalid string // fragment of line 3's message; "" valid
		ticket  string // line 3's TicketID
	}{
		{name: "at the limit", ticket: "1", gen: func(w *bufio.Writer) {
			w.WriteString(csvRow("1", pad("", MaxObjectBytes)))
		}},
		{name: "one byte over", ticket: "1", invalid: "comment: 16 KiB", gen: func(w *bufio.Writer) {
			w.WriteString(csvRow("1", pad("", MaxObjectBytes+1)))
		}},
		{name: "escapes at the limit", ticket: "1", gen: func(w *bufio.Writer) {
			w.WriteString(csvRow("1", pad("say \"hi\"\n\\ \t \r x\u2028", MaxObjectBytes)))
		}},
		{name: "escapes one byte over", ticket: "1", invalid: over, gen: func(w *bufio.Writer) {
			w.WriteString(csvRow("1", pad("say \"hi\"\n\\ \t \r x\u2028", MaxObjectBytes+1)))
		}},
		{name: "control bytes count six", ticket: "1", invalid: over, gen: func(w *bufio.Writer) {
			w.WriteString(csvRow("1", strings.Repeat("\x01", MaxObjectBytes/6+1)))
		}},
		{name: "an extra column sent", opts: Options{ExtraColumns: []string{"region"}}, ticket: "1", invalid: "region: 20 KiB", gen: func(w *bufio.Writer) {
			w.WriteString("1,CL,ok," + strings.Repeat("r", 20<<10) + "\n")
		}},
		{name: "an extra column not sent", ticket: "1", gen: func(w *bufio.Writer) {
			w.WriteString("1,CL,ok," + strings.Repeat("r", 500<<10) + "\n")
		}},
		{name: "a huge ticket_id is not kept", invalid: "ticket_id: ", gen: func(w *bufio.Writer) {
			w.WriteString(strings.Repeat("7", 20<<10) + ",CL,,\n")
		}},
		{name: "a ragged row", ticket: "1", invalid: "extra in this row; the row's request object would be 21 KiB", gen: func(w *bufio.Writer) {
			w.WriteString("1,CL," + strings.Repeat("c", 20<<10) + ",,extra\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, "in.csv", func(w *bufio.Writer) {
				w.WriteString("ticket_id,sub_status,comment,region\n2,CL,before,\n")
				tt.gen(w)
				w.WriteString("4,CL,after,\n")
			})
			tt.opts.Name = "in.csv"
			recs, err, checkErr := readPath(t, path, tt.opts, chunkings["file"])
			if err != nil || checkErr != nil {
				t.Fatalf("refused: %v / Check: %v", err, checkErr)
			}
			if len(recs) != 3 || recs[0].Line != 2 || recs[1].Line != 3 {
				t.Fatalf("records on lines %v, want 2, 3 and one more", lines(recs))
			}
			got := recs[1]
			if got.TicketID != tt.ticket {
				t.Errorf("ticket_id %.20q, want %q", got.TicketID, tt.ticket)
			}
			switch {
			case tt.invalid == "" && got.Invalid != "":
				t.Errorf("invalid: %s", got.Invalid)
			case tt.invalid != "" && !strings.Contains(got.Invalid, tt.invalid):
				t.Errorf("invalid %q, want it to say %q", got.Invalid, tt.invalid)
			case len(got.Invalid) > maxMessage:
				t.Errorf("message is %d bytes: %.100q…", len(got.Invalid), got.Invalid)
			case tt.invalid != "" && len(got.Comment)+len(got.SubStatus)+len(got.Extra) > 0:
				t.Errorf("an oversized row keeps its values: comment %d bytes, %d extras", len(got.Comment), len(got.Extra))
			}
			if recs[0].Invalid != "" || recs[2].Invalid != "" {
				t.Errorf("the rows around it: %q, %q", recs[0].Invalid, recs[2].Invalid)
			}
		})
	}
}

func lines(recs []Record) []int {
	var l []int
	for _, r := range recs {
		l = append(l, r.Line)
	}
	return l
}

// TestKeptTicketIDsPinNoRecords keeps the ticket_id of rows whose bulk is
// a column not sent, as the engine's queues do: the memory kept must be
// the ids, not the records they were cut from.
func TestKeptTicketIDsPinNoRecords(t *testing.T) {
	const rows, helper = 64, 512 << 10 // 32 MiB of input
	path := writeTemp(t, "in.csv", func(w *bufio.Writer) {
		w.WriteString("ticket_id,sub_status,helper\n")
		for i := range rows {
			fmt.Fprintf(w, "%d,CL,", 713517204455+i)
			repeat(w, "h", helper)
			w.WriteString("\n")
		}
	})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := Open(f, Options{Name: "in.csv"})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, rec.TicketID)
	}
	runtime.GC() // only the ids are still reachable
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if got, want := len(kept), rows; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	if ms.HeapAlloc > 8<<20 {
		t.Errorf("%d MiB of heap held by %d ticket ids, want under 8 MiB", ms.HeapAlloc>>20, len(kept))
	}
	runtime.KeepAlive(kept)
}

// TestRecordGuardChunking: where the guard stops and what it says do not
// depend on how the input arrives.
func TestRecordGuardChunking(t *testing.T) {
	pass := func(r io.Reader, comma rune) (int64, error) {
		n, err := io.Copy(io.Discard, newRecordGuard(r, comma))
		var le *limitError
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("error %v, want a *limitError", err)
		}
		return n, err
	}
	for _, tt := range fileLimitCases() {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			tt.gen(w)
			w.Flush()
			data := buf.Bytes()
			comma := ','
			if bytes.HasPrefix(data, []byte("sep=;\n")) {
				data, comma = data[len("sep=;\n"):], ';' // the source consumes it
			}
			n, err := pass(bytes.NewReader(data), comma)
			if (err != nil) != (tt.errLine != 0) {
				t.Fatalf("passed %d bytes, error %v; want an error: %v", n, err, tt.errLine != 0)
			}
			for how, wrap := range chunkings {
				if wrap == nil {
					continue
				}
				gotN, gotErr := pass(wrap(bytes.NewReader(data)), comma)
				if gotN != n || fmt.Sprint(gotErr) != fmt.Sprint(err) || (err != nil && *gotErr.(*limitError) != *err.(*limitError)) {
					t.Errorf("%s: passed %d bytes, error %+v; read whole: %d bytes, %+v", how, gotN, gotErr, n, err)
				}
			}
		})
	}
}
