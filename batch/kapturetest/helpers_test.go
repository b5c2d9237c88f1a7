package kapturetest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// item builds a request object with the six documented keys, "" where
// unset, as the client sends them.
func item(id, sub string, kv ...string) map[string]string {
	it := map[string]string{
		"ticket_id": id, "sub_status": sub, "queue": "", "comment": "",
		"callback_time": "", "disposition": "",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		it[kv[i]] = kv[i+1]
	}
	return it
}

type reply struct {
	status int
	body   []byte
	header http.Header
}

// post sends body to the server's endpoint with the right headers, token
// "" meaning the default token, "-" meaning no Authorization header.
func post(t *testing.T, client *http.Client, url, token string, body any) (reply, error) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kapture-bulk/test")
	switch token {
	case "":
		req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
	case "-":
	default:
		req.Header.Set("Authorization", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, body: got, header: resp.Header}, nil
}

// mustPost posts body to the update endpoint, mustRead to Get Ticket.
func mustPost(t *testing.T, s *kapturetest.Server, token string, body any) reply {
	t.Helper()
	return mustPostTo(t, s.Endpoint(), token, body)
}

func mustRead(t *testing.T, s *kapturetest.Server, token string, body any) reply {
	t.Helper()
	return mustPostTo(t, s.ReadEndpoint(), token, body)
}

func mustPostTo(t *testing.T, url, token string, body any) reply {
	t.Helper()
	r, err := post(t, http.DefaultClient, url, token, body)
	if err != nil {
		t.Fatalf("post to %s: %v", url, err)
	}
	return r
}

// result is the part of a per-item or whole-payload answer the tests read.
type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Ticket  *struct {
		TicketID  string `json:"ticketId"`
		Substatus string `json:"substatus"`
	} `json:"ticket"`
}

// summarize turns a reply body into "success:ID" / "failed:message"
// strings, one per result.
func summarize(t *testing.T, body []byte) []string {
	t.Helper()
	var rs []result
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
		if err := json.Unmarshal(body, &rs); err != nil {
			t.Fatalf("array reply %q: %v", body, err)
		}
	} else {
		var r result
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("object reply %q: %v", body, err)
		}
		rs = []result{r}
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		switch {
		case r.Status == "success" && r.Ticket != nil:
			out[i] = "success:" + r.Ticket.TicketID + "/" + r.Ticket.Substatus
		case r.Status == "failed":
			out[i] = "failed:" + r.Message
		default:
			t.Fatalf("result %d of %q has neither success with a ticket nor failed", i, body)
		}
	}
	return out
}

const (
	good1   = "713516551148"
	good2   = "713516551149"
	unknown = "999999999999"
)
