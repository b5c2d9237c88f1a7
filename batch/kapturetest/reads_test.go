package kapturetest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// readBody is a Get Ticket body asking for ids.
func readBody(ids ...string) map[string]string {
	return map[string]string{"ticket_ids": strings.Join(ids, ",")}
}

// readDetails decodes a successful read's array and returns each
// element's task_details, checking the element's other two members.
func readDetails(t *testing.T, r reply) []map[string]any {
	t.Helper()
	var elems []struct {
		AdditionalInfo map[string]any `json:"additional_info"`
		History        []any          `json:"history"`
		TaskDetails    map[string]any `json:"task_details"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &elems) != nil {
		t.Fatalf("read: HTTP %d %.300s, want 200 and an array", r.status, r.body)
	}
	out := make([]map[string]any, len(elems))
	for i, e := range elems {
		if e.AdditionalInfo == nil || e.History == nil || e.TaskDetails == nil {
			t.Errorf("element %d lacks additional_info, history or task_details: %.300s", i, r.body)
		}
		out[i] = e.TaskDetails
	}
	return out
}

var readDateRE = regexp.MustCompile(`^[0-3][0-9]-[01][0-9]-2024 [0-2][0-9]:[0-5][0-9]$`)

// TestReadShape: task_details shows the status and sub-status as names
// (keys with ReadKeys), the queue only with ReadQueue, the disposition,
// the customer, and the date as dd-MM-yyyy HH:mm.
func TestReadShape(t *testing.T) {
	edit := kapturetest.Holding{SubStatus: "PS", Queue: "L2-Billing", Disposition: "Query|Order Status"}
	base := map[string]any{"ticketId": good1, "disposition": "Query|Order Status"}
	for _, tt := range []struct {
		name string
		opts kapturetest.Options
		want map[string]any
	}{
		{"names", kapturetest.Options{}, map[string]any{"status": "Pending", "substatus": "Pending Seller"}},
		{"keys", kapturetest.Options{ReadKeys: true}, map[string]any{"status": "P", "substatus": "PS"}},
		{"names and queue", kapturetest.Options{ReadQueue: true}, map[string]any{"status": "Pending", "substatus": "Pending Seller", "queue": "L2 Billing"}},
		{"keys and queue", kapturetest.Options{ReadKeys: true, ReadQueue: true}, map[string]any{"status": "P", "substatus": "PS", "queue": "L2-Billing"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, tt.opts)
			if err := s.SetTicket(good1, edit); err != nil {
				t.Fatal(err)
			}
			got := readDetails(t, mustRead(t, s, "", readBody(good1)))
			if len(got) != 1 {
				t.Fatalf("%d elements, want 1", len(got))
			}
			tk, _ := s.Ticket(good1)
			want := map[string]any{"date": tk.Created.Format("02-01-2006 15:04"), "customerName": tk.Customer.Name,
				"customerEmail": tk.Customer.Email, "customerPhone": tk.Customer.Phone}
			for k, v := range base {
				want[k] = v
			}
			for k, v := range tt.want {
				want[k] = v
			}
			if !reflect.DeepEqual(got[0], want) {
				t.Errorf("task_details = %v, want %v", got[0], want)
			}
			if !readDateRE.MatchString(fmt.Sprint(got[0]["date"])) {
				t.Errorf("date %q, want dd-MM-yyyy HH:mm", got[0]["date"])
			}
		})
	}
}

// TestReadIDs: several ids in one string, spaces and repeats tolerated,
// answered once each in the order asked; an id that does not exist is
// absent; a read shows updates and hand edits.
func TestReadIDs(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{ReadKeys: true})
	replyTickets(t, s, []map[string]string{item(good2, "CD")})
	got := readDetails(t, mustRead(t, s, "", map[string]string{"ticket_ids": " " + good2 + ", 999999999999,," + good1 + "," + good2 + " "}))
	var seen []string
	for _, d := range got {
		seen = append(seen, fmt.Sprint(d["ticketId"], "/", d["substatus"]))
	}
	start, _ := s.Ticket(good1)
	if want := []string{good2 + "/CD", good1 + "/" + start.SubStatus.Key}; !reflect.DeepEqual(seen, want) {
		t.Errorf("read %v, want %v", seen, want)
	}
	if got := readDetails(t, mustRead(t, s, "", readBody("999999999999"))); len(got) != 0 {
		t.Errorf("an unknown ticket read as %v, want an empty array", got)
	}
	st := s.Stats()
	if st.Reads != 2 || st.ReadTickets != 4 || st.ReadFound != 2 || st.Requests != 1 {
		t.Errorf("stats %+v: want 2 reads of 4 tickets, 2 found, 1 update request", st)
	}
	if sum := s.Summary(); !strings.Contains(sum, "reads: 2 to "+kapturetest.ReadPath+", 4 tickets asked, 2 found") {
		t.Errorf("summary lacks the reads:\n%s", sum)
	}
}

// TestReadRefusals: the documented failures, and the auth of updates.
func TestReadRefusals(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{AuthStatus: 200})
	for _, tt := range []struct {
		name, token string
		body        any
		want        string
	}{
		{"an array", "", `[{"ticket_ids":"713516551148"}]`, kapturetest.MsgInvalidJSON},
		{"not JSON", "", `ticket_ids=713516551148`, kapturetest.MsgInvalidJSON},
		{"a number", "", `{"ticket_ids":713516551148}`, kapturetest.MsgInvalidJSON},
		{"cut short", "", `{"ticket_ids":"7135`, kapturetest.MsgInvalidJSON},
		{"no ticket_ids", "", `{"ticket_id":"713516551148"}`, kapturetest.MsgMissingTicketIDs},
		{"null", "", `{"ticket_ids":null}`, kapturetest.MsgMissingTicketIDs},
		{"only commas", "", `{"ticket_ids":" , ,"}`, kapturetest.MsgMissingTicketIDs},
		{"wrong token", "Basic nope", readBody(good1), kapturetest.MsgInvalidAuth},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRead(t, s, tt.token, tt.body)
			if got := summarize(t, r.body); r.status != 200 || len(got) != 1 || got[0] != "failed:"+tt.want {
				t.Errorf("HTTP %d %s, want 200 failed %q", r.status, r.body, tt.want)
			}
		})
	}
	if st := s.Stats(); st.Reads != 8 || st.ReadTickets != 0 {
		t.Errorf("stats %+v: want 8 reads, no ticket asked", st)
	}
}

