package batch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// readEngine is an engine on s for reads.
func readEngine(t *testing.T, s *kapturetest.Server, edit func(*batch.Config)) *batch.Engine {
	t.Helper()
	cfg := config(s)
	if edit != nil {
		edit(&cfg)
	}
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// ticketIDs returns n known ticket ids.
func ticketIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("7135165%05d", 100+i)
	}
	return ids
}

// TestRead: ids go ReadBatch to a request, each answered in the order
// asked, repeats included; an id the API lacks is not found; the codes
// are the values as read (names by default, keys with ReadKeys), the
// queue given only when the read shows it.
func TestRead(t *testing.T) {
	ids := append(ticketIDs(6), "999999999999")
	ids = append(ids, ids[2]) // asked twice
	for _, tt := range []struct {
		name        string
		keys, queue bool
	}{{"names", false, false}, {"keys", true, false}, {"names and queue", false, true}, {"keys and queue", true, true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := kapturetest.NewServer(t, kapturetest.Options{ReadKeys: tt.keys, ReadQueue: tt.queue})
			if err := s.SetTicket(ids[1], kapturetest.Holding{SubStatus: "PS", Queue: "L2-Billing", Disposition: "Query|Refund"}); err != nil {
				t.Fatal(err)
			}
			eng := readEngine(t, s, func(c *batch.Config) { c.ReadBatch = 3 })
			got, err := eng.Read(context.Background(), ids)
			if err != nil {
				t.Fatal(err)
			}
			if n := s.Stats().Reads; n != 3 {
				t.Errorf("%d read requests for 7 distinct ids 3 at a time, want 3", n)
			}
			if st := eng.Stats(); st.Reads != 3 || st.Requests != 3 || st.Retries != 0 {
				t.Errorf("stats %+v: want 3 requests, all reads, no retry", st)
			}
			if len(got) != len(ids) {
				t.Fatalf("%d tickets for %d ids", len(got), len(ids))
			}
			for i, id := range ids {
				if got[i].ID != id {
					t.Errorf("ticket %d is %s, want %s", i, got[i].ID, id)
				}
				kt, known := s.Ticket(id)
				if !known {
					if got[i].Found || got[i].SubStatus.Given {
						t.Errorf("unknown ticket %s read as %+v, want not found", id, got[i])
					}
					continue
				}
				pick := func(key, name string) batch.Code {
					if tt.keys {
						return batch.Code{Value: key, Given: true}
					}
					return batch.Code{Value: name, Given: true}
				}
				want := batch.Ticket{ID: id, Found: true, Status: pick(kt.SubStatus.Status.Key, kt.SubStatus.Status.Name),
					SubStatus: pick(kt.SubStatus.Key, kt.SubStatus.Name), Disposition: kt.Disposition, DispositionGiven: true}
				if tt.queue {
					want.Queue = pick(kt.Queue.Key, kt.Queue.Name)
				}
				if fmt.Sprint(got[i]) != fmt.Sprint(want) {
					t.Errorf("ticket %s read as %+v, want %+v", id, got[i], want)
				}
			}
		})
	}
}

// front serves a request to the Get Ticket endpoint with the next of its
// answers, while it has any, and everything else with the fake.
type front struct {
	h       *kapturetest.Handler
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	at      []time.Time // when each read arrived
}

