package batch_test

// Tests of the engine against hostile or misconfigured servers: redirects
// are never followed, a wrong address stops the run at its first request,
// the token never comes back out of the engine, and payloads stay under
// their byte bound.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// counting is a server that counts its requests and the Authorization
// headers it saw, and answers success.
type counting struct {
	requests atomic.Int64
	mu       sync.Mutex
	auths    []string
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.requests.Add(1)
	c.mu.Lock()
	c.auths = append(c.auths, r.Header.Get("Authorization"))
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"success","message":"ok"}`)
}

// quietTLS starts a TLS server that does not log the handshakes a client
// refuses (which the tests provoke).
func quietTLS(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// trusting is a certificate pool holding the certificates of servers.
func trusting(servers ...*httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, s := range servers {
		pool.AddCert(s.Certificate())
	}
	return pool
}

// tlsConfig is an engine configuration for the TLS server at base.
func tlsConfig(base string, pool *x509.CertPool) batch.Config {
	return batch.Config{
		BaseURL: base, Token: kapturetest.DefaultToken, RootCAs: pool,
		BatchSize: 5, Workers: 2, MaxRetries: 3, Timeout: 5 * time.Second,
		BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond, BreakerThreshold: 100,
	}
}

// TestRedirectsAreNeverFollowed: a redirect, to plain http on the same
// host or to another host, is a configuration error that names where it
// points; nothing is recorded success and the target never sees a request.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	plain := &counting{}
	plainSrv := httptest.NewServer(plain) // http on the same host, another port
	t.Cleanup(plainSrv.Close)
	other := &counting{}
	otherSrv := quietTLS(t, other)
	_, otherPort, _ := net.SplitHostPort(otherSrv.Listener.Addr().String())
	targets := map[string]string{
		"http same host": plainSrv.URL + "/api" + batch.Endpoint,
		"another host":   "https://localhost:" + otherPort + batch.Endpoint,
	}
	for name, target := range targets {
		for _, code := range []int{307, 308, 301, 302} {
			t.Run(fmt.Sprintf("%s/%d", name, code), func(t *testing.T) {
				ts := quietTLS(t, http.RedirectHandler(target, code))
				cfg := tlsConfig(ts.URL, trusting(ts, otherSrv))
				c, err := run(t, context.Background(), cfg, knownRecords(30))
				if !errors.Is(err, batch.ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				for _, want := range []string{"redirect", strings.TrimSuffix(target, batch.Endpoint)} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				// What to change is the caller's to say, in its terms.
				if ce, ok := batch.AsConfigError(err); !ok || ce.Fix != batch.FixAddress || ce.Suggest != strings.TrimSuffix(target, batch.Endpoint) {
					t.Errorf("err %#v: want a ConfigError to fix the address, suggesting %s", err, strings.TrimSuffix(target, batch.Endpoint))
				}
				for _, r := range c.res {
					if r.Status != batch.Failed || r.HTTPStatus != code || !strings.Contains(r.Message, "redirect") {
						t.Errorf("result %+v, want failed with the redirect", r)
					}
				}
				if len(c.res) == 0 || len(c.res) > cfg.Workers*cfg.BatchSize {
					t.Errorf("%d results, want those of the first requests only", len(c.res))
				}
			})
		}
	}
	if n := plain.requests.Load() + other.requests.Load(); n != 0 {
		t.Errorf("the redirect targets got %d requests (Authorization %q), want none", n, append(plain.auths, other.auths...))
	}
}

// TestRedirectAfterAnswersIsRetried: once the API has answered, a
// redirect (a maintenance page) is an outage, retried and never followed.
func TestRedirectAfterAnswersIsRetried(t *testing.T) {
	target := &counting{}
	targetSrv := httptest.NewServer(target)
	t.Cleanup(targetSrv.Close)
	api := kapturetest.NewHandler(kapturetest.Options{})
	var n atomic.Int64
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1 {
			http.Redirect(w, r, targetSrv.URL+"/maintenance", http.StatusFound)
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	cfg := tlsConfig(ts.URL, trusting(ts))
	cfg.Workers, cfg.MaxRetries = 1, 2
	c, err := run(t, context.Background(), cfg, knownRecords(15))
	if err != nil {
		t.Fatalf("err = %v, want none: the payloads fail, the run goes on", err)
	}
	byLine := c.byLine()
	failed := 0
	for _, r := range byLine {
		if r.Status == batch.Failed {
			failed++
			if !strings.Contains(r.Message, "not followed") || r.Attempts != 3 {
				t.Errorf("result %+v, want failed after 3 attempts, the redirect not followed", r)
			}
		}
	}
	// The first request's rows succeed; every later one is redirected.
	if len(byLine) != 15 || failed == 0 || failed == 15 {
		t.Errorf("%d results, %d failed; want 15, all but the first payload's failed", len(byLine), failed)
	}
	if target.requests.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

// TestUserinfoInTheBaseURLIsRefused: a URL with a user name or password is
// refused, and no part of what comes before the @ is printed.
func TestUserinfoInTheBaseURLIsRefused(t *testing.T) {
	tests := []struct {
		url    string
		hidden []string
	}{
		{"https://ops:s3cret-pw@acme.kapturecrm.com", []string{"ops", "s3cret-pw"}},
		{"https://acme.kapturecrm.com@127.0.0.1:8443", []string{"acme.kapturecrm.com"}},
		{"https://ops:se/cret-pw@acme.kapturecrm.com/api", []string{"ops", "se/cret-pw", "cret-pw"}},
		{"ops:s3cret-pw@acme.kapturecrm.com", []string{"ops", "s3cret-pw"}},
		{"http://token-in-url@localhost:8080", []string{"token-in-url"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := batch.New(batch.Config{BaseURL: tt.url, Token: "a-good-token"})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, h := range tt.hidden {
				if strings.Contains(err.Error(), h) {
					t.Errorf("error %q shows %q", err, h)
				}
			}
		})
	}
}

// TestBaseURLWithQueryOrFragmentIsRefused: the message names what is
// wrong with the URL given.
func TestBaseURLWithQueryOrFragmentIsRefused(t *testing.T) {
	for _, u := range []string{"https://acme.kapturecrm.com/?x=1", "https://acme.kapturecrm.com#f", "https://acme.kapturecrm.com/#", "https://acme.kapturecrm.com?"} {
		_, err := batch.New(batch.Config{BaseURL: u, Token: "a-good-token"})
		if err == nil || !strings.Contains(err.Error(), "without a query or fragment") {
			t.Errorf("%s: %v, want refused without a query or fragment", u, err)
		}
	}
}

// TestTokenWithControlCharactersIsRefused: refused by New, before any
// request, without showing the token.
func TestTokenWithControlCharactersIsRefused(t *testing.T) {
	for _, tok := range []string{"abcdef\x00ghijkl", "abcdef\tghijkl", "abcdef\nghijkl", "abcdef\x1bghijkl", "abcdef\x7fghijkl", "abcdef\xffghijkl"} {
		_, err := batch.New(batch.Config{BaseURL: "https://acme.kapturecrm.com", Token: tok})
		if err == nil {
			t.Errorf("token %q accepted", tok)
			continue
		}
		if strings.Contains(err.Error(), "abcdef") || strings.Contains(err.Error(), "ghijkl") {
			t.Errorf("error %q shows the token", err)
		}
	}
}

// echoReplies are the ways a server can put the Authorization header it
// received into a message.
var echoReplies = []struct {
	name        string
	status      int
	contentType string
	body        func(auth, decoded string, items int) string
	wantErr     error // nil: the run goes on
}{
	{"array 200", 200, "application/json", func(a, d string, n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"status":"failed","message":"header %s; user %s"}`, a, d)
		}
		return "[" + strings.Join(items, ",") + "]"
	}, nil},
	{"object 200", 200, "application/json", func(a, d string, _ int) string {
		return fmt.Sprintf(`{"status":"failed","message":"bad key %s (%s)"}`, a, d)
	}, nil},
	{"object 400, slashes escaped", 400, "application/json", func(a, d string, _ int) string {
		return fmt.Sprintf(`{"status":"failed","message":"bad key %s"}`, strings.ReplaceAll(a, "/", `\/`))
	}, nil},
	{"object 400, escaped as \\u", 400, "application/json", func(a, d string, _ int) string {
		a = strings.NewReplacer("+", `\u002b`, "/", `\u002F`).Replace(a)
		return fmt.Sprintf(`{"status":"failed","message":"bad key %s"}`, a)
	}, nil},
	{"object 404", 404, "application/json", func(a, d string, _ int) string {
		return fmt.Sprintf(`{"status":"failed","message":"no ticket for %s"}`, a)
	}, nil},
	{"html 500", 500, "text/html", func(a, d string, _ int) string {
		return fmt.Sprintf("<html><head><title>Error %s</title></head><body>%s</body></html>", a, d)
	}, nil},
	{"html 200, secret cut by the excerpt", 200, "text/html", func(a, d string, _ int) string {
		return strings.Repeat("x", 100) + " " + a + " " + d
	}, nil},
	{"html 404", 404, "text/html", func(a, d string, _ int) string {
		return fmt.Sprintf("<html><head><title>No %s</title></head></html>", a)
	}, batch.ErrConfig},
	{"401 echo", 401, "application/json", func(a, d string, _ int) string {
		return fmt.Sprintf(`{"status":"failed","message":"rejected %s / %s"}`, a, d)
	}, batch.ErrAuth},
}

