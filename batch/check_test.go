package batch

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/reader"
)

// TestCheckApplied: a success item whose ticket holds another sub-status
// than its row sent, or another queue than the queue it sent, is failed
// and notApplied, its message naming what the ticket holds by key and
// name; anything else reads as before the check.
func TestCheckApplied(t *testing.T) {
	row := func(id, sub, queue string) Row {
		return NewRow(reader.Record{Line: 2, TicketID: id, SubStatus: sub, Queue: queue})
	}
	item := func(id, ticket string) string {
		return `{"ticket":{"ticketId":"` + id + `"` + ticket + `},"message":"Status and Comment have been updated.","status":"success"}`
	}
	ps := `,"status":"P","statusName":"Pending","substatus":"PS","substatusName":"Pending Seller"`
	l2 := `,"queueKey":"L2","queueName":"L2-Billing"`
	for _, tt := range []struct {
		name    string
		mode    ObjectReplies
		body    string
		rows    []Row
		entries []string // per row: ok, failed, not applied, unknown
		msgHas  string   // of the not applied entry
	}{
		{name: "array: holds what was sent", body: "[" + item("711", ps) + "]", rows: []Row{row("711", "PS", "")}, entries: []string{"ok"}},
		{name: "array: key in another case", body: "[" + item("711", ps) + "]", rows: []Row{row("711", "ps", "")}, entries: []string{"ok"}},
		{name: "array: holds another sub-status", body: "[" + item("711", ps) + "," + item("722", ps) + "]",
			rows: []Row{row("711", "PS", ""), row("722", "CL", "")}, entries: []string{"ok", "not applied"},
			msgHas: "not applied: the ticket holds PS (Pending Seller), not CL"},
		{name: "array: no name given", body: "[" + item("711", `,"substatus":"PS"`) + "]", rows: []Row{row("711", "CL", "")},
			entries: []string{"not applied"}, msgHas: "not applied: the ticket holds PS, not CL"},
		{name: "array: no sub-status key", body: "[" + item("711", `,"substatus":"","substatusName":"Pending"`) + "]",
			rows: []Row{row("711", "CL", "")}, entries: []string{"ok"}},
		{name: "array: another queue", body: "[" + item("711", ps+l2) + "]", rows: []Row{row("711", "PS", "ESC")},
			entries: []string{"not applied"}, msgHas: "not applied: the ticket is in queue L2 (L2-Billing), not ESC"},
		{name: "array: in no queue", body: "[" + item("711", ps+`,"queueKey":"","queueName":""`) + "]", rows: []Row{row("711", "PS", "ESC")},
			entries: []string{"not applied"}, msgHas: "not applied: the ticket is in no queue, not ESC"},
		{name: "array: the queue not shown", body: "[" + item("711", ps) + "]", rows: []Row{row("711", "PS", "ESC")}, entries: []string{"ok"}},
		{name: "array: no queue sent", body: "[" + item("711", ps+l2) + "]", rows: []Row{row("711", "PS", "")}, entries: []string{"ok"}},
		{name: "array: both", body: "[" + item("711", ps+l2) + "]", rows: []Row{row("711", "CL", "ESC")}, entries: []string{"not applied"},
			msgHas: "not applied: the ticket holds PS (Pending Seller), not CL, and is in queue L2 (L2-Billing), not ESC"},
		{name: "array: no ticket object", body: `[{"message":"ok","status":"success"}]`, rows: []Row{row("711", "CL", "ESC")}, entries: []string{"ok"}},
		{name: "array: a failed item stays failed", body: `[{"ticket":{"ticketId":"711","substatus":"PS"},"message":"no","status":"failed"}]`,
			rows: []Row{row("711", "CL", "")}, entries: []string{"failed"}},
		{name: "array: server text made safe", body: "[" + item("711", `,"substatus":"P\u001b[31mS","substatusName":"Pend\ning"`) + "]",
			rows: []Row{row("711", "CL", "")}, entries: []string{"not applied"}, msgHas: "holds PS (Pend ing), not CL"},
		{name: "object: the only item", body: item("711", ps), rows: []Row{row("711", "CL", "")}, entries: []string{"not applied"},
			msgHas: "holds PS (Pending Seller), not CL"},
		{name: "object: the only item, ticket not named", body: `{"ticket":{"substatus":"PS"},"status":"success"}`, rows: []Row{row("711", "CL", "")},
			entries: []string{"not applied"}, msgHas: "holds PS, not CL"},
		{name: "object: whole payload, the item named", mode: ObjectWhole, body: item("722", ps), rows: []Row{row("711", "CL", ""), row("722", "CL", "")},
			entries: []string{"ok", "not applied"}, msgHas: "holds PS (Pending Seller), not CL"},
		{name: "object: auto, the item named", body: item("722", ps), rows: []Row{row("711", "CL", ""), row("722", "CL", "")},
			entries: []string{"unknown", "not applied"}, msgHas: "holds PS (Pending Seller), not CL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := checkApplied(interpret(http.StatusOK, http.Header{}, []byte(tt.body), tt.rows, tt.mode), tt.rows)
			var got []string
			if out.kind == kindSuccess {
				got = slices.Repeat([]string{"ok"}, len(tt.rows))
			}
			for _, en := range out.entries {
				w := entryWords([]entry{en})[0]
				if en.notApplied {
					w = "not applied"
					if !strings.Contains(en.message, tt.msgHas) || en.ok {
						t.Errorf("not applied entry: ok %v, message %q, want %q", en.ok, en.message, tt.msgHas)
					}
				}
				got = append(got, w)
			}
			if !slices.Equal(got, tt.entries) {
				t.Errorf("kind %d, entries %v, want %v", out.kind, got, tt.entries)
			}
		})
	}
}

// TestShownTicket: a success item's ticket carries the codes its reply
// labels, key and name, for Config.Observe.
func TestShownTicket(t *testing.T) {
	rows := []Row{NewRow(reader.Record{Line: 2, TicketID: "711", SubStatus: "PS"})}
	out := interpret(http.StatusOK, http.Header{}, []byte(`{"ticket":{"ticketId":711,"status":"P","statusName":"Pending",`+
		`"substatus":"PS","substatusName":"Pending Seller","queueKey":"","queueName":""},"status":"success"}`), rows, ObjectAuto)
	want := Ticket{ID: "711", Found: true, Status: Code{Key: "P", Name: "Pending", Given: true},
		SubStatus: Code{Key: "PS", Name: "Pending Seller", Given: true}, Queue: Code{Given: true}}
	if out.kind != kindSuccess || out.shown == nil || out.shownAt != 0 {
		t.Fatalf("kind %d, shown %+v at %d; want success showing a ticket", out.kind, out.shown, out.shownAt)
	}
	if got := shownTicket(out.shown, "711"); !reflect.DeepEqual(got, want) {
		t.Errorf("shown %+v, want %+v", got, want)
	}
}
