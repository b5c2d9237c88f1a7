package batch

import (
	"encoding/json"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/reader"
)

func TestNewRowEncodesDocumentedKeysAndExtras(t *testing.T) {
	rec := reader.Record{
		Line: 7, TicketID: "713516551148", SubStatus: "PS", Comment: "line one\nline \"two\"\t\\ <b>",
		CallbackTime: "2024-04-19 14:19:11",
		Extra:        []reader.Field{{Name: "priority", Value: "high"}},
	}
	row := NewRow(rec)
	var got map[string]string
	if err := json.Unmarshal(row.Object, &got); err != nil {
		t.Fatalf("object is not JSON: %v\n%s", err, row.Object)
	}
	want := map[string]string{
		"ticket_id": "713516551148", "sub_status": "PS", "queue": "", "comment": rec.Comment,
		"callback_time": "2024-04-19 14:19:11", "disposition": "", "priority": "high",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d keys %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if row.Line != 7 || row.TicketID != rec.TicketID {
		t.Errorf("row = %+v", row)
	}
	rec2 := rec
	rec2.SubStatus = "CL"
	if string(NewRow(rec2).Object) == string(row.Object) {
		t.Error("an edited row sends the same object")
	}
	if string(NewRow(rec).Object) != string(row.Object) {
		t.Error("the object of a row is not stable")
	}
}

func TestPayloadIsAnArrayOfTheObjects(t *testing.T) {
	rows := []Row{
		NewRow(reader.Record{TicketID: "1", SubStatus: "P"}),
		NewRow(reader.Record{TicketID: "2", SubStatus: "CL"}),
	}
	var got []map[string]string
	if err := json.Unmarshal(Payload(rows), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["ticket_id"] != "1" || got[1]["sub_status"] != "CL" {
		t.Fatalf("payload = %v", got)
	}
}
