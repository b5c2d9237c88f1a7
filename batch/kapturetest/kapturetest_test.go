package kapturetest_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

func TestAuth(t *testing.T) {
	payload := []map[string]string{item(good1, "CL")}
	tests := []struct {
		name       string
		opts       kapturetest.Options
		header     string
		wantStatus int
		wantOK     bool
	}{
		{"default token", kapturetest.Options{}, "", 200, true},
		{"scheme case-insensitive", kapturetest.Options{}, "basic " + kapturetest.DefaultToken, 200, true},
		{"custom token", kapturetest.Options{Token: "s3cret"}, "Basic s3cret", 200, true},
		{"missing", kapturetest.Options{}, "-", 401, false},
		{"wrong", kapturetest.Options{}, "Basic nope", 401, false},
		{"bare token", kapturetest.Options{}, kapturetest.DefaultToken, 401, false},
		{"bearer", kapturetest.Options{}, "Bearer " + kapturetest.DefaultToken, 401, false},
		{"wrong, answered 200", kapturetest.Options{AuthStatus: 200}, "Basic nope", 200, false},
		{"wrong, object form, 403", kapturetest.Options{AuthStatus: 403, Reply: kapturetest.ReplyObject}, "Basic nope", 403, false},
		{"wrong, last form, 200", kapturetest.Options{AuthStatus: 200, Reply: kapturetest.ReplyLast}, "Basic nope", 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, tt.opts)
			r := mustPost(t, s, tt.header, payload)
			if r.status != tt.wantStatus {
				t.Errorf("HTTP status = %d, want %d", r.status, tt.wantStatus)
			}
			_, applied := s.State(good1)
			if applied != tt.wantOK {
				t.Errorf("applied = %v, want %v", applied, tt.wantOK)
			}
			if !tt.wantOK {
				// Always one object, whatever the reply form: the
				// request was refused as a whole.
				if got, want := string(r.body), `{"message":"Invalid Auth Key","status":"failed"}`; got != want {
					t.Errorf("body = %s, want %s", got, want)
				}
			}
		})
	}
}

func TestValidation(t *testing.T) {
	noID := item("", "CL")
	delete(noID, "ticket_id")
	tests := []struct {
		name string
		it   map[string]string
		want string
	}{
		{"empty ticket_id", item("", "CL"), kapturetest.MsgMissingTicketID},
		{"missing ticket_id", noID, kapturetest.MsgMissingTicketID},
		{"empty sub_status", item(good1, ""), kapturetest.MsgMissingSubStatus},
		{"callback date only", item(good1, "CL", "callback_time", "2024-04-19"), kapturetest.MsgBadCallbackTime},
		{"callback with T", item(good1, "CL", "callback_time", "2024-04-19T14:19:11"), kapturetest.MsgBadCallbackTime},
		{"callback month 13", item(good1, "CL", "callback_time", "2024-13-19 14:19:11"), kapturetest.MsgBadCallbackTime},
		{"callback dd-MM-yyyy", item(good1, "CL", "callback_time", "19-04-2024 14:19:11"), kapturetest.MsgBadCallbackTime},
		{"unknown ticket", item(unknown, "CL"), kapturetest.MsgUnknownTicket + unknown},
		{"11 digits", item("71351655114", "CL"), kapturetest.MsgUnknownTicket + "71351655114"},
		{"good callback", item(good1, "CL", "callback_time", "2024-04-19 14:19:11"), ""},
		{"extra keys and no optional keys", map[string]string{"ticket_id": good1, "sub_status": "P", "region": "EU"}, ""},
	}
	for _, form := range []kapturetest.Reply{kapturetest.ReplyArray, kapturetest.ReplyObject, kapturetest.ReplyLast} {
		for _, tt := range tests {
			t.Run(form.String()+"/"+tt.name, func(t *testing.T) {
				s := kapturetest.NewServer(t, kapturetest.Options{Reply: form})
				r := mustPost(t, s, "", []map[string]string{tt.it})
				got := summarize(t, r.body)
				want := "failed:" + tt.want
				if tt.want == "" {
					want = "success:" + tt.it["ticket_id"] + "/" + tt.it["sub_status"]
				}
				if len(got) != 1 || got[0] != want {
					t.Errorf("reply = %q, want [%q]", got, want)
				}
				if r.status != 200 {
					t.Errorf("HTTP status = %d, want 200", r.status)
				}
			})
		}
	}
}

