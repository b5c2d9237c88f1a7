package batch_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// pipeListener hands the server the far ends of in-memory connections
// its client dials.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pipeConfig serves a fake API for opts over in-memory connections and
// returns it with a config whose client dials them: see pipeServe.
func pipeConfig(t *testing.T, opts kapturetest.Options) (*kapturetest.Handler, batch.Config) {
	t.Helper()
	h := kapturetest.NewHandler(opts)
	return h, pipeServe(t, h, h.Close)
}

// pipeServe serves h over in-memory connections and returns a config
// whose client dials them. For tests inside a synctest bubble, where time
// is simulated: real sockets would keep it from moving (a goroutine
// blocked on one is not durably blocked). When the test ends, release
// (the fake's Close: it lets go of requests held by latency or a stall)
// is called, then everything is closed.
func pipeServe(t *testing.T, h http.Handler, release func()) batch.Config {
	t.Helper()
	l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: h}
	served := make(chan struct{})
	go func() { // ends when the listener closes
		defer close(served)
		_ = srv.Serve(l)
	}()
	tr := &http.Transport{DialContext: l.dial, MaxIdleConnsPerHost: 64}
	t.Cleanup(func() {
		release()
		_ = srv.Close()
		tr.CloseIdleConnections()
		<-served
	})
	return batch.Config{
		BaseURL: "http://127.0.0.1", Token: kapturetest.DefaultToken, UserAgent: "kapture-bulk/test",
		BatchSize: 10, Workers: 4, MaxRetries: 5, Timeout: 2 * time.Second,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		HTTPClient: &http.Client{Transport: tr},
	}
}