// TestEchoedTokenIsRedacted: whatever a server echoes of the token (as
// sent, base64-decoded, the password part), no result, error or log line
// carries it.
func TestEchoedTokenIsRedacted(t *testing.T) {
	const user, pass = "ops-user", "P>>>w~~~d???42" // base64: both + and /
	token := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	secrets := []string{token, user + ":" + pass, pass}
	for _, tt := range echoReplies {
		for _, given := range []string{token, "Basic " + token} {
			t.Run(tt.name+"/"+given[:5], func(t *testing.T) {
				ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					a := r.Header.Get("Authorization")
					raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "Basic "))
					w.Header().Set("Content-Type", tt.contentType)
					w.WriteHeader(tt.status)
					io.WriteString(w, tt.body(a, string(raw), bytes.Count(body, []byte(`"ticket_id"`))))
				}))
				t.Cleanup(ts.Close)
				var logs bytes.Buffer
				cfg := batch.Config{BaseURL: ts.URL, Token: given, BatchSize: 3, Workers: 2, MaxRetries: 1,
					Timeout: 5 * time.Second, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, BreakerThreshold: 3,
					Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
				c, err := run(t, context.Background(), cfg, knownRecords(12))
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if len(c.res) == 0 {
					t.Fatal("no results: nothing was checked")
				}
				var out strings.Builder
				for _, r := range c.res {
					fmt.Fprintln(&out, r.Message)
				}
				if err != nil {
					fmt.Fprintln(&out, err.Error())
				}
				out.WriteString(logs.String())
				if !strings.Contains(out.String(), "[redacted]") {
					t.Errorf("nothing redacted: the test proved nothing:\n%s", out.String())
				}
				for _, s := range secrets {
					// Any 8 characters of a secret: an excerpt may cut it.
					for i := 0; i+8 <= len(s); i++ {
						if strings.Contains(out.String(), s[i:i+8]) {
							t.Fatalf("%q of a secret was written:\n%s", s[i:i+8], out.String())
						}
					}
				}
			})
		}
	}
}

