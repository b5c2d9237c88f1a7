package batch

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestPacerSpacesDepartures checks a lower bound only: with a burst of 1,
// no request leaves closer than 1/rate after the previous one, however
// late that one left after its admission (the token bucket alone lets the
// next one catch up).
func TestPacerSpacesDepartures(t *testing.T) {
	const r = 500.0
	gap := time.Duration(float64(time.Second) / r)
	p := newPacer(r, 1, slog.New(slog.DiscardHandler))
	var prev time.Time
	for i := range 20 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			time.Sleep(gap / 2) // a request slow to prepare after its admission
		}
		d, err := p.depart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 1 {
			time.Sleep(gap / 3) // a request slow to get its connection
		}
		d.done()
		if i > 0 {
			if got := p.last.Sub(prev); got < gap {
				t.Errorf("request %d left %v after the previous one, want at least %v", i, got, gap)
			}
		}
		prev = p.last
	}
}

func TestPacerBurstNotSpaced(t *testing.T) {
	p := newPacer(1, 3, slog.New(slog.DiscardHandler))
	start := time.Now()
	for range 3 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		d, err := p.depart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		d.done()
	}
	if !p.last.IsZero() {
		t.Errorf("a burst of 3 was spaced: last departure recorded at %v", p.last.Sub(start))
	}
}

func TestPacerLowersRateOnlyOnRepeated429s(t *testing.T) {
	p := newPacer(20, 1, slog.New(slog.DiscardHandler))
	p.throttled(departure{}, 50*time.Millisecond)
	if got := p.current(); got != 20 {
		t.Fatalf("after one 429 the rate is %v, want 20 (a lone 429 only pauses)", got)
	}
	if d := time.Until(p.until); d <= 0 || d > 50*time.Millisecond {
		t.Errorf("pause %v, want up to the Retry-After of 50ms", d)
	}
	p.throttled(departure{}, 0)
	if got := p.current(); got != 10 {
		t.Fatalf("after a repeated 429 the rate is %v, want 10", got)
	}
	p.throttled(departure{}, 0) // within the same second: no second cut
	if got := p.current(); got != 10 {
		t.Errorf("two cuts within a second: rate %v, want 10", got)
	}
	// Two 429s with many payloads answered between them are two lone
	// ones (arrival jitter at a rate the API takes), not a repeat.
	q := newPacer(20, 1, slog.New(slog.DiscardHandler))
	q.throttled(departure{}, 0)
	for range lone429Gap {
		q.succeeded()
	}
	q.throttled(departure{}, 0)
	// (The successes brought it down to 95% of the rate refused.)
	if got := q.current(); got != 19 {
		t.Errorf("after two 429s %d payloads apart the rate is %v, want 19, not halved", lone429Gap, got)
	}
	q.throttled(departure{}, 0)
	if got := q.current(); got != 9.5 {
		t.Errorf("after a 429 right after another the rate is %v, want 9.5", got)
	}
	// Recovery is additive, one step a second.
	p.lastRaise = time.Now().Add(-2 * time.Second)
	p.succeeded()
	if got := p.current(); got != 11 {
		t.Errorf("after a success the rate is %v, want 11 (+1/20 of 20)", got)
	}
	p.succeeded() // within the second: no second step
	if got := p.current(); got != 11 {
		t.Errorf("two steps within a second: rate %v, want 11", got)
	}
}

func TestPacerFloor(t *testing.T) {
	p := newPacer(8, 1, slog.New(slog.DiscardHandler))
	for range 20 {
		p.throttled(departure{}, 0)
		p.lastCut = time.Time{} // let every call cut
	}
	if got, want := p.current(), p.floor; got != want || want <= 0 {
		t.Errorf("rate after many cuts %v, want the floor %v > 0", got, want)
	}
}

func TestPacerSettlesUnderTheRefusedRate(t *testing.T) {
	p := newPacer(20, 1, slog.New(slog.DiscardHandler))
	p.throttled(departure{}, 0) // a lone 429 at the full rate: no cut, but a ceiling
	if got := p.current(); got != 20 {
		t.Fatalf("rate %v after a lone 429, want 20", got)
	}
	p.succeeded()
	if got := p.current(); got != 19 {
		t.Fatalf("rate %v after the next success, want 19 (95%% of the refused 20)", got)
	}
	for range 5 {
		p.lastRaise = time.Time{}
		p.succeeded()
	}
	if got := p.current(); got != 19 {
		t.Errorf("recovery went to %v, past 95%% of the refused rate", got)
	}
	p.last429 = time.Now().Add(-2 * forgetCeiling) // a quiet spell
	p.lastRaise = time.Time{}
	p.succeeded()
	if got := p.current(); got != 20 {
		t.Errorf("after a quiet spell the rate is %v, want back to 20", got)
	}
}

// TestDepartureTimedWhenWritten: a request's departure is taken when it
// has been written, through the trace its context carries (after a slow
// dial, then); done after the exchange does not move it. A request on a
// connection dialled for it pads the next gap; one on a reused connection
// does not.
func TestDepartureTimedWhenWritten(t *testing.T) {
	dialed := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		<-dialed // a slow dial, released below
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	p := newPacer(100, 1, slog.New(slog.DiscardHandler))
	send := func() (before, left time.Time) {
		t.Helper()
		d, err := p.depart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		before = time.Now()
		req, err := http.NewRequestWithContext(d.trace(context.Background()), http.MethodPost, srv.URL, strings.NewReader("[]"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		left = p.last
		d.done()
		if !p.last.Equal(left) {
			t.Errorf("done moved the departure from %v to %v", left, p.last)
		}
		return before, left
	}
	time.AfterFunc(20*time.Millisecond, func() { close(dialed) })
	before, left := send()
	if got := left.Sub(before); got < 20*time.Millisecond {
		t.Errorf("departure taken %v after depart returned, want after the 20ms dial", got)
	}
	if want := freshPad(100); p.pad != want || want <= 0 {
		t.Errorf("after a request on a new connection the pad is %v, want %v", p.pad, want)
	}
	send()
	if p.pad != 0 {
		t.Errorf("after a request on a reused connection the pad is %v, want 0", p.pad)
	}
}

// TestPacerLogsLongPauses: a Retry-After of 10 s or more is logged when
// it begins (the run would otherwise only look stalled); a short one is
// not.
func TestPacerLogsLongPauses(t *testing.T) {
	for _, auto := range []bool{false, true} {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		p := newPacer(20, 1, log)
		if auto {
			p = newAutoPacer(log)
		}
		p.throttled(departure{}, time.Second)
		if strings.Contains(buf.String(), "asked to pause") {
			t.Errorf("auto %v: a 1s pause was logged: %s", auto, buf.String())
		}
		p.throttled(departure{}, time.Minute)
		if got := buf.String(); !strings.Contains(got, "asked to pause") || !strings.Contains(got, "retry_after=1m0s") {
			t.Errorf("auto %v: a 1m pause logged as %q", auto, got)
		}
	}
}
