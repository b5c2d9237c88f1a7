package kapturetest_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// replyTicket is the success reply's ticket: what the ticket now holds.
type replyTicket struct {
	TicketID      string `json:"ticketId"`
	Status        string `json:"status"`
	StatusName    string `json:"statusName"`
	Substatus     string `json:"substatus"`
	SubstatusName string `json:"substatusName"`
	QueueKey      string `json:"queueKey"`
	QueueName     string `json:"queueName"`
}

// replyTickets posts items in the array form and returns each item's
// ticket, failing the test on any failed item.
func replyTickets(t *testing.T, s *kapturetest.Server, items []map[string]string) []replyTicket {
	t.Helper()
	r := mustPost(t, s, "", items)
	var rs []struct {
		Status, Message string
		Ticket          replyTicket
	}
	if err := json.Unmarshal(r.body, &rs); err != nil || len(rs) != len(items) {
		t.Fatalf("reply %d %.300s: %v, want %d results", r.status, r.body, err, len(items))
	}
	out := make([]replyTicket, len(rs))
	for i, x := range rs {
		if x.Status != "success" {
			t.Fatalf("item %d: %s %s", i, x.Status, x.Message)
		}
		out[i] = x.Ticket
	}
	return out
}

// ids returns n ticket ids that DefaultKnown knows.
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("7135165%05d", i)
	}
	return out
}

var phoneRE = regexp.MustCompile(`^\+91[6-9][0-9]{9}$`)

// TestTicketsStartDeterministic: a ticket's starting state and customer
// come from its id alone, so two fakes with different seeds agree, and
// the tickets spread over the catalogue.
func TestTicketsStartDeterministic(t *testing.T) {
	a := kapturetest.NewHandler(kapturetest.Options{Seed: 1})
	b := kapturetest.NewHandler(kapturetest.Options{Seed: 2})
	subs, queues, disps := map[string]int{}, map[string]int{}, map[string]int{}
	emails := map[string]bool{}
	for _, id := range ids(400) {
		ta, ok := a.Ticket(id)
		tb, _ := b.Ticket(id)
		if !ok || !reflect.DeepEqual(ta, tb) {
			t.Fatalf("ticket %s: %+v and %+v, want the same", id, ta, tb)
		}
		subs[ta.SubStatus.Key]++
		queues[ta.Queue.Key]++
		disps[ta.Disposition]++
		c := ta.Customer
		if !strings.Contains(c.Name, " ") || !strings.HasSuffix(c.Email, "@example.com") || !phoneRE.MatchString(c.Phone) {
			t.Errorf("ticket %s: customer %+v, want a name, an e-mail at example.com and an Indian mobile", id, c)
		}
		emails[c.Email] = true
		if ta.Created.Year() != 2024 {
			t.Errorf("ticket %s created %v, want in 2024", id, ta.Created)
		}
	}
	cat := kapturetest.DefaultCatalogue()
	if len(subs) != len(cat.SubStatuses) || len(queues) != len(cat.Queues)+1 || len(disps) < 3 {
		t.Errorf("400 tickets start in sub-statuses %v, queues %v, dispositions %v: want every one, and no queue", subs, queues, disps)
	}
	if len(emails) < 100 {
		t.Errorf("400 tickets have %d distinct e-mails", len(emails))
	}
	if _, ok := a.Ticket("999999999999"); ok {
		t.Error("an unknown ticket has a state")
	}
}

// TestDefaultCatalogueSharesAName: the trap a name-to-key translation
// must not fall into is there: one name, two keys under different parent
// statuses.
func TestDefaultCatalogueSharesAName(t *testing.T) {
	byName := map[string][]kapturetest.SubStatus{}
	for _, s := range kapturetest.DefaultCatalogue().SubStatuses {
		byName[s.Name] = append(byName[s.Name], s)
	}
	for _, ss := range byName {
		if len(ss) == 2 && ss[0].Status != ss[1].Status {
			return
		}
	}
	t.Errorf("no sub-status name shared across parent statuses: %v", byName)
}

// TestUpdatesChangeWhatTicketsHold: an update sets the sub-status, and
// the queue and disposition when non-empty; the reply shows the ticket
// as it now holds, keys with names; the next read of Ticket agrees.
func TestUpdatesChangeWhatTicketsHold(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{})
	id := good1
	start, _ := s.Ticket(id)
	got := replyTickets(t, s, []map[string]string{item(id, "RS", "disposition", "REFUND")})[0]
	want := replyTicket{TicketID: id, Status: "C", StatusName: "Complete", Substatus: "RS", SubstatusName: "Resolved",
		QueueKey: start.Queue.Key, QueueName: start.Queue.Name}
	if got != want {
		t.Errorf("reply ticket %+v, want %+v (the queue unchanged)", got, want)
	}
	got = replyTickets(t, s, []map[string]string{item(id, "PS", "queue", "ESC")})[0]
	want = replyTicket{TicketID: id, Status: "P", StatusName: "Pending", Substatus: "PS", SubstatusName: "Pending Seller",
		QueueKey: "ESC", QueueName: "Escalations"}
	if got != want {
		t.Errorf("reply ticket %+v, want %+v", got, want)
	}
	now, _ := s.Ticket(id)
	if h := now.Holding(); h != (kapturetest.Holding{SubStatus: "PS", Queue: "ESC", Disposition: "REFUND"}) {
		t.Errorf("ticket holds %+v, want PS, ESC and the first update's disposition", h)
	}
	if now.Customer != start.Customer || now.Created != start.Created {
		t.Error("an update changed the customer or the creation date")
	}
}

