package reader

import (
	"strings"
	"testing"
)

// TestEscapeCell: EscapeCell marks every cell a spreadsheet would run, and
// UnescapeCell gives back every cell as it was, marked or not.
func TestEscapeCell(t *testing.T) {
	for _, tt := range []struct{ cell, escaped string }{
		{"=SUM(A1)", "'=SUM(A1)"},
		{"+1", "'+1"},
		{"-x", "'-x"},
		{"@user", "'@user"},
		{"\tindented", "'\tindented"},
		{"\rcr", "'\rcr"},
		{"'=already quoted", "''=already quoted"},
		{"''+twice", "'''+twice"},
		{"'plain", "'plain"},
		{"'", "'"},
		{"a=b", "a=b"},
		{" =spaced", " =spaced"},
		{"", ""},
	} {
		if got := EscapeCell(tt.cell); got != tt.escaped {
			t.Errorf("EscapeCell(%q) = %q, want %q", tt.cell, got, tt.escaped)
		}
		if got := UnescapeCell(tt.escaped); got != tt.cell {
			t.Errorf("UnescapeCell(%q) = %q, want %q", tt.escaped, got, tt.cell)
		}
	}
}

// TestFailedRowsFileUnescaped: an input with the report's error column (a
// failed rows file) has the ' of EscapeCell taken off its header and
// cells before they are used, ragged rows and Raw included; any other
// input's cells are read as they are.
func TestFailedRowsFileUnescaped(t *testing.T) {
	const rows = "713517204455,'-P,'=SUM(A1),'@q,''+x,'+1\n" +
		"713517204456,CL,'\tnote\n" // ragged: one cell short
	withErr := "ticket_id,sub_status,comment,queue,'=Notes,error\n" + rows
	recs, rd, err := readAll(strings.NewReader(withErr), Options{KeepRaw: true, AllExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rd.RawHeader(), "|"); got != "ticket_id|sub_status|comment|queue|=Notes|error" {
		t.Errorf("RawHeader = %q", got)
	}
	r := recs[0]
	if r.SubStatus != "-P" || r.Comment != "=SUM(A1)" || r.Queue != "@q" ||
		len(r.Extra) != 1 || r.Extra[0] != (Field{"=notes", "'+x"}) {
		t.Errorf("failed rows file: %+v, want its cells without the added '", r)
	}
	if got := strings.Join(r.Raw, "|"); got != "713517204455|-P|=SUM(A1)|@q|'+x|+1" {
		t.Errorf("Raw = %q", got)
	}
	if recs[1].Comment != "\tnote" || recs[1].Raw[2] != "\tnote" {
		t.Errorf("ragged row: comment %q, Raw %q; want the cell without the added '", recs[1].Comment, recs[1].Raw)
	}

	plain := "ticket_id,sub_status,comment,queue,'=Notes,other\n" + rows
	recs, _, err = readAll(strings.NewReader(plain), Options{AllExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := recs[0]; r.SubStatus != "'-P" || r.Comment != "'=SUM(A1)" || r.Extra[0] != (Field{"'=notes", "''+x"}) {
		t.Errorf("ordinary input: %+v, want its cells as they are", r)
	}
}
