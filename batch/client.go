package batch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Endpoint is the Update Ticket API's path under the tenant's root.
const Endpoint = "/update-ticket-from-other-source.html/v.2.0"

// kindConfig: the exchange shows that the configuration is wrong (no such
// host, a refused certificate, a redirect, no API at that address), so
// every request would fail the same way: the run stops. Only the client
// finds it, so it is declared here, apart from the kinds interpret gives
// (which count up from 0).
const kindConfig kind = -1

// client performs one HTTP exchange with the Update Ticket API or the Get
// Ticket API.
type client struct {
	http    *http.Client
	updates endpoint
	reads   endpoint
	host    string // of the endpoints, for messages
	auth    string
	agent   string
	timeout time.Duration
	objects ObjectReplies // how interpret reads one object for several items
	check   bool          // hold a success item's ticket against its row (see checkApplied)
	redact  *Redactor

	// answered is set once the API gave a reply read as one (to an
	// update or a read): from then on the address is known to be right,
	// and what looks like a wrong configuration (a redirect, a lost DNS
	// name, a certificate) is an outage to retry instead.
	answered atomic.Bool
}

// endpoint is one API the client posts to.
type endpoint struct {
	url  string // the request URL
	path string // under the API root: Endpoint or ReadEndpoint
	name string // for messages: "Update Ticket", "Get Ticket"
}

func newEndpoint(root, path, name string) endpoint {
	return endpoint{url: root + path, path: path, name: name}
}