func TestBadBodies(t *testing.T) {
	for _, body := range []string{
		``, `null`, `{}`, `{"ticket_id":"713516551148","sub_status":"CL"}`, `[]`, `[1]`, `[null]`,
		`[{"ticket_id":713516551148,"sub_status":"CL"}]`, `[{"ticket_id":"713516551148"}] trailing`, `[{`,
	} {
		t.Run(body, func(t *testing.T) {
			s := kapturetest.NewServer(t, kapturetest.Options{})
			r := mustPost(t, s, "", body)
			if r.status != 400 {
				t.Errorf("HTTP status = %d, want 400", r.status)
			}
			if got := summarize(t, r.body); len(got) != 1 || got[0] != "failed:"+kapturetest.MsgBadBody {
				t.Errorf("reply = %q", got)
			}
			if n := len(s.States()); n != 0 {
				t.Errorf("%d tickets updated", n)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{Prefix: "/api-v2/"})
	if !strings.HasSuffix(s.URL, "/api-v2") {
		t.Fatalf("URL = %q, want the prefix without a trailing slash", s.URL)
	}
	payload := []map[string]string{item(good1, "CL")}
	for _, tt := range []struct {
		name, url  string
		wantStatus int
	}{
		{"endpoint under prefix", s.URL + kapturetest.Path, 200},
		{"prefix dropped", s.HTTP.URL + kapturetest.Path, 404},
		{"slash doubled", s.URL + "/" + kapturetest.Path, 404},
		{"trailing slash", s.URL + kapturetest.Path + "/", 404},
		{"no version", s.URL + "/update-ticket-from-other-source.html", 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := post(t, http.DefaultClient, tt.url, "", payload)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != tt.wantStatus {
				t.Errorf("HTTP status = %d, want %d", r.status, tt.wantStatus)
			}
			if tt.wantStatus == 404 && !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Errorf("404 Content-Type = %q, want HTML", r.header.Get("Content-Type"))
			}
		})
	}
	resp, err := http.Get(s.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q, want 405 Allow POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	st := s.Stats()
	if st.Requests != 1 || st.Other != 5 {
		t.Errorf("Requests, Other = %d, %d; want 1, 5", st.Requests, st.Other)
	}
}

func TestHistoryAndState(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{})
	mustPost(t, s, "", []map[string]string{item(good1, "P", "queue", "Q1", "region", "EU"), item(good2, "P")})
	mustPost(t, s, "", []map[string]string{item(good1, "CL", "comment", "line one\nline two")})
	mustPost(t, s, "", []map[string]string{item(good1, "", "comment", "ignored")}) // fails: not applied

	h := s.History(good1)
	if len(h) != 2 {
		t.Fatalf("history has %d updates, want 2: %v", len(h), h)
	}
	if h[0].Request != 1 || h[0].Item["sub_status"] != "P" || h[0].Item["region"] != "EU" {
		t.Errorf("first update = %+v", h[0])
	}
	if h[1].Request != 2 || h[1].Item["sub_status"] != "CL" {
		t.Errorf("second update = %+v", h[1])
	}
	got, ok := s.State(good1)
	want := kapturetest.Item(item(good1, "CL", "comment", "line one\nline two"))
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("state = %v, want %v", got, want)
	}
	// Callers get copies: changing them changes nothing recorded.
	got["sub_status"] = "X"
	h[0].Item["sub_status"] = "X"
	if again, _ := s.State(good1); again["sub_status"] != "CL" {
		t.Error("State returned shared map")
	}
	if again := s.History(good1); again[0].Item["sub_status"] != "P" {
		t.Error("History returned shared maps")
	}

	st := s.Stats()
	if st.Requests != 3 || st.Items != 4 || st.Applied != 3 || st.Failed != 1 || st.ByStatus[200] != 3 {
		t.Errorf("stats = %+v", st)
	}
	if st.UserAgent != "kapture-bulk/test" || st.ContentType != "application/json" || st.BadContentType != 0 {
		t.Errorf("headers recorded: %+v", st)
	}
	if st.OrderViolations != 0 {
		t.Errorf("order violations in sequential requests: %v", st.ViolationExamples)
	}
	sum := s.Summary()
	for _, want := range []string{"requests: 3", "4 received, 3 applied, 1 failed", "200×3", "order violations: 0"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
}

func TestBadContentType(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{})
	for _, ct := range []string{"application/json; charset=utf-8", "text/plain", ""} {
		req, _ := http.NewRequest(http.MethodPost, s.Endpoint(), strings.NewReader(`[{"ticket_id":"713516551148","sub_status":"P"}]`))
		req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := s.Stats().BadContentType; got != 2 {
		t.Errorf("BadContentType = %d, want 2", got)
	}
}

func TestOrderViolations(t *testing.T) {
	t.Run("twice in one payload", func(t *testing.T) {
		s := kapturetest.NewServer(t, kapturetest.Options{})
		mustPost(t, s, "", []map[string]string{item(good1, "P"), item(good2, "P"), item(good1, "CL")})
		st := s.Stats()
		if st.OrderViolations != 1 || len(st.ViolationExamples) != 1 || !strings.Contains(st.ViolationExamples[0], "twice") {
			t.Errorf("violations = %d %q, want 1 'twice'", st.OrderViolations, st.ViolationExamples)
		}
	})
	t.Run("two requests in flight", func(t *testing.T) {
		// Latency holds each request in flight long enough for the other
		// to arrive.
		s := kapturetest.NewServer(t, kapturetest.Options{Latency: 300 * time.Millisecond})
		var wg sync.WaitGroup
		for _, sub := range []string{"P", "CL"} {
			wg.Go(func() {
				if _, err := post(t, http.DefaultClient, s.Endpoint(), "", []map[string]string{item(good1, sub)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		st := s.Stats()
		if st.OrderViolations != 1 || !strings.Contains(st.ViolationExamples[0], "in flight") {
			t.Errorf("violations = %d %q, want 1 'in flight'", st.OrderViolations, st.ViolationExamples)
		}
	})
	t.Run("different tickets in flight", func(t *testing.T) {
		s := kapturetest.NewServer(t, kapturetest.Options{Latency: 200 * time.Millisecond})
		var wg sync.WaitGroup
		for _, id := range []string{good1, good2} {
			wg.Go(func() {
				if _, err := post(t, http.DefaultClient, s.Endpoint(), "", []map[string]string{item(id, "P")}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if st := s.Stats(); st.OrderViolations != 0 {
			t.Errorf("violations = %q, want none", st.ViolationExamples)
		}
	})
}

func TestRateLimit(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{RateLimit: 0.5}) // one per 2s
	payload := []map[string]string{item(good1, "P")}
	if r := mustPost(t, s, "", payload); r.status != 200 {
		t.Fatalf("first request: %d", r.status)
	}
	for range 3 {
		r := mustPost(t, s, "", payload)
		if r.status != 429 {
			t.Fatalf("over the limit: HTTP %d, want 429", r.status)
		}
		if ra := r.header.Get("Retry-After"); ra != "1" && ra != "2" {
			t.Errorf("Retry-After = %q, want 1 or 2 (seconds, rounded up)", ra)
		}
	}
	st := s.Stats()
	if st.RateLimited != 3 || st.ByStatus[429] != 3 || st.Applied != 1 || len(s.History(good1)) != 1 {
		t.Errorf("stats = %+v", st)
	}

	burst := kapturetest.NewServer(t, kapturetest.Options{RateLimit: 0.5, RateBurst: 2})
	var got []int
	for range 3 {
		got = append(got, mustPost(t, burst, "", payload).status)
	}
	if fmt.Sprint(got) != "[200 200 429]" {
		t.Errorf("burst 2, three requests back to back: %v, want [200 200 429]", got)
	}

	fast := kapturetest.NewServer(t, kapturetest.Options{RateLimit: 20}) // one per 50ms
	for i := range 3 {
		if i > 0 {
			time.Sleep(60 * time.Millisecond)
		}
		if r := mustPost(t, fast, "", payload); r.status != 200 {
			t.Fatalf("request %d at the rate: HTTP %d", i, r.status)
		}
	}
}

func TestLatencyAbandoned(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{Latency: time.Hour})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	start := time.Now()
	if _, err := post(t, client, s.Endpoint(), "", []map[string]string{item(good1, "P")}); err == nil {
		t.Fatal("request under an hour of latency answered")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("client waited %v", d)
	}
	s.Close() // must not hang on the held request
	if _, ok := s.State(good1); ok {
		t.Error("abandoned request applied")
	}
}

func TestDefaultKnown(t *testing.T) {
	for id, want := range map[string]bool{
		"713516551148": true, "700000000000": true, "799999999999": true,
		"613516551148": false, "71351655114": false, "7135165511480": false,
		"71351655114a": false, "999999999999": false, "": false,
	} {
		if got := kapturetest.DefaultKnown(id); got != want {
			t.Errorf("DefaultKnown(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestParseReply(t *testing.T) {
	for in, want := range map[string]kapturetest.Reply{"array": kapturetest.ReplyArray, " Object ": kapturetest.ReplyObject, "LAST": kapturetest.ReplyLast} {
		if got, err := kapturetest.ParseReply(in); err != nil || got != want {
			t.Errorf("ParseReply(%q) = %v, %v", in, got, err)
		}
		if got, err := kapturetest.ParseReply(want.String()); err != nil || got != want {
			t.Errorf("ParseReply(%q) = %v, %v: String and ParseReply disagree", want.String(), got, err)
		}
		if err := (kapturetest.Options{Reply: want}).Validate(); err != nil {
			t.Errorf("Validate with Reply %v: %v", want, err)
		}
	}
	if err := (kapturetest.Options{Reply: kapturetest.ReplyLast + 1}).Validate(); err == nil {
		t.Error("Validate accepted an unknown reply form")
	}
	if _, err := kapturetest.ParseReply("both"); err == nil {
		t.Error("ParseReply(both) succeeded")
	}
}

func TestNoRecord(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{NoRecord: true})
	r := mustPost(t, s, "", []map[string]string{item("713516551148", "CL"), item("999999999999", "P")})
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	st := s.Stats()
	if st.Requests != 1 || st.Items != 2 || st.Applied != 1 || st.Failed != 1 {
		t.Errorf("stats %+v: want 1 request, 2 items, 1 applied, 1 failed", st)
	}
	if h := s.History("713516551148"); len(h) != 0 {
		t.Errorf("History = %v, want nothing recorded", h)
	}
	if _, ok := s.State("713516551148"); ok {
		t.Error("State recorded, want nothing")
	}
}
