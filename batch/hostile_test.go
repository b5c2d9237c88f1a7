package batch_test

// Tests of what the engine keeps of a hostile server's words: messages
// made safe to print and store, and the token in none of them, however
// it is spelled.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// replyShape answers a request whose items are n, with message in the
// place a server puts its words in that shape.
type replyShape struct {
	name        string
	status      int
	contentType string
	body        func(message string, n int) string
}

// replyShapes are the places a message reaches the engine from: an array
// item (failed and success), an object (failed, and success for one
// item), a 4xx page, a 5xx page.
var replyShapes = []replyShape{
	{"array item", 200, "application/json", func(m string, n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"status":"failed","message":%s}`, m)
		}
		items[0] = fmt.Sprintf(`{"status":"success","message":%s}`, m)
		return "[" + strings.Join(items, ",") + "]"
	}},
	{"object", 400, "application/json", func(m string, _ int) string {
		return fmt.Sprintf(`{"status":"failed","message":%s}`, m)
	}},
	{"4xx page", 422, "text/html", func(m string, _ int) string {
		return fmt.Sprintf("<html><head><title>%s</title></head><body>x</body></html>", m)
	}},
	{"5xx page", 500, "text/html", func(m string, _ int) string {
		return fmt.Sprintf("<html><head><title>%s</title></head><body>x</body></html>", m)
	}},
}

// echoServer answers every request with shape, message being what
// message makes of the Authorization header the request carried.
func echoServer(t *testing.T, shape replyShape, message func(auth string) string) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", shape.contentType)
		w.WriteHeader(shape.status)
		io.WriteString(w, shape.body(message(r.Header.Get("Authorization")), strings.Count(string(body), `"ticket_id"`)))
	}))
	t.Cleanup(ts.Close)
	return ts
}

// hostileConfig runs against ts with payloads of three rows, one retry
// and a breaker that does not stop the run.
func hostileConfig(ts *httptest.Server, token string) batch.Config {
	return batch.Config{BaseURL: ts.URL, Token: token, BatchSize: 3, Workers: 1, MaxRetries: 1,
		Timeout: 5 * time.Second, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, BreakerThreshold: 100}
}

// TestServerMessagesMadeSafe: escape sequences, controls and bidi
// controls in a message, in every reply shape, reach no result: what is
// left is the message's text.
func TestServerMessagesMadeSafe(t *testing.T) {
	const hostile = "\x1b[31;1mNo\x1b[0m ticket\r\n\x1b]0;pwned\x07found\u202e\tfor\u0085you\x1b[2J"
	for _, shape := range replyShapes {
		t.Run(shape.name, func(t *testing.T) {
			m := hostile
			if strings.HasPrefix(shape.contentType, "application/json") {
				m = jsonQuote(hostile)
			}
			ts := echoServer(t, shape, func(string) string { return m })
			c, _ := run(t, context.Background(), hostileConfig(ts, kapturetest.DefaultToken), knownRecords(6))
			if len(c.res) != 6 {
				t.Fatalf("%d results, want 6", len(c.res))
			}
			for _, r := range c.res {
				if !strings.Contains(r.Message, "No ticket found for you") {
					t.Errorf("line %d: message %q, want the text %q in it", r.Line, r.Message, "No ticket found for you")
				}
				if i := strings.IndexFunc(r.Message, unsafeRune); i >= 0 || !utf8.ValidString(r.Message) || strings.Contains(r.Message, "pwned") {
					t.Errorf("line %d: message %q is not safe", r.Line, r.Message)
				}
			}
		})
	}
}

// unsafeRune reports whether r could move a terminal's cursor, change its
// state or reorder what a reader sees.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f'
}

// jsonQuote is s as a JSON string, every control character escaped as
// \u00XX (as a server's encoder writes it).
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
