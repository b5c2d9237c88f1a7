package writer

import (
	"errors"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// TestReadRowsToleratesDamage: a results file a spreadsheet re-saved or a
// person edited is read line by line; a line that cannot be read costs its
// own row, never the file.
func TestReadRowsToleratesDamage(t *testing.T) {
	const key = "k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708"
	k, _ := rowkey.Parse(key)
	tests := []struct {
		name string
		line string
		want Row
	}{
		{"sound", "713516551148,success,ok,2,200,1,2026-01-01T00:00:00.000Z," + key,
			Row{Status: StatusSuccess, Key: k, KeyOK: true, Line: 2, TicketID: "713516551148", Message: "ok"}},
		{"excel ticket id and date", "7.13517E+11,success,ok,2,200,1,01/01/2026 00:00," + key,
			Row{Status: StatusSuccess, Key: k, KeyOK: true, Line: 2, TicketID: "7.13517E+11", Message: "ok"}},
		{"quoted cells", `"7135",failed,"a ""quoted"", message",3,,6,x,` + key,
			Row{Status: StatusFailed, Key: k, KeyOK: true, Line: 3, TicketID: "7135", Message: `a "quoted", message`}},
		{"invalid row has no fingerprint", "x,invalid,bad,4,,0,x,",
			Row{Status: StatusInvalid, Line: 4, TicketID: "x", Message: "bad"}},
		{"excel ate a legacy fingerprint", "1,success,ok,5,200,1,x,5.46614E+15",
			Row{Status: StatusSuccess, Line: 5, TicketID: "1", Message: "ok", Damaged: `fingerprint "5.46614E+15"`}},
		{"success without fingerprint", "1,success,ok,6,200,1,x,",
			Row{Status: StatusSuccess, Line: 6, TicketID: "1", Message: "ok", Damaged: "no fingerprint"}},
		{"unknown status", "1,Success!,ok,7,200,1,x," + key,
			Row{Key: k, KeyOK: true, Line: 7, TicketID: "1", Message: "ok", Damaged: `status "Success!"`}},
		{"bad line cell", "1,success,ok,2.0,200,1,x," + key,
			Row{Status: StatusSuccess, Key: k, KeyOK: true, TicketID: "1", Message: "ok", Damaged: `line "2.0"`}},
		{"a cell too many", "1,success,ok,2,200,1,x," + key + ",extra", Row{Damaged: "9 cells, want 8"}},
		{"a cell short", "1,success,ok,2,200,1,x", Row{Damaged: "7 cells, want 8"}},
		{"broken quote", `"1,success,ok,2,200,1,x,` + key, Row{Damaged: "broken quoting"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "\ufeff" + Header + "\r\n" + tt.line + "\r\n"
			var got []Row
			err := ReadRows(strings.NewReader(file), "r.csv", func(r Row) error { got = append(got, r); return nil })
			if err != nil {
				t.Fatal(err)
			}
			// After a BOM, the header and a CRLF: where the row's line starts.
			tt.want.FileLine, tt.want.Offset = 2, int64(len("\ufeff"+Header+"\r\n"))
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadRowsDamageStaysOnItsLine(t *testing.T) {
	file := Header + "\n" +
		`"broken,success,ok,2,200,1,x,k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708` + "\n" +
		"1,success,ok,3,200,1,x,k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708\n\n"
	var got []Row
	if err := ReadRows(strings.NewReader(file), "r.csv", func(r Row) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Damaged == "" || got[1].Damaged != "" || got[1].Line != 3 {
		t.Errorf("got %+v: want a damaged row, then the next one whole", got)
	}
}

// TestReadRowsMessages: every row gets its own message, whether it repeats
// the row before's (and shares its string) or not.
func TestReadRowsMessages(t *testing.T) {
	const key = ",k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708"
	file := Header + "\n" +
		"1,success,Updated.,2,200,1,x" + key + "\n" +
		"2,success,Updated.,3,200,1,x" + key + "\n" +
		"3,failed,No ticket found for ticket_id 3,4,200,1,x" + key + "\n" +
		"4,success,Updated.,5,200,1,x" + key + "\n" +
		"5,success,,6,200,1,x" + key + "\n"
	var got []string
	if err := ReadRows(strings.NewReader(file), "r.csv", func(r Row) error { got = append(got, r.Message); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"Updated.", "Updated.", "No ticket found for ticket_id 3", "Updated.", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("messages %q, want %q", got, want)
	}
}

func TestReadRowsRefusesAnotherHeader(t *testing.T) {
	err := ReadRows(strings.NewReader("ticket_id,sub_status\n1,CL\n"), "in.csv", func(Row) error { return nil })
	if !errors.Is(err, ErrNotResults) || !strings.Contains(err.Error(), "in.csv") {
		t.Errorf("err = %v, want ErrNotResults naming the file", err)
	}
}

func TestReadRowsVeryLongLine(t *testing.T) {
	msg := strings.Repeat("x", 200<<10) // longer than the read buffer
	file := Header + "\n1,failed," + msg + ",2,,1,x,k3f9a0c1d2e4b5a6c.71a2b3c4d5e6f708\n"
	var got []Row
	if err := ReadRows(strings.NewReader(file), "r.csv", func(r Row) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Damaged != "" || got[0].Line != 2 {
		t.Errorf("got %+v", got)
	}
}

func FuzzSplitCells(f *testing.F) {
	f.Add(`a,"b ""c""",,d`)
	f.Fuzz(func(t *testing.T, line string) {
		if line == "" || strings.ContainsAny(line, "\r\n") {
			return // ReadRows skips blank lines; a row is one line
		}
		var cells [columns][]byte
		n, ok := splitCells([]byte(line), cells[:])
		if !ok || n > columns {
			return
		}
		// Where encoding/csv reads the line too, both read the same
		// cells (splitCells also takes a bare quote inside an unquoted
		// cell, which encoding/csv refuses).
		recs := readCSVString(t, line+"\n")
		if recs == nil {
			return
		}
		if len(recs) != 1 || len(recs[0]) != n {
			t.Fatalf("%q: %d cells, encoding/csv says %q", line, n, recs)
		}
		for i := range n {
			if string(cells[i]) != recs[0][i] {
				t.Fatalf("%q: cell %d = %q, encoding/csv says %q", line, i, cells[i], recs[0][i])
			}
		}
	})
}