// dnsFailing is a client whose every dial fails with err, as a resolver
// would answer.
func dnsFailing(err *net.DNSError) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
		},
	}}
}

// TestWrongAddressStopsAtTheFirstRequest: a name that does not exist, a
// refused certificate, or a 404 that is not the API's stops the run with
// ErrConfig naming the host and what to check; what is transient is still
// retried.
func TestWrongAddressStopsAtTheFirstRequest(t *testing.T) {
	api := quietTLS(t, kapturetest.NewHandler(kapturetest.Options{}))
	_, apiPort, _ := net.SplitHostPort(api.Listener.Addr().String())
	expired := expiredServer(t)
	notFound := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(404)
		io.WriteString(w, "<html><head><title>404 Not Found</title></head><body>nginx</body></html>")
	}))
	t.Cleanup(notFound.Close)
	tests := []struct {
		name    string
		cfg     batch.Config
		want    error
		wantHas []string
		fix     batch.Fix // what the ConfigError says to change
	}{
		{"name under .invalid", tlsConfig("https://acme.invalid", nil), batch.ErrConfig,
			[]string{"no such host acme.invalid", "the API's address"}, batch.FixAddress},
		{"no such name", withClient(tlsConfig("https://acmee.kapturecrm.com", nil),
			dnsFailing(&net.DNSError{Err: "no such host", Name: "acmee.kapturecrm.com", IsNotFound: true})),
			batch.ErrConfig, []string{"no such host acmee.kapturecrm.com"}, batch.FixAddress},
		{"unknown authority", tlsConfig(api.URL, nil), batch.ErrConfig,
			[]string{api.Listener.Addr().String(), "certificate"}, batch.FixTrust},
		{"another host's certificate", tlsConfig("https://localhost:"+apiPort, trusting(api)), batch.ErrConfig,
			[]string{"localhost", "certificate"}, batch.FixTrust},
		{"expired certificate", tlsConfig(expired.url, expired.pool), batch.ErrConfig,
			[]string{"expired"}, batch.FixTrust},
		{"404 page", tlsConfig(notFound.URL, nil), batch.ErrConfig,
			[]string{notFound.Listener.Addr().String(), "404", "404 Not Found", "no Update Ticket API"}, batch.FixAddress},
		{"DNS server failing", withClient(tlsConfig("https://acme.kapturecrm.com", nil),
			dnsFailing(&net.DNSError{Err: "server misbehaving", Name: "acme.kapturecrm.com", IsTemporary: true})),
			nil, []string{"gave up after 4 attempts"}, 0},
		{"DNS timing out", withClient(tlsConfig("https://acme.kapturecrm.com", nil),
			dnsFailing(&net.DNSError{Err: "i/o timeout", Name: "acme.kapturecrm.com", IsTimeout: true})),
			nil, []string{"gave up after 4 attempts"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := run(t, context.Background(), tt.cfg, knownRecords(30))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want the rows failed and the run on", err)
				}
				for _, r := range c.res {
					for _, w := range tt.wantHas {
						if !strings.Contains(r.Message, w) {
							t.Fatalf("result %+v, want %q", r, w)
						}
					}
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if ce, ok := batch.AsConfigError(err); !ok || ce.Fix != tt.fix {
				t.Errorf("err %#v: want a ConfigError with fix %d", err, tt.fix)
			}
			for _, w := range tt.wantHas {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if len(c.res) == 0 || len(c.res) > tt.cfg.Workers*tt.cfg.BatchSize {
				t.Errorf("%d results, want those of the first requests only", len(c.res))
			}
			for _, r := range c.res {
				if r.Status != batch.Failed || r.Attempts != 1 || !strings.Contains(r.Message, "configuration error") {
					t.Errorf("result %+v, want failed after one attempt with the reason", r)
				}
			}
		})
	}
}