func newFront(t *testing.T, opts kapturetest.Options, answers ...func(w http.ResponseWriter)) (*front, string) {
	f := &front{h: kapturetest.NewHandler(opts), answers: answers}
	ts := httptest.NewServer(f)
	t.Cleanup(func() { f.h.Close(); ts.Close() })
	return f, ts.URL
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != kapturetest.ReadPath {
		f.h.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	f.at = append(f.at, time.Now())
	var answer func(http.ResponseWriter)
	if len(f.answers) > 0 {
		answer, f.answers = f.answers[0], f.answers[1:]
	}
	f.mu.Unlock()
	if answer == nil {
		f.h.ServeHTTP(w, r)
		return
	}
	answer(w)
}

func reply(status int, header, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if k, v, ok := strings.Cut(header, ": "); ok {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// drop closes the connection unanswered.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// TestReadRetries: a read is retried as an update is: after a 429 (once
// its Retry-After has passed), a 5xx page, an unreadable 2xx, a dropped
// connection; it gives up after MaxRetries with ErrAPIDown.
func TestReadRetries(t *testing.T) {
	page := reply(502, "Content-Type: text/html", "<html><title>502 Bad Gateway</title></html>")
	for _, tt := range []struct {
		name    string
		answers []func(http.ResponseWriter)
		retries int
		err     error
	}{
		{"429 with Retry-After", []func(http.ResponseWriter){reply(429, "Retry-After: 0.2", `{"message":"Too Many Requests","status":"failed"}`)}, 1, nil},
		{"5xx page", []func(http.ResponseWriter){page}, 1, nil},
		{"unreadable 200", []func(http.ResponseWriter){reply(200, "", "<html>login</html>")}, 1, nil},
		{"dropped connection", []func(http.ResponseWriter){drop, drop}, 2, nil},
		{"gives up", []func(http.ResponseWriter){page, page, page, page}, 3, batch.ErrAPIDown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFront(t, kapturetest.Options{ReadKeys: true}, tt.answers...)
			cfg := batch.Config{BaseURL: url, Token: kapturetest.DefaultToken, MaxRetries: 3, Timeout: 2 * time.Second,
				BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
			eng, err := batch.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ids := ticketIDs(2)
			got, err := eng.Read(context.Background(), ids)
			if !errors.Is(err, tt.err) || (err != nil) != (tt.err != nil) {
				t.Fatalf("Read: %v, want %v", err, tt.err)
			}
			if st := eng.Stats(); st.Retries != int64(tt.retries) || st.Reads != int64(tt.retries+1) {
				t.Errorf("%d reads, %d retries; want %d and %d", st.Reads, st.Retries, tt.retries+1, tt.retries)
			}
			if tt.err != nil {
				if !strings.Contains(err.Error(), "gave up after 4 attempts: HTTP 502: 502 Bad Gateway") {
					t.Errorf("error %q does not say what failed", err)
				}
				return
			}
			if len(got) != 2 || !got[0].Found || !got[1].Found {
				t.Errorf("read %+v, want both tickets", got)
			}
			if strings.HasPrefix(tt.name, "429") {
				if gap := f.at[1].Sub(f.at[0]); gap < 200*time.Millisecond {
					t.Errorf("retried %v after a 429 with Retry-After 0.2, want at least 200ms", gap)
				}
			}
		})
	}
}

// TestReadRefused: what no retry changes ends a read at once: the token
// refused (401, or "Invalid Auth Key" with 200) is ErrAuth; the API's
// refusal of the read names its message; a reply in another shape is a
// *ReadShapeError saying what was expected and showing the start of what
// came, token redacted and customer data masked.
func TestReadRefused(t *testing.T) {
	const echo = "[redacted]"
	for _, tt := range []struct {
		name   string
		answer func(http.ResponseWriter)
		is     error
		shape  bool
		has    []string
	}{
		{"401", reply(401, "", `{"message":"Invalid Auth Key","status":"failed"}`), batch.ErrAuth, false, []string{"Invalid Auth Key"}},
		{"200 invalid auth key", reply(200, "", `{"message":"Invalid Auth Key","status":"failed"}`), batch.ErrAuth, false, nil},
		{"403 page", reply(403, "", "<html>Forbidden</html>"), batch.ErrAuth, false, []string{"HTTP 403"}},
		{"no API there", reply(404, "", "<html><title>Not Found</title></html>"), batch.ErrConfig, false, []string{"there is no Get Ticket API at http://"}},
		{"the API refuses", reply(200, "", `{"message":"ticket_ids are missing.","status":"failed"}`), nil, false, []string{"refused the read: ticket_ids are missing."}},
		{"an object", reply(200, "", `{"tickets":[{"ticketId":"713516500100","customerEmail":"a.b@example.com"}],"token":"Basic `+kapturetest.DefaultToken+`"}`),
			nil, true, []string{"want a JSON array", `got: {"tickets":[{"ticketId":"713516500100","customerEmail":"***"}],"token":"Basic ` + echo + `"}`}},
		{"an element without task_details", reply(200, "", `[{"ticket":{"ticketId":"713516500100"}}]`), nil, true,
			[]string{`element 1 to be an object with a "task_details" object`}},
		{"a ticket not asked", reply(200, "", `[{"task_details":{"ticketId":"713516500199","customerPhone":"+919876543210"}}]`), nil, true,
			[]string{"element 1 to be one of the tickets asked, not 713516500199", `"customerPhone":"***"`}},
		{"a sub-status as an object", reply(200, "", `[{"task_details":{"ticketId":"713516500100","substatus":{"key":"P"}}}]`), nil, true,
			[]string{"substatus: an object or array, not text"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, url := newFront(t, kapturetest.Options{}, tt.answer)
			eng, err := batch.New(batch.Config{BaseURL: url, Token: kapturetest.DefaultToken, MaxRetries: 3, BackoffBase: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = eng.Read(context.Background(), ticketIDs(1))
			var shape *batch.ReadShapeError
			switch {
			case err == nil:
				t.Fatal("Read succeeded")
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("Read: %v, want %v", err, tt.is)
			case errors.As(err, &shape) != tt.shape:
				t.Errorf("Read: %v (%T), want a shape error: %v", err, err, tt.shape)
			}
			for _, h := range tt.has {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("error %q lacks %q", err, h)
				}
			}
			if strings.Contains(err.Error(), kapturetest.DefaultToken) || strings.Contains(err.Error(), "example.com") {
				t.Errorf("error %q shows the token or customer data", err)
			}
			if st := eng.Stats(); st.Reads != 1 {
				t.Errorf("%d reads, want 1: no retry", st.Reads)
			}
		})
	}
}

// TestReadMasksCustomerData: the customer's name, e-mail and phone that a
// read shows are in no ticket's Raw, nor in ReadRaw's body, whose ticket
// data stays.
func TestReadMasksCustomerData(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{ReadQueue: true})
	eng := readEngine(t, s, func(c *batch.Config) { c.KeepRaw = true })
	ids := ticketIDs(5)
	got, err := eng.Read(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	body, status, raw, err := eng.ReadRaw(context.Background(), ids[:1])
	if err != nil || status != http.StatusOK || len(raw) != 1 || raw[0].SubStatus != got[0].SubStatus {
		t.Fatalf("ReadRaw: %v, HTTP %d, %+v; want the ticket read", err, status, raw)
	}
	texts := []string{string(body)}
	for _, tk := range got {
		texts = append(texts, string(tk.Raw))
	}
	for i, text := range texts {
		id := ids[max(i-1, 0)]
		kt, _ := s.Ticket(id)
		for _, secret := range []string{kt.Customer.Name, kt.Customer.Email, kt.Customer.Phone, strings.Fields(kt.Customer.Name)[0]} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %q: %s", id, secret, text)
			}
		}
		for _, kept := range []string{`"ticketId":"` + id + `"`, `"substatus":"` + kt.SubStatus.Name + `"`, `"customerEmail":"***"`} {
			if !strings.Contains(text, kept) {
				t.Errorf("%s lacks %s: %s", id, kept, text)
			}
		}
	}
}

// TestReadMasksPhonesByValue: phones a read holds outside the customer*
// members (an alternateNumber, a subject, a history comment: the shapes
// breaktest-2 served) are masked in ReadRaw's body and in a ticket's Raw,
// by name and by value; the ticket's id, dates and codes stay readable.
func TestReadMasksPhonesByValue(t *testing.T) {
	const id = "713500000001"
	element := `{"additional_info":{},"history":[{"comment":"customer said call 9988776655"}],"task_details":{` +
		`"ticketId":"` + id + `","date":"08-06-2024 16:27","status":"Pending","substatus":"Pending Seller",` +
		`"customerName":"Jane Doe","customerEmail":"jane@example.com","customerPhone":"+919876543210",` +
		`"alternateNumber":"+91 98765 43210","subject":"Call me at 9812345678","ticketNumber":"` + id + `"}}`
	body := "[" + element + "]"
	_, url := newFront(t, kapturetest.Options{}, reply(200, "Content-Type: application/json", body),
		reply(200, "Content-Type: application/json", body))
	eng := readEngine(t, kapturetest.NewServer(t, kapturetest.Options{}), func(c *batch.Config) {
		c.BaseURL = url
		c.KeepRaw = true
	})
	raw, _, ts, err := eng.ReadRaw(context.Background(), []string{id})
	if err != nil || len(ts) != 1 || !ts[0].Found {
		t.Fatalf("ReadRaw: %v, %+v", err, ts)
	}
	got, err := eng.Read(context.Background(), []string{id})
	if err != nil || len(got) != 1 {
		t.Fatalf("Read: %v, %+v", err, got)
	}
	for _, text := range []string{string(raw), string(got[0].Raw)} {
		for _, secret := range []string{"98765 43210", "9812345678", "9988776655", "9876543210", "Jane", "jane@"} {
			if strings.Contains(text, secret) {
				t.Errorf("shows %q: %s", secret, text)
			}
		}
		for _, kept := range []string{`"ticketId":"` + id + `"`, `"ticketNumber":"` + id + `"`, `"date":"08-06-2024 16:27"`,
			`"substatus":"Pending Seller"`, `"alternateNumber":"***"`, `"subject":"Call me at ***"`, `"customer said call ***"`} {
			if !strings.Contains(text, kept) {
				t.Errorf("lacks %s: %s", kept, text)
			}
		}
	}
}

// TestReadKeepsTheRate: reads and updates made together keep the rate:
// their requests are no closer than the rate allows.
func TestReadKeepsTheRate(t *testing.T) {
	const rate = 100
	h := kapturetest.NewHandler(kapturetest.Options{})
	var arrivals atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrivals.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { h.Close(); ts.Close() })
	cfg := batch.Config{BaseURL: ts.URL, Token: kapturetest.DefaultToken, Rate: rate, Burst: 1, Workers: 4, BatchSize: 1, ReadBatch: 1}
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := oneRowPerTicket(30)
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := eng.Read(context.Background(), ticketIDs(30)); err != nil {
			t.Error(err)
		}
	})
	if _, err := runEngine(context.Background(), eng, recs); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	elapsed, n := time.Since(start), arrivals.Load()
	if st := eng.Stats(); st.Requests != 60 || st.Reads != 30 || n != 60 {
		t.Fatalf("%d requests (%d reads), %d arrived; want 60 (30)", st.Requests, st.Reads, n)
	}
	if least := time.Duration(n-1) * time.Second / rate; elapsed < least {
		t.Errorf("%d requests in %v, want at least %v at %d/s", n, elapsed, least, rate)
	}
}

