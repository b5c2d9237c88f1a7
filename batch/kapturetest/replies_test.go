package kapturetest_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// replyCase is a payload posted to a fake with opts, and the reply and
// state it must leave.
type replyCase struct {
	name        string
	opts        kapturetest.Options
	payload     any
	wantStatus  int
	want        []string
	wantApplied []string // tickets with a state afterwards
}

// testPayloads are a payload with good and unknown tickets (mixed), and
// one of good tickets only (allGood).
func testPayloads() (mixed, allGood []map[string]string) {
	mixed = []map[string]string{item(good1, "CL"), item(unknown, "CL"), item(good2, "P", "comment", "done")}
	allGood = []map[string]string{item(good1, "CL"), item(good2, "PS")}
	return mixed, allGood
}

// arrayReplyCases are fakes answering in the array form.
func arrayReplyCases() []replyCase {
	mixed, allGood := testPayloads()
	return []replyCase{
		{
			name:        "array, all good",
			payload:     allGood,
			wantStatus:  200,
			want:        []string{"success:" + good1 + "/CL", "success:" + good2 + "/PS"},
			wantApplied: []string{good1, good2},
		},
		{
			name:        "array, mixed, non-atomic",
			payload:     mixed,
			wantStatus:  200,
			want:        []string{"success:" + good1 + "/CL", "failed:" + kapturetest.MsgUnknownTicket + unknown, "success:" + good2 + "/P"},
			wantApplied: []string{good1, good2},
		},
		{
			name:       "array, mixed, atomic",
			opts:       kapturetest.Options{Atomic: true},
			payload:    mixed,
			wantStatus: 200,
			want: []string{"failed:" + kapturetest.MsgNotApplied, "failed:" + kapturetest.MsgUnknownTicket + unknown,
				"failed:" + kapturetest.MsgNotApplied},
		},
		{
			name:       "array, all failed, FailStatus",
			opts:       kapturetest.Options{FailStatus: 400},
			payload:    []map[string]string{item(unknown, "CL")},
			wantStatus: 400,
			want:       []string{"failed:" + kapturetest.MsgUnknownTicket + unknown},
		},
	}
}

// objectReplyCases are fakes answering with one object, about the
// payload or about its last item, and a fake with its own known tickets.
func objectReplyCases() []replyCase {
	mixed, allGood := testPayloads()
	return []replyCase{
		{
			name:        "object, all good",
			opts:        kapturetest.Options{Reply: kapturetest.ReplyObject},
			payload:     allGood,
			wantStatus:  200,
			want:        []string{"success:" + good2 + "/PS"},
			wantApplied: []string{good1, good2},
		},
		{
			name:        "object, mixed, non-atomic applies the good items",
			opts:        kapturetest.Options{Reply: kapturetest.ReplyObject},
			payload:     mixed,
			wantStatus:  200,
			want:        []string{"failed:" + kapturetest.MsgUnknownTicket + unknown},
			wantApplied: []string{good1, good2},
		},
		{
			name:       "object, mixed, atomic, FailStatus 400",
			opts:       kapturetest.Options{Reply: kapturetest.ReplyObject, Atomic: true, FailStatus: 400},
			payload:    mixed,
			wantStatus: 400,
			want:       []string{"failed:" + kapturetest.MsgUnknownTicket + unknown},
		},
		{
			name:        "last, mixed, about the last item only",
			opts:        kapturetest.Options{Reply: kapturetest.ReplyLast},
			payload:     mixed,
			wantStatus:  200,
			want:        []string{"success:" + good2 + "/P"},
			wantApplied: []string{good1, good2},
		},
		{
			name:        "last, last item refused, FailStatus 400",
			opts:        kapturetest.Options{Reply: kapturetest.ReplyLast, FailStatus: 400},
			payload:     []map[string]string{item(good1, "CL"), item(good2, ""), item(unknown, "CL")},
			wantStatus:  400,
			want:        []string{"failed:" + kapturetest.MsgUnknownTicket + unknown},
			wantApplied: []string{good1},
		},
		{
			name:       "last, atomic, last item good but not applied",
			opts:       kapturetest.Options{Reply: kapturetest.ReplyLast, Atomic: true},
			payload:    []map[string]string{item(unknown, "CL"), item(good1, "CL")},
			wantStatus: 200,
			want:       []string{"failed:" + kapturetest.MsgNotApplied},
		},
		{
			name:        "custom Known",
			opts:        kapturetest.Options{Known: func(id string) bool { return id == "42" }},
			payload:     []map[string]string{item("42", "CL"), item(good1, "CL")},
			wantStatus:  200,
			want:        []string{"success:42/CL", "failed:" + kapturetest.MsgUnknownTicket + good1},
			wantApplied: []string{"42"},
		},
	}
}

func TestReplies(t *testing.T) {
	tests := slices.Concat(arrayReplyCases(), objectReplyCases())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, tt.opts)
			r := mustPost(t, s, "", tt.payload)
			if r.status != tt.wantStatus {
				t.Errorf("HTTP status = %d, want %d", r.status, tt.wantStatus)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if got := summarize(t, r.body); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reply = %q, want %q", got, tt.want)
			}
			var applied []string
			for id := range s.States() {
				applied = append(applied, id)
			}
			if len(applied) != len(tt.wantApplied) {
				t.Errorf("applied %v, want %v", applied, tt.wantApplied)
			}
			for _, id := range tt.wantApplied {
				if _, ok := s.State(id); !ok {
					t.Errorf("ticket %s not applied", id)
				}
			}
		})
	}
}

// TestSuccessObjectShape: the success object's ticket shows what the
// ticket now holds, each coded field as key and name.
func TestSuccessObjectShape(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{Reply: kapturetest.ReplyObject})
	r := mustPost(t, s, "", []map[string]string{item(good1, "PS", "queue", "L2-Billing")})
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ticket": map[string]any{"ticketId": good1, "status": "P", "statusName": "Pending",
			"substatus": "PS", "substatusName": "Pending Seller", "queueKey": "L2-Billing", "queueName": "L2 Billing"},
		"Additional_details": map[string]any{},
		"message":            "Status and Comment have been updated.\n",
		"status":             "success",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("success object = %v, want %v", got, want)
	}
}