// TestUnlistedKeys: a key the catalogue lacks is applied under a made-up
// name, or refused with RefuseUnlisted.
func TestUnlistedKeys(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{})
	got := replyTickets(t, s, []map[string]string{item(good1, "S7", "queue", "Q1")})[0]
	if got.Substatus != "S7" || got.SubstatusName != "Unlisted S7" || got.Status != "P" || got.QueueName != "Unlisted Q1" {
		t.Errorf("reply ticket %+v, want S7 and Q1 under made-up names", got)
	}

	strict := kapturetest.NewServer(t, kapturetest.Options{RefuseUnlisted: true})
	r := mustPost(t, strict, "", []map[string]string{item(good1, "S7"), item(good2, "CL", "queue", "Q1"), item(good1, "CL", "queue", "ESC")})
	wantReply := []string{"failed:Invalid value 'S7' for sub_status", "failed:Invalid value 'Q1' for queue", "success:" + good1 + "/CL"}
	if got := summarize(t, r.body); !reflect.DeepEqual(got, wantReply) {
		t.Errorf("reply %q, want %q", got, wantReply)
	}
	if _, ok := strict.State(good2); ok {
		t.Error("a refused item was applied")
	}
}

// TestSetTicket: a hand edit changes what the ticket holds, and what
// replies build on, but not the record of what the API applied.
func TestSetTicket(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{RefuseUnlisted: true})
	replyTickets(t, s, []map[string]string{item(good1, "CL", "queue", "ESC")})
	edit := kapturetest.Holding{SubStatus: "PC", Queue: "L1-Support", Disposition: "Callback"}
	if err := s.SetTicket(good1, edit); err != nil {
		t.Fatal(err)
	}
	if now, _ := s.Ticket(good1); now.Holding() != edit || now.SubStatus.Name != "Pending Customer" || now.Queue.Name != "L1 Support" {
		t.Errorf("after the edit the ticket is %+v", now)
	}
	if st, _ := s.State(good1); st["sub_status"] != "CL" || st["queue"] != "ESC" || len(s.History(good1)) != 1 {
		t.Errorf("the edit changed the record: State %v", st)
	}
	got := replyTickets(t, s, []map[string]string{item(good1, "CL")})[0]
	if got.Substatus != "CL" || got.QueueKey != "L1-Support" {
		t.Errorf("the update after the edit shows %+v, want CL in the edited queue", got)
	}
	for _, bad := range []struct {
		id string
		to kapturetest.Holding
	}{
		{"999999999999", edit},
		{good1, kapturetest.Holding{}},
		{good1, kapturetest.Holding{SubStatus: "ZZ"}},
		{good1, kapturetest.Holding{SubStatus: "CL", Queue: "nowhere"}},
	} {
		if err := s.SetTicket(bad.id, bad.to); err == nil {
			t.Errorf("SetTicket(%s, %+v) succeeded", bad.id, bad.to)
		}
	}
}

// keepPayload is one item per ticket, each moving it to a sub-status it
// does not start in, and into queue ESC.
func keepPayload(s *kapturetest.Server, tickets []string) []map[string]string {
	var items []map[string]string
	for _, id := range tickets {
		to := "CL"
		if t, _ := s.Ticket(id); t.SubStatus.Key == "CL" {
			to = "P"
		}
		items = append(items, item(id, to, "queue", "ESC"))
	}
	return items
}

// keptSet posts keepPayload to s and checks each item's kept sub-status
// in every record; it returns the tickets that kept theirs.
func keptSet(t *testing.T, s *kapturetest.Server, tickets []string) map[string]bool {
	t.Helper()
	starts := map[string]string{}
	for _, id := range tickets {
		st, _ := s.Ticket(id)
		starts[id] = st.SubStatus.Key
	}
	items := keepPayload(s, tickets)
	kept := map[string]bool{}
	for i, got := range replyTickets(t, s, items) {
		id, sent := items[i]["ticket_id"], items[i]["sub_status"]
		holds := sent
		if got.Substatus != sent {
			kept[id], holds = true, starts[id]
		}
		now, _ := s.Ticket(id)
		st, _ := s.State(id)
		h := s.History(id)
		keptRec := h[len(h)-1].KeptSubStatus
		if got.Substatus != holds || now.SubStatus.Key != holds || st["sub_status"] != holds || (keptRec != "") != kept[id] ||
			(kept[id] && keptRec != holds) || got.QueueKey != "ESC" || now.Queue.Key != "ESC" {
			t.Errorf("ticket %s sent %s: reply %+v, holds %+v, State %v, History kept %q", id, sent, got, now.Holding(), st, keptRec)
		}
	}
	return kept
}

