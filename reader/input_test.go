package reader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCRReader(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lf", "a\nb\r\nc\rd\n", "a\nb\r\nc\rd\n"},
		{"crlf", "a\r\nb\rc\r\n", "a\r\nb\rc\r\n"},
		{"cr only", "a\rb\r\"c\rd\"\r", "a\nb\n\"c\nd\"\n"},
		{"cr then crlf", "a\rb\r\nc\r", "a\nb\nc\n"},
		{"cr at end", "abc\r", "abc\n"},
		{"no line end", "abc", "abc"},
		{"empty", "", ""},
		{"cr cr", "a\r\rb", "a\n\nb"},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tt := range tests {
		for rn, wrap := range readers {
			t.Run(tt.name+"/"+rn, func(t *testing.T) {
				got, err := io.ReadAll(&crReader{r: wrap(strings.NewReader(tt.in))})
				if err != nil {
					t.Fatal(err)
				}
				// A CRLF may come out as LF when split across reads:
				// the same line ending to encoding/csv.
				if norm := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }; norm(string(got)) != norm(tt.want) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		in    string
		comma rune
		sep   bool
	}{
		{"a,b,c\n", ',', false},
		{"a;b;c\n", ';', false},
		{"a\tb\tc\n", '\t', false},
		{"a|b|c\n", '|', false},
		{"a,b;c\n", ',', false},                  // tie: comma first
		{"a;b|c\n", ';', false},                  // tie: ; before |
		{"\"a,b,c\";d;e\n1,2,3,4\n", ';', false}, // commas inside quotes do not count
		{"\"x\ny,z,w\";q;r\n", ';', false},       // a quoted newline does not end the header
		{"\n\na;b\n", ';', false},                // blank lines before the header
		{"single\n", ',', false},
		{"sep=;\na,b,c\n", ';', true},
		{"SEP=|\r\na,b\n", '|', true},
		{"\"sep=\t\"\na,b\n", '\t', true},
		{"sep=;;\na,b\n", ';', false}, // not a sep= line: the header
		{"", ',', false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			src, err := newSource(strings.NewReader(tt.in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if src.comma != tt.comma || (src.lineOffset == 1) != tt.sep {
				t.Errorf("comma %q sep line %v, want %q %v", src.comma, src.lineOffset == 1, tt.comma, tt.sep)
			}
		})
	}
}

func TestOptionsRefused(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		// fileErr: a *FileError containing this; else an ErrOptions error
		fileErr string
	}{
		{name: "unknown encoding", opts: Options{Encoding: "latin-9"}},
		{name: "bad delimiter", opts: Options{Delimiter: ':'}},
		{name: "bom with windows-1252", in: "\xef\xbb\xbfticket_id,sub_status\n", opts: Options{Encoding: "windows-1252"}, fileErr: "UTF-8 byte order mark"},
		{name: "utf-16 with windows-1252", in: "\xff\xfet\x00", opts: Options{Encoding: "cp1252"}, fileErr: "UTF-16LE byte order mark"},
		{name: "sep= unsupported", in: "sep=:\nticket_id:sub_status\n", fileErr: `the sep= line names delimiter ':'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in == "" {
				in = "ticket_id,sub_status\n1,CL\n"
			}
			_, errOpen := Open(strings.NewReader(in), tt.opts)
			_, errCheck := Check(strings.NewReader(in), tt.opts)
			for _, err := range []error{errOpen, errCheck} {
				var fe *FileError
				switch {
				case tt.fileErr == "" && !errors.Is(err, ErrOptions):
					t.Errorf("error = %v, want ErrOptions", err)
				case tt.fileErr != "" && (!errors.As(err, &fe) || !strings.Contains(fe.Msg, tt.fileErr)):
					t.Errorf("error = %v, want a FileError with %q", err, tt.fileErr)
				}
			}
		})
	}
}

// TestChunking reads every testdata file whole, one byte at a time and in
// halves: the records, skips and errors must not depend on how the input
// arrives (stdin comes in arbitrary pieces; CRLF may be split).
func TestChunking(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Recs    []Record
		Skipped int
		Err     string
	}
	run := func(r io.Reader) result {
		recs, rd, err := readAll(r, Options{Name: "x"})
		res := result{Recs: recs}
		if rd != nil {
			res.Skipped = rd.Skipped()
		}
		if err != nil {
			res.Err = err.Error()
		}
		return res
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := run(strings.NewReader(string(data)))
			for name, r := range map[string]io.Reader{
				"one byte": iotest.OneByteReader(strings.NewReader(string(data))),
				"half":     iotest.HalfReader(strings.NewReader(string(data))),
				"data+EOF": iotest.DataErrReader(strings.NewReader(string(data))),
			} {
				if got := run(r); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %+v\nwant %+v", name, got, want)
				}
			}
		})
	}
}
