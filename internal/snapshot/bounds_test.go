package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/reader"
)

// TestReadBounds: a snapshot is read as an input is (reader.Records): a
// record over 1 MiB is refused in one sentence naming the file and line,
// never read whole (before, an 80 MB cell was read and printed twice by
// undo); a syntax error or a file that is no text is worded as INPUT's
// (before, Go's "bare \" in non-quoted-field"). A raw snapshot's rows,
// which hold a whole read, may be larger.
func TestReadBounds(t *testing.T) {
	row := "713516551100,true,C,Complete,CL,%s,,,,2025-03-01T09:30:00.000Z," + api
	big := strings.Repeat("x", reader.MaxRecordBytes)
	for _, tt := range []struct {
		name, content string
		line          int
		msg           string
	}{
		{"a cell over 1 MiB", Header + "\n" + strings.Replace(row, "%s", big, 1) + "\n", 2, "the row starting here is longer than 1 MiB"},
		{"a bare quote", Header + "\n" + strings.Replace(row, "%s", `Closed "VIP"`, 1) + "\n", 2, `CSV syntax error: a " inside unquoted field column 6 (sub_status_name)`},
		{"no text", "\x00\x01\x02junk\n", 0, "this is not a text file"},
		{"a raw row over 4 MiB", Header + "," + RawColumn + "\n" + strings.Replace(row, "%s", "", 1) + "," + strings.Repeat(big, 4) + "\n", 2, "longer than 4 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "snap.csv")
			os.WriteFile(path, []byte(tt.content), 0o600)
			err := Read(path, func(Entry) error { return nil })
			var fe *reader.FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrNotSnapshot) || fe.Name != path || fe.Line != tt.line || !strings.Contains(fe.Msg, tt.msg) {
				t.Fatalf("Read: %v; want %s:%d: …%s…, not a snapshot", err, path, tt.line, tt.msg)
			}
			if len(err.Error()) > 400 {
				t.Errorf("the message is %d bytes long", len(err.Error()))
			}
		})
	}
	path := filepath.Join(t.TempDir(), "raw.csv")
	os.WriteFile(path, []byte(Header+","+RawColumn+"\n"+strings.Replace(row, "%s", "Closed", 1)+","+big+big+"\n"), 0o600)
	n := 0
	if err := Read(path, func(Entry) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("a raw snapshot's 2 MiB row: %v, %d entries; want it read", err, n)
	}
}