// TestKeepSubStatus: a share of updates keep the old sub-status, the
// reply says success and shows it; which ones depends on the seed, the
// ticket and the transition only, so a retry is refused again.
func TestKeepSubStatus(t *testing.T) {
	tickets := ids(300)
	opts := kapturetest.Options{KeepSubStatus: 0.2, Seed: 3}
	a := kapturetest.NewServer(t, opts)
	kept := keptSet(t, a, tickets)
	if n := len(kept); n < 30 || n > 90 {
		t.Errorf("%d of 300 updates kept the old sub-status, want about 60", n)
	}
	if st := a.Stats(); st.KeptSubStatus != len(kept) || st.Applied != 300 || !strings.Contains(a.Summary(), fmt.Sprintf("sub-status kept (the reply says success): %d", len(kept))) {
		t.Errorf("Stats.KeptSubStatus %d, Applied %d, want %d, 300; summary:\n%s", st.KeptSubStatus, st.Applied, len(kept), a.Summary())
	}

	// The same updates again, the kept ones' retry: refused again.
	var retry []string
	for id := range kept {
		retry = append(retry, id)
	}
	if again := keptSet(t, a, retry); len(again) != len(kept) {
		t.Errorf("retried, %d of %d kept their sub-status again", len(again), len(kept))
	}

	if other := keptSet(t, kapturetest.NewServer(t, opts), tickets); !reflect.DeepEqual(other, kept) {
		t.Error("another fake with the same seed kept other sub-statuses")
	}
	opts.Seed = 4
	if other := keptSet(t, kapturetest.NewServer(t, opts), tickets); reflect.DeepEqual(other, kept) {
		t.Error("another seed kept the same sub-statuses")
	}
}

// TestNoRecordTickets: without recording, tickets keep their starting
// state; a reply shows it with its one update applied.
func TestNoRecordTickets(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{NoRecord: true})
	start, _ := s.Ticket(good1)
	got := replyTickets(t, s, []map[string]string{item(good1, "CD")})[0]
	if got.Substatus != "CD" || got.QueueKey != start.Queue.Key {
		t.Errorf("reply ticket %+v, want CD in the starting queue %q", got, start.Queue.Key)
	}
	if now, _ := s.Ticket(good1); now != start {
		t.Errorf("ticket %+v, want its start %+v", now, start)
	}
}

func TestValidateTenant(t *testing.T) {
	cat := func(subs ...kapturetest.SubStatus) *kapturetest.Catalogue {
		return &kapturetest.Catalogue{SubStatuses: subs, Queues: []kapturetest.Queue{{Key: "Q", Name: "Queue"}}}
	}
	open := kapturetest.Status{Key: "O", Name: "Open"}
	for _, tt := range []struct {
		name string
		opts kapturetest.Options
		ok   bool
	}{
		{"keep all", kapturetest.Options{KeepSubStatus: 1}, true},
		{"keep over 1", kapturetest.Options{KeepSubStatus: 1.5}, false},
		{"keep NaN", kapturetest.Options{KeepSubStatus: math.NaN()}, false},
		{"keep negative", kapturetest.Options{KeepSubStatus: -0.1}, false},
		{"a catalogue", kapturetest.Options{Catalogue: cat(kapturetest.SubStatus{Key: "X", Name: "Ex", Status: open})}, true},
		{"no sub-status", kapturetest.Options{Catalogue: cat()}, false},
		{"key twice", kapturetest.Options{Catalogue: cat(kapturetest.SubStatus{Key: "X", Name: "Ex", Status: open}, kapturetest.SubStatus{Key: "X", Name: "Why", Status: open})}, false},
		{"no name", kapturetest.Options{Catalogue: cat(kapturetest.SubStatus{Key: "X", Status: open})}, false},
		{"no parent", kapturetest.Options{Catalogue: cat(kapturetest.SubStatus{Key: "X", Name: "Ex"})}, false},
		{"parent named twice", kapturetest.Options{Catalogue: cat(kapturetest.SubStatus{Key: "X", Name: "Ex", Status: open}, kapturetest.SubStatus{Key: "Y", Name: "Why", Status: kapturetest.Status{Key: "O", Name: "Opened"}})}, false},
		{"queue without name", kapturetest.Options{Catalogue: &kapturetest.Catalogue{SubStatuses: cat(kapturetest.SubStatus{Key: "X", Name: "Ex", Status: open}).SubStatuses, Queues: []kapturetest.Queue{{Key: "Q"}}}}, false},
	} {
		if err := tt.opts.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}

	// A fake of its own catalogue starts and names tickets from it.
	s := kapturetest.NewServer(t, kapturetest.Options{Catalogue: cat(kapturetest.SubStatus{Key: "X", Name: "Ex", Status: open})})
	if tk, _ := s.Ticket(good1); tk.SubStatus.Key != "X" || (tk.Queue.Key != "" && tk.Queue.Key != "Q") {
		t.Errorf("ticket %+v, want X and Q or no queue", tk)
	}
}