// APIRoot names the API cfg configures: the root its requests go under,
// with its scheme and host in lower case, without a default port or a
// trailing slash — the tenant, as people give it (--base-url,
// --subdomain) and can compare. A sync state, a snapshot and the key-name
// pairs a run learns are each of one API, named so.
func APIRoot(cfg Config) (string, error) {
	u, err := parseBaseURL(cfg)
	if err != nil {
		return "", err
	}
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(u.Scheme == "https" && p == "443") && !(u.Scheme == "http" && p == "80") {
		host = net.JoinHostPort(host, p)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// RequestURL returns the URL the engine cfg configures posts to, having
// checked cfg.BaseURL (and AllowInsecureHTTP) as New does.
func RequestURL(cfg Config) (string, error) {
	u, err := parseBaseURL(cfg)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(u.String(), "/") + Endpoint, nil
}

func newClient(cfg Config) (*client, error) {
	u, err := parseBaseURL(cfg)
	if err != nil {
		return nil, err
	}
	token, err := parseToken(cfg.Token)
	if err != nil {
		return nil, err
	}
	root := strings.TrimRight(u.String(), "/")
	return &client{
		http:    httpClient(cfg),
		updates: newEndpoint(root, Endpoint, "Update Ticket"),
		reads:   newEndpoint(root, ReadEndpoint, "Get Ticket"),
		host:    u.Host,
		auth:    "Basic " + token,
		agent:   cfg.UserAgent,
		timeout: cfg.Timeout,
		objects: cfg.ObjectReplies,
		check:   !cfg.AcceptMoved,
		redact:  NewRedactor(token),
	}, nil
}

// parseBaseURL checks the API root. A URL with a user name or password is
// refused without being printed: the password would go to the logs, and
// "https://acme.kapturecrm.com@evil.example" sends the token to
// evil.example.
func parseBaseURL(cfg Config) (*url.URL, error) {
	raw := strings.TrimSpace(cfg.BaseURL)
	if shown, ok := hideUserinfo(raw); ok {
		return nil, fmt.Errorf("base URL %s: remove the user name or password before the @: give the API root only, as https://SUBDOMAIN.kapturecrm.com (the token goes in the environment or a token file)", shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, quoted below
		}
		return nil, fmt.Errorf("base URL %q: %w", raw, err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("base URL %q: want https://<subdomain>.kapturecrm.com", raw)
	}
	if u.Scheme == "http" && !cfg.AllowInsecureHTTP && !isLoopback(u.Hostname()) {
		return nil, &ConfigError{Fix: FixPlainHTTP, Msg: fmt.Sprintf("base URL %q: plain http would send the token in the clear; use https", raw)}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("base URL %q: give the API root only, without a query or fragment", raw)
	}
	return u, nil
}

// hideUserinfo reports whether raw carries an @ (outside a query or
// fragment), and raw with everything between the scheme and the last @
// replaced by "…". An API root has no @ in its path, so any @ is taken for
// a user name or password, which may itself hold a slash.
func hideUserinfo(raw string) (string, bool) {
	head := raw
	if i := strings.IndexAny(head, "?#"); i >= 0 {
		head = head[:i]
	}
	at := strings.LastIndex(head, "@")
	if at < 0 {
		return "", false
	}
	scheme := ""
	if i := strings.Index(head[:at], "://"); i >= 0 {
		scheme = head[:i+3]
	}
	return scheme + "…" + raw[at:], true
}

// parseToken strips a leading "Basic " (users paste the token with or
// without the scheme word) and refuses a token no request could carry.
// Its errors never show the token.
func parseToken(given string) (string, error) {
	token := tokenText(given)
	if token == "" {
		return "", errors.New("no API token")
	}
	for i, r := range token {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == utf8.RuneError {
			return "", fmt.Errorf("the API token has a control character or invalid UTF-8 at byte %d of %d (a line break, a tab, a stray byte): check the token file or variable", i+1, len(token))
		}
	}
	return token, nil
}

// tokenText is the token given, trimmed, without a leading "Basic ".
func tokenText(given string) string {
	token := strings.TrimSpace(given)
	if len(token) >= 5 && strings.EqualFold(token[:5], "basic") && (len(token) == 5 || token[5] == ' ' || token[5] == '\t') {
		token = strings.TrimSpace(token[5:])
	}
	return token
}

// httpClient is the client the engine sends with. It never follows a
// redirect: Go's client keeps the Authorization header when only the
// scheme or port changes (https to http included), and turns a POST into
// a GET on a 301 or 302. Its transport is http.DefaultTransport's clone,
// so it honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
func httpClient(cfg Config) *http.Client {
	if cfg.HTTPClient != nil {
		hc := *cfg.HTTPClient // a copy: the caller's client keeps its own policy
		hc.CheckRedirect = refuseRedirect
		return &hc
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	// DefaultTransport keeps 2 idle connections per host: with more
	// workers every extra request would dial anew.
	t.MaxIdleConnsPerHost = cfg.Workers + 1
	t.MaxIdleConns = cfg.Workers + 1
	t.ResponseHeaderTimeout = cfg.Timeout
	if cfg.RootCAs != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs}
	}
	t.DialContext = refuseInvalidNames(t.DialContext)
	return &http.Client{Transport: t, CheckRedirect: refuseRedirect}
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// refuseInvalidNames answers a name under .invalid with "no such host" at
// once, as RFC 6761 asks of resolvers: without it, a machine whose DNS
// server cannot be reached would wait and retry for a name that never
// resolves.
func refuseInvalidNames(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err == nil {
			h := strings.ToLower(strings.TrimSuffix(host, "."))
			if h == "invalid" || strings.HasSuffix(h, ".invalid") {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			}
		}
		return dial(ctx, network, addr)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxReply bounds what is read of a reply: a documented success object is
// a few KiB per item.
func maxReply(items int) int64 { return 1<<20 + int64(items)*64<<10 }

// do sends one payload and interprets the answer, with the token hidden in
// every message. It returns an error only when ctx itself ended;
// everything else is an outcome.
func (c *client) do(ctx context.Context, body []byte, rows []Row) (outcome, error) {
	return c.call(ctx, c.updates, body, maxReply(len(rows)), func(status int, header http.Header, data []byte) outcome {
		out := interpret(status, header, data, rows, c.objects)
		if c.check {
			out = checkApplied(out, rows)
		}
		return out
	})
}

// call posts body to ep and turns the answer into an outcome: read
// interprets a reply of at most limit bytes (token redacted); call itself
// decides what shows that the request went wrong (no answer, a redirect,
// no API at that address, a reply over limit). Every message has the
// token hidden. It returns an error only when ctx itself ended.
func (c *client) call(ctx context.Context, ep endpoint, body []byte, limit int64, read func(status int, header http.Header, data []byte) outcome) (outcome, error) {
	out, err := c.exchange(ctx, ep, body, limit, read)
	if err != nil {
		return outcome{}, err
	}
	if out.form != formNone {
		c.answered.Store(true)
	}
	return c.redact.outcome(out), nil
}

func (c *client) exchange(ctx context.Context, ep endpoint, body []byte, limit int64, read func(int, http.Header, []byte) outcome) (outcome, error) {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return outcome{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportOutcome(ctx, reqCtx, 0, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	// Drain a little more so the connection can be reused; Close does the rest.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	if err != nil {
		return c.transportOutcome(ctx, reqCtx, resp.StatusCode, err)
	}
	data = c.redact.body(data)
	if out, ok := c.misdirected(ep, resp, data); ok {
		return out, nil
	}
	if int64(len(data)) > limit {
		return outcome{kind: kindRetry, httpStatus: resp.StatusCode, oversize: limit,
			message: fmt.Sprintf("reply larger than %d bytes", limit)}, nil
	}
	return read(resp.StatusCode, resp.Header, data), nil
}

// transportOutcome classifies a failed exchange: the run's own end is an
// error; a name that does not exist or a refused certificate is a wrong
// configuration (until the API has answered once); a timeout or any other
// network failure is retryable.
func (c *client) transportOutcome(ctx, reqCtx context.Context, status int, err error) (outcome, error) {
	if ctx.Err() != nil {
		return outcome{}, context.Cause(ctx)
	}
	if msg, fix, ok := c.misconfigured(err); ok && !c.answered.Load() {
		return outcome{kind: kindConfig, httpStatus: status, message: msg, fix: fix}, nil
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error() // without the method and URL
	}
	if errors.Is(reqCtx.Err(), context.DeadlineExceeded) {
		msg = fmt.Sprintf("no reply within %s", c.timeout)
	}
	// A transport error may quote what the server sent (a malformed
	// status line, say).
	return outcome{kind: kindRetry, httpStatus: status, message: "network: " + serverText(msg)}, nil
}

// misconfigured says what a transport error tells about the configuration:
// a DNS name that does not exist, or a server certificate that is refused
// (unknown authority, another host's, expired). A DNS server that fails or
// times out is no such error: that is retried.
func (c *client) misconfigured(err error) (string, Fix, bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		fix, of := FixAddress, "the API's address"
		if !strings.EqualFold(dns.Name, c.hostname()) {
			fix, of = FixProxy, "the proxy's address"
		}
		return fmt.Sprintf("no such host %s (the DNS has no such name; it is %s)", dns.Name, of), fix, true
	}
	var detail error
	var cve *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var wrongHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &cve):
		detail = cve.Err
	case errors.As(err, &unknown):
		detail = unknown
	case errors.As(err, &wrongHost):
		detail = wrongHost
	case errors.As(err, &invalid):
		detail = invalid
	default:
		return "", 0, false
	}
	return fmt.Sprintf("the TLS certificate of %s was refused (%v)", c.host, detail), FixTrust, true
}

func (c *client) hostname() string {
	h, _, err := net.SplitHostPort(c.host)
	if err != nil {
		return c.host
	}
	return h
}

// misdirected reads a reply that shows the request went to the wrong
// place: a redirect (never followed; see httpClient), or, before the API
// has answered once, a 404 that is not the API's JSON (no such endpoint on
// that host; a 404 carrying the API's {"status":"failed",...} is about
// the rows, and interpret reads it).
func (c *client) misdirected(ep endpoint, resp *http.Response, body []byte) (outcome, bool) {
	status := resp.StatusCode
	switch {
	case status >= 300 && status < 400:
		return c.redirected(ep, resp), true
	case status == http.StatusNotFound && !c.answered.Load() && !apiReply(body):
		return outcome{kind: kindConfig, httpStatus: status, fix: FixAddress, message: fmt.Sprintf(
			"%s answered HTTP 404 without the API's JSON reply (%s): there is no %s API at %s",
			c.host, snippet(bytes.TrimSpace(body)), ep.name, ep.url)}, true
	}
	return outcome{}, false
}

// redirected is the outcome of a 3xx: before the API has answered once, a
// wrong configuration naming where the redirect points; after, an outage
// to retry (a maintenance page, say).
func (c *client) redirected(ep endpoint, resp *http.Response) outcome {
	out := outcome{kind: kindConfig, httpStatus: resp.StatusCode, fix: FixAddress}
	to := "nowhere (no Location)"
	if loc, err := resp.Location(); err == nil {
		to = showURL(loc)
		if root, ok := strings.CutSuffix(strings.TrimRight(loc.Path, "/"), ep.path); ok {
			r := *loc
			r.User, r.Path, r.RawPath, r.RawQuery, r.Fragment = nil, root, "", "", ""
			out.suggest = showURL(&r)
		}
		if loc.Scheme == "http" {
			to += " (plain http: the token would travel in the clear)"
		}
	}
	if c.answered.Load() {
		out.kind = kindRetry
		out.message = fmt.Sprintf("HTTP %d: a redirect to %s (not followed)", resp.StatusCode, to)
		return out
	}
	out.message = fmt.Sprintf("%s answered HTTP %d, a redirect to %s; kapture-bulk follows no redirect, as the token would go along",
		c.host, resp.StatusCode, to)
	return out
}

// showURL prints u without what may be secret (a user name and password,
// a query) and at most 200 characters long.
func showURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
	s := v.String()
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// apiReply reports whether body is the API's JSON: an object, or an array
// of them, with a "status".
func apiReply(body []byte) bool {
	type item struct {
		Status *string `json:"status"`
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return false
	}
	switch body[0] {
	case '{':
		var it item
		return json.Unmarshal(body, &it) == nil && it.Status != nil
	case '[':
		var items []item
		return json.Unmarshal(body, &items) == nil && len(items) > 0 && items[0].Status != nil
	}
	return false
}