func withClient(cfg batch.Config, hc *http.Client) batch.Config {
	cfg.HTTPClient = hc
	return cfg
}

// TestNotFoundAfterAnswersIsPerPayload: once the API has answered, a 404
// page fails its payload as before; a 404 with the API's JSON is about the
// rows whenever it comes.
func TestNotFoundAfterAnswersIsPerPayload(t *testing.T) {
	t.Run("404 page after answers", func(t *testing.T) {
		api := kapturetest.NewHandler(kapturetest.Options{})
		var n atomic.Int64
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) > 1 {
				http.NotFound(w, r)
				return
			}
			api.ServeHTTP(w, r)
		}))
		t.Cleanup(ts.Close)
		cfg := tlsConfig(ts.URL, nil)
		cfg.Workers = 1
		c, err := run(t, context.Background(), cfg, knownRecords(15))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(c.byLine()); got != 15 {
			t.Errorf("%d results, want 15", got)
		}
	})
	t.Run("404 JSON first", func(t *testing.T) {
		s := kapturetest.NewServer(t, kapturetest.Options{FailStatus: 404})
		cfg := config(s)
		recs := []reader.Record{{Line: 2, TicketID: "999999999999", SubStatus: "CL"}}
		c, err := run(t, context.Background(), cfg, recs)
		if err != nil {
			t.Fatal(err)
		}
		if r := c.byLine()[2]; r.Status != batch.Failed || r.HTTPStatus != 404 || strings.Contains(r.Message, "configuration") {
			t.Errorf("result %+v, want the API's failure", r)
		}
	})
}

// expired is a TLS server whose certificate expired an hour ago, and a
// pool that trusts it.
type expired struct {
	url  string
	pool *x509.CertPool
}

func expiredServer(t *testing.T) expired {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "expired test"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(kapturetest.NewHandler(kapturetest.Options{}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return expired{url: ts.URL, pool: pool}
}

// TestPayloadsStayUnderTheByteBound: rows of the largest object the reader
// lets through, at the largest batch size, go out in payloads of at most
// 1 MiB, every row applied.
func TestPayloadsStayUnderTheByteBound(t *testing.T) {
	api := kapturetest.NewHandler(kapturetest.Options{})
	var mu sync.Mutex
	var sizes []int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		sizes = append(sizes, len(body))
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	big := strings.Repeat("c", reader.MaxObjectBytes-200)
	recs := make([]reader.Record, 300)
	for i := range recs {
		recs[i] = reader.Record{Line: i + 2, TicketID: fmt.Sprintf("7135165%05d", i), SubStatus: "CL", Comment: big}
	}
	cfg := tlsConfig(ts.URL, nil)
	cfg.BatchSize, cfg.Workers = 1000, 2
	c, err := run(t, context.Background(), cfg, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.res {
		if r.Status != batch.Success {
			t.Fatalf("result %+v, want success", r)
		}
	}
	if len(c.res) != len(recs) {
		t.Fatalf("%d results, want %d", len(c.res), len(recs))
	}
	most := 0
	for _, n := range sizes {
		most = max(most, n)
	}
	if most > 1<<20 || most < 1<<19 {
		t.Errorf("largest payload %d bytes, want full ones under 1 MiB", most)
	}
}
