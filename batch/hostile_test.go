package batch_test

// Tests of what the engine keeps of a hostile server's words: messages
// made safe to print and store, and the token in none of them, however
// it is spelled.

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
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

// echoUser and echoPass make a token with '+', '/' and '=' padding, and a
// secret with bytes that are escape introducers ('%', '&') and non-ASCII.
const echoUser, echoPass = "ops-user", "P>>>w~%~d&??é42"

// named are HTML character references a server may use for a byte.
var namedRefs = map[rune]string{'=': "&equals;", '+': "&plus;", '/': "&sol;", '>': "&gt;", '?': "&quest;", ':': "&colon;", '&': "&amp;", '%': "&percnt;"}

// invisibles are what a server may put between two bytes that a reader
// does not see (or a terminal does not show).
var invisibles = []string{"\u200b", "\u00ad", "\u202e", "\x1b[0m", "\r\n", "\t", "\u2060", " ", "\u00a0"}

// spelling writes s as a server might: each character as itself or
// escaped (%XX of each byte in either case, &#D;, &#xH; or &#XH;, a named
// reference, \uXXXX in either case), now and then something invisible
// between two of them.
func spelling(rnd *rand.Rand, s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && rnd.IntN(8) == 0 {
			b.WriteString(invisibles[rnd.IntN(len(invisibles))])
		}
		hexCase := func(h string) string {
			if rnd.IntN(2) == 0 {
				return strings.ToUpper(h)
			}
			return h
		}
		switch rnd.IntN(7) {
		case 0:
			for _, c := range []byte(string(r)) {
				b.WriteString("%" + hexCase(fmt.Sprintf("%02x", c)))
			}
		case 1:
			fmt.Fprintf(&b, "&#%d;", r)
		case 2:
			b.WriteString("&#" + []string{"x", "X"}[rnd.IntN(2)] + hexCase(fmt.Sprintf("%x", r)) + ";")
		case 3:
			b.WriteString(`\u` + hexCase(fmt.Sprintf("%04x", r)))
		case 4:
			if n, ok := namedRefs[r]; ok {
				b.WriteString(n)
				break
			}
			fallthrough
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// tokenSpelling is the token as base64 in either alphabet, with its
// padding or without, spelled.
func tokenSpelling(rnd *rand.Rand, token string) string {
	if rnd.IntN(2) == 0 {
		token = strings.TrimRight(token, "=")
	}
	if rnd.IntN(2) == 0 {
		token = strings.NewReplacer("+", "-", "/", "_").Replace(token)
	}
	return spelling(rnd, token)
}

// TestEchoedTokenIsRedactedInAnySpelling: a server echoes the token, the
// "user:secret" it decodes to and the secret, each in a random spelling,
// in a message of every reply shape; no result's message holds any of
// them, once every escape in it is read and what is invisible dropped.
func TestEchoedTokenIsRedactedInAnySpelling(t *testing.T) {
	token := base64.StdEncoding.EncodeToString([]byte(echoUser + ":" + echoPass))
	if !strings.ContainsAny(token, "+/") || !strings.HasSuffix(token, "=") {
		t.Fatalf("token %s: want '+', '/' and padding in it, or the test proves less", token)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for _, shape := range replyShapes {
		t.Run(shape.name, func(t *testing.T) {
			var mu sync.Mutex
			rnd := rand.New(rand.NewPCG(seed, uint64(len(shape.name))))
			var sent []string
			ts := echoServer(t, shape, func(auth string) string {
				mu.Lock()
				defer mu.Unlock()
				m := fmt.Sprintf("key %s for %s, or %s.", tokenSpelling(rnd, strings.TrimPrefix(auth, "Basic ")),
					spelling(rnd, echoUser+":"+echoPass), spelling(rnd, echoPass))
				sent = append(sent, m)
				if strings.HasPrefix(shape.contentType, "application/json") {
					return jsonQuote(m)
				}
				return m
			})
			cfg := hostileConfig(ts, "Basic "+token)
			cfg.BatchSize, cfg.BreakerThreshold = 1, 1000
			c, _ := run(t, context.Background(), cfg, knownRecords(150))
			if len(c.res) != 150 {
				t.Fatalf("%d results, want 150", len(c.res))
			}
			for _, r := range c.res {
				if !strings.Contains(r.Message, "[redacted]") {
					t.Fatalf("line %d: nothing redacted in %q: the test proved nothing", r.Line, r.Message)
				}
				plain := readAsAPerson(r.Message)
				for _, s := range []string{token, echoPass} { // the user name is no secret
					if part, ok := holdsPart(plain, s); ok {
						t.Fatalf("line %d: %q of a secret is in %q (read as %q); the server sent one of\n%s",
							r.Line, part, r.Message, plain, strings.Join(sent, "\n"))
					}
				}
			}
		})
	}
}

var (
	percentEsc = regexp.MustCompile(`%[0-9a-fA-F]{2}`)
	jsonEsc    = regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)
	termEsc    = regexp.MustCompile("\x1b\\[[0-9;?]*[ -/]*[@-~]|\x1b\\][^\x07]*\x07")
)

// readAsAPerson reads s the way a person or a decoder could: escapes of
// every kind read (twice, for escapes of escapes), terminal sequences and
// what is invisible dropped, the base64 alphabets made one.
func readAsAPerson(s string) string {
	for range 2 {
		s = html.UnescapeString(s)
		s = percentEsc.ReplaceAllStringFunc(s, func(e string) string {
			b, _ := strconv.ParseUint(e[1:], 16, 8)
			return string([]byte{byte(b)})
		})
		s = jsonEsc.ReplaceAllStringFunc(s, func(e string) string {
			r, _ := strconv.ParseUint(e[2:], 16, 32)
			return string(rune(r))
		})
	}
	s = termEsc.ReplaceAllString(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		case r == '-':
			return '+'
		case r == '_':
			return '/'
		}
		return r
	}, s)
	return s
}

// holdsPart reports whether plain holds any 8 characters of secret (in
// the one base64 alphabet): what an excerpt could keep of it.
func holdsPart(plain, secret string) (string, bool) {
	secret = strings.NewReplacer("-", "+", "_", "/").Replace(secret)
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(plain, secret[i:i+8]) {
			return secret[i : i+8], true
		}
	}
	return "", false
}
