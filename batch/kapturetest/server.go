package kapturetest

import "net/http/httptest"

// TB is the part of testing.TB that NewServer needs. Taking it instead of
// testing.TB keeps package testing (and its flags) out of the mock binary.
type TB interface {
	Helper()
	Cleanup(func())
}

// Server is a Handler served by an httptest.Server, closed when the test
// ends. Its embedded Handler gives the recording methods (s.Stats(),
// s.History(id), …).
type Server struct {
	*Handler
	// URL is the API root to give the client: scheme, host and
	// Options.Prefix, without the endpoint path and without a trailing
	// slash.
	URL string
	// HTTP is the underlying server, e.g. to close it early.
	HTTP *httptest.Server
}

// NewServer starts a fake API for opts; tb.Cleanup releases held requests
// and closes it.
func NewServer(tb TB, opts Options) *Server {
	tb.Helper()
	h := NewHandler(opts)
	ts := httptest.NewServer(h)
	// Handler first: httptest.Server.Close waits for requests held by a
	// stall or latency, which only the Handler can release.
	tb.Cleanup(func() {
		h.Close()
		ts.Close()
	})
	return &Server{Handler: h, URL: ts.URL + cleanPrefix(opts.Prefix), HTTP: ts}
}

// Endpoint returns the full URL of the update endpoint.
func (s *Server) Endpoint() string { return s.URL + Path }

// ReadEndpoint returns the full URL of the Get Ticket endpoint.
func (s *Server) ReadEndpoint() string { return s.URL + ReadPath }

// Close releases held requests and closes the server; NewServer's cleanup
// does this too, so call it only to stop the server early. Calling it
// more than once is harmless.
func (s *Server) Close() {
	s.Handler.Close()
	s.HTTP.Close()
}