// TestReadsShareTheRateLimit: a read right after an update is over a
// limit of one request per two seconds, and the other way round.
func TestReadsShareTheRateLimit(t *testing.T) {
	for _, updateFirst := range []bool{true, false} {
		s := kapturetest.NewServer(t, kapturetest.Options{RateLimit: 0.5})
		upd := func() int { return mustPost(t, s, "", []map[string]string{item(good1, "P")}).status }
		read := func() int { return mustRead(t, s, "", readBody(good1)).status }
		first, second := upd, read
		if !updateFirst {
			first, second = read, upd
		}
		if a, b := first(), second(); a != 200 || b != 429 {
			t.Errorf("update first %v: HTTP %d then %d, want 200 then 429", updateFirst, a, b)
		}
		if st := s.Stats(); st.RateLimited != 1 {
			t.Errorf("RateLimited = %d, want 1", st.RateLimited)
		}
	}
}

// TestReadFaults: random faults hit reads as updates; FailRead scripts
// reads and Fail is not asked about them; a read dropped after its
// answer still counts in ReadLog.
func TestReadFaults(t *testing.T) {
	page := kapturetest.NewServer(t, kapturetest.Options{Faults: kapturetest.Faults{ErrorPage: 1}})
	if r := mustRead(t, page, "", readBody(good1)); r.status != 500 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("read with every request faulted: HTTP %d %q, want a 500 page", r.status, r.header.Get("Content-Type"))
	}

	var mu sync.Mutex
	var asked []string
	s := kapturetest.NewServer(t, kapturetest.Options{
		Fail: func(n int, _ []kapturetest.Item) *kapturetest.Fault {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, fmt.Sprint("update ", n))
			return nil
		},
		FailRead: func(n int, ids []string) *kapturetest.Fault {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, fmt.Sprint("read ", n, " ", ids))
			if n == 1 {
				return &kapturetest.Fault{Kind: kapturetest.FaultDropAfter}
			}
			return kapturetest.InvalidAuth(401)
		},
	})
	if _, err := post(t, http.DefaultClient, s.ReadEndpoint(), "", readBody(good1, good2)); err == nil {
		t.Error("a dropped read got an answer")
	}
	mustPost(t, s, "", []map[string]string{item(good1, "P")})
	if r := mustRead(t, s, "", readBody(good1)); r.status != 401 {
		t.Errorf("revoked read: HTTP %d, want 401", r.status)
	}
	want := []string{"read 1 [" + good1 + " " + good2 + "]", "update 2", "read 3 [" + good1 + "]"}
	if !reflect.DeepEqual(asked, want) {
		t.Errorf("hooks asked %q, want %q", asked, want)
	}
	if got := s.ReadLog(good1); !reflect.DeepEqual(got, []int{1}) || s.History(good1)[0].Request != 2 {
		t.Errorf("ReadLog = %v, History %v: want the dropped read 1 before the update 2", got, s.History(good1))
	}
}

// TestReadDuringUpdate: a read of a ticket while an update for it is in
// flight is an order violation: what it shows is a race.
func TestReadDuringUpdate(t *testing.T) {
	entered, leave := make(chan struct{}), make(chan struct{})
	s := kapturetest.NewServer(t, kapturetest.Options{Fail: func(int, []kapturetest.Item) *kapturetest.Fault {
		close(entered) // the update's ticket is in flight until it is answered
		<-leave
		return nil
	}})
	done := make(chan error)
	go func() { // ends when the update is answered, after leave
		_, err := post(t, http.DefaultClient, s.Endpoint(), "", []map[string]string{item(good1, "CL")})
		done <- err
	}()
	<-entered
	readDetails(t, mustRead(t, s, "", readBody(good2, good1)))
	close(leave)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.OrderViolations != 1 || !strings.Contains(st.ViolationExamples[0], "reads ticket "+good1+" while an update") {
		t.Errorf("violations %d %q, want one read of %s", st.OrderViolations, st.ViolationExamples, good1)
	}
	readDetails(t, mustRead(t, s, "", readBody(good1)))
	if st := s.Stats(); st.OrderViolations != 1 {
		t.Errorf("a read after the update was answered counted as a violation: %q", st.ViolationExamples)
	}
}
