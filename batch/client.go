package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Endpoint is the Update Ticket API's path under the tenant's root.
const Endpoint = "/update-ticket-from-other-source.html/v.2.0"

// client performs one HTTP exchange with the Update Ticket API.
type client struct {
	http    *http.Client
	url     string
	auth    string
	agent   string
	timeout time.Duration
	objects ObjectReplies // how interpret reads one object for several items
}

// RequestURL returns the URL the engine cfg configures posts to, having
// checked cfg.BaseURL (and AllowInsecureHTTP) as New does.
func RequestURL(cfg Config) (string, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil {
		return "", fmt.Errorf("base URL %q: %w", cfg.BaseURL, err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("base URL %q: want https://<subdomain>.kapturecrm.com", cfg.BaseURL)
	}
	if u.Scheme == "http" && !cfg.AllowInsecureHTTP && !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("base URL %q: plain http would send the token in the clear; use https (or --allow-insecure-http)", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("base URL %q: give the API root only, without a query", cfg.BaseURL)
	}
	return strings.TrimRight(u.String(), "/") + Endpoint, nil
}

func newClient(cfg Config) (*client, error) {
	reqURL, err := RequestURL(cfg)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(cfg.Token)
	// Kapture hands out the token as-is; users paste it with or without
	// the scheme word.
	if len(token) >= 5 && strings.EqualFold(token[:5], "basic") && (len(token) == 5 || token[5] == ' ' || token[5] == '\t') {
		token = strings.TrimSpace(token[5:])
	}
	if token == "" {
		return nil, errors.New("no API token")
	}
	if strings.ContainsAny(token, "\r\n") {
		return nil, errors.New("the API token contains a line break")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// DefaultTransport keeps 2 idle connections per host: with more
		// workers every extra request would dial anew.
		t.MaxIdleConnsPerHost = cfg.Workers + 1
		t.MaxIdleConns = cfg.Workers + 1
		t.ResponseHeaderTimeout = cfg.Timeout
		hc = &http.Client{Transport: t}
	}
	return &client{
		http:    hc,
		url:     reqURL,
		auth:    "Basic " + token,
		agent:   cfg.UserAgent,
		timeout: cfg.Timeout,
		objects: cfg.ObjectReplies,
	}, nil
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

// do sends one payload and interprets the answer. It returns an error only
// when ctx itself ended; everything else is an outcome.
func (c *client) do(ctx context.Context, body []byte, rows []Row) (outcome, error) {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, c.url, bytes.NewReader(body))
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
	limit := maxReply(len(rows))
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	// Drain a little more so the connection can be reused; Close does the rest.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	if err != nil {
		return c.transportOutcome(ctx, reqCtx, resp.StatusCode, err)
	}
	if int64(len(data)) > limit {
		return outcome{kind: kindRetry, httpStatus: resp.StatusCode,
			message: fmt.Sprintf("reply larger than %d bytes", limit)}, nil
	}
	return interpret(resp.StatusCode, resp.Header, data, rows, c.objects), nil
}

// transportOutcome classifies a failed exchange: the run's own end is an
// error; a timeout or a network failure is retryable.
func (c *client) transportOutcome(ctx, reqCtx context.Context, status int, err error) (outcome, error) {
	if ctx.Err() != nil {
		return outcome{}, context.Cause(ctx)
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error() // without the method and URL
	}
	if errors.Is(reqCtx.Err(), context.DeadlineExceeded) {
		msg = fmt.Sprintf("no reply within %s", c.timeout)
	}
	return outcome{kind: kindRetry, httpStatus: status, message: "network: " + msg}, nil
}