// TestReadStopped: a stopped engine reads nothing; a read in progress
// ends at Stop; ctx ends a read with its cause; an id no read can ask for
// alone is refused before any request.
func TestReadStopped(t *testing.T) {
	s := kapturetest.NewServer(t, kapturetest.Options{FailRead: func(int, []string) *kapturetest.Fault {
		return &kapturetest.Fault{Kind: kapturetest.FaultStall}
	}})
	eng := readEngine(t, s, nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("the operator gave up")
	time.AfterFunc(20*time.Millisecond, func() { cancel(cause) })
	if _, err := eng.Read(ctx, ticketIDs(1)); !errors.Is(err, cause) {
		t.Errorf("Read with ctx ended: %v, want %v", err, cause)
	}
	time.AfterFunc(20*time.Millisecond, eng.Stop)
	if _, err := eng.Read(context.Background(), ticketIDs(1)); !errors.Is(err, batch.ErrStopped) {
		t.Errorf("Read stopped: %v, want ErrStopped", err)
	}
	before := s.Stats().Reads
	if _, _, _, err := eng.ReadRaw(context.Background(), ticketIDs(1)); !errors.Is(err, batch.ErrStopped) {
		t.Errorf("ReadRaw after Stop: %v, want ErrStopped", err)
	}
	if _, err := eng.Read(context.Background(), []string{"713516500100,713516500101"}); err == nil || !strings.Contains(err.Error(), "comma") {
		t.Errorf("Read of an id with a comma: %v, want refused", err)
	}
	if n := s.Stats().Reads; n != before {
		t.Errorf("%d reads after Stop, want none", n-before)
	}
}
