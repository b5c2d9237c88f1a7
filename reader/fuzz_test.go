package reader

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReader feeds arbitrary bytes through Open/Next and Check. It must
// never panic or hang; every row is a Record whose line is after the header
// and after the previous row, or an error with a line; Check refuses exactly
// what Open/Next refuse, and counts as many records; a valid record never
// carries text the CRM must not get. mode picks the options: bit 0 windows-1252, bits 1-3 a delimiter.
func FuzzReader(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
	}
	f.Add([]byte("ticket_id,sub_status\n1,CL,x,y\n2\n"), uint8(0))
	f.Add([]byte("sep=|\nticket_id|sub_status\n1|\"a\rb\"\r"), uint8(1))
	f.Add([]byte("ticket_id;sub_status\n1;CL\n"), uint8(4))

	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		opts := Options{Name: "fuzz"}
		if mode&1 != 0 {
			opts.Encoding = "windows-1252"
		}
		opts.Delimiter = []rune{0, ',', ';', '\t', '|', 0, 0, 0}[mode>>1&7]
		records, checkErr := Check(strings.NewReader(string(data)), opts)

		rd, err := Open(strings.NewReader(string(data)), opts)
		if err != nil {
			sameRefusal(t, err, checkErr)
			return
		}
		hdrLen := len(rd.hdr.names)
		last := 1
		// Each Next consumes at least one byte, so a run longer than the
		// input is a hang.
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("Next did not end after %d calls on %d bytes", i, len(data))
			}
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				if checkErr != nil {
					t.Fatalf("Check refused (%v) what Open/Next read to the end", checkErr)
				}
				if rd.Records() != records {
					t.Fatalf("Next read %d records, Check %d", rd.Records(), records)
				}
				break
			}
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Line < 1 {
					t.Fatalf("Next error without a line: %v", err)
				}
				sameRefusal(t, err, checkErr)
				if _, again := rd.Next(); again != err {
					t.Fatalf("Next after a refusal returned %v, want the same refusal", again)
				}
				break
			}
			if rec.Line < 2 || rec.Line <= last {
				t.Fatalf("record line %d after line %d", rec.Line, last)
			}
			last = rec.Line
			if rec.Invalid == "" {
				validRecord(t, rec)
			}
		}
		if rd.Skipped() < 0 || hdrLen == 0 {
			t.Fatalf("skipped %d, header %q", rd.Skipped(), rd.hdr.names)
		}
	})
}

func sameRefusal(t *testing.T, openErr, checkErr error) {
	t.Helper()
	var a, b *FileError
	if errors.As(openErr, &a) != errors.As(checkErr, &b) || (a != nil && *a != *b) {
		t.Fatalf("Open/Next refused with %v but Check with %v", openErr, checkErr)
	}
}

func validRecord(t *testing.T, rec Record) {
	t.Helper()
	if !digitsOnly(rec.TicketID) || rec.SubStatus == "" {
		t.Fatalf("valid record with ticket_id %q sub_status %q", rec.TicketID, rec.SubStatus)
	}
	vals := []string{rec.TicketID, rec.SubStatus, rec.Queue, rec.Comment, rec.CallbackTime, rec.Disposition}
	for _, f := range rec.Extra {
		vals = append(vals, f.Value)
	}
	for _, v := range vals {
		if !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError) || strings.ContainsRune(v, 0) {
			t.Fatalf("valid record sends %q", v)
		}
	}
}

// FuzzSplitRecord holds splitRecord (used for ragged rows) to encoding/csv:
// on any record encoding/csv accepts, both must give the same fields.
func FuzzSplitRecord(f *testing.F) {
	f.Add([]byte("a,\"b\r\nc\",\"d\"\"e\"\r\n"), uint8(','))
	f.Add([]byte("\n\r\n x ;\"\";\r"), uint8(';'))
	f.Add([]byte("a\rb|c"), uint8('|'))
	f.Fuzz(func(t *testing.T, data []byte, c uint8) {
		comma := []rune{',', ';', '\t', '|'}[c%4]
		cr := csv.NewReader(strings.NewReader(string(data)))
		cr.Comma = comma
		cr.FieldsPerRecord = -1
		want, err := cr.Read()
		if err != nil {
			return
		}
		got := splitRecord(data[:cr.InputOffset()], byte(comma))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("splitRecord(%q) = %q, encoding/csv says %q", data[:cr.InputOffset()], got, want)
		}
	})
}
