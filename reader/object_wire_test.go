package reader_test

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/reader"
)

// TestObjectLimitMatchesTheWire holds the reader's count of a row's
// request object to the object AppendObject writes (what the engine sends): a row whose object is
// exactly MaxObjectBytes is valid, one byte more is invalid, whatever
// the text needs escaped.
func TestObjectLimitMatchesTheWire(t *testing.T) {
	flavours := map[string]string{
		"plain":       "",
		"line breaks": "one\ntwo\n",
		"tab and CR":  "tab\tcr\r.",
		"quotes":      `say "hi" \ back`,
		"format":      "\u200b\u202e mixed direction",
		"separators":  "\u2028 and \u2029",
		"non-ASCII":   "é ü 漢字 🙂",
	}
	for name, text := range flavours {
		t.Run(name, func(t *testing.T) {
			rec := reader.Record{TicketID: "713517204455", SubStatus: "CL", Comment: text,
				Extra: []reader.Field{{Name: "region", Value: "north"}}}
			pad := reader.MaxObjectBytes - len(reader.AppendObject(nil, rec))
			for _, over := range []int{0, 1} {
				comment := text + strings.Repeat("x", pad+over)
				got := readOne(t, comment)
				size := len(reader.AppendObject(nil, got))
				switch {
				case over == 0 && (got.Invalid != "" || size != reader.MaxObjectBytes):
					t.Errorf("object of %d bytes: invalid %q", size, got.Invalid)
				case over == 1 && !strings.Contains(got.Invalid, "the limit is 16 KiB per row"):
					t.Errorf("one byte over: invalid %q", got.Invalid)
				}
			}
		})
	}
}

// readOne writes a file of one row with this comment and reads it back.
func readOne(t *testing.T, comment string) reader.Record {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"ticket_id", "sub_status", "comment", "region"})
	w.Write([]string{"713517204455", "CL", comment, "north"})
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	rd, err := reader.Open(in, reader.Options{Name: "in.csv", ExtraColumns: []string{"region"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("a second row: %v", err)
	}
	return rec
}
