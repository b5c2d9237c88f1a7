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
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock is simulated time for one goroutine at a time: After moves it
// on by d at once, as if the caller had slept, and Advance moves it on
// for time spent elsewhere (preparing a request, writing it).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: simStart} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.Advance(d)
	return ch
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return c.now
}

var discard = slog.New(slog.DiscardHandler)

// lastWritten returns when the previous spaced request was written.
func (p *pacer) lastWritten() (time.Time, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.pad
}

// TestPacerSpacesDepartures: with a burst of 1 a request leaves exactly
// departGap after the previous one was written, however late that one
// was written after it left, and at once when it comes later than that.
func TestPacerSpacesDepartures(t *testing.T) {
	const r = 500.0
	clk := newFakeClock()
	p := pacerOn(clk, fixedRate(r), 1, true, discard)
	ctx := context.Background()
	var written time.Time
	for i := range 20 {
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			clk.Advance(departGap(r) * 3 / 2) // slow to prepare: later than its turn
		}
		ready := clk.Now()
		d, err := p.depart(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := ready
		if i > 0 && written.Add(departGap(r)).After(want) {
			want = written.Add(departGap(r))
		}
		if !d.at.Equal(want) {
			t.Errorf("request %d left at %v, want %v (ready at %v, previous written at %v)",
				i, d.at.Sub(simStart), want.Sub(simStart), ready.Sub(simStart), written.Sub(simStart))
		}
		if i%4 == 1 {
			clk.Advance(departGap(r) / 3) // slow to write
		}
		d.done()
		written = clk.Now()
	}
}

// TestPacerHoldsTheNextUntilWritten: a request does not leave while the
// one before it is being written, and leaves departGap after it was.
func TestPacerHoldsTheNextUntilWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		p := pacerOn(clk, fixedRate(100), 1, true, discard)
		first, err := p.depart(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		left := make(chan departure)
		go func() { // ends when the second request has left
			d, err := p.depart(t.Context())
			if err != nil {
				t.Error(err)
			}
			left <- d
		}()
		synctest.Wait()
		select {
		case <-left:
			t.Fatal("the second request left while the first was being written")
		default:
		}
		written := clk.Advance(50 * time.Millisecond) // a slow upload
		first.done()
		second := <-left
		if want := written.Add(departGap(100)); !second.at.Equal(want) {
			t.Errorf("second request left %v after the first was written, want %v", second.at.Sub(written), departGap(100))
		}
		second.done()
	})
}

func TestPacerBurstNotSpaced(t *testing.T) {
	clk := newFakeClock()
	p := pacerOn(clk, fixedRate(1), 3, false, discard)
	for i := range 3 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		d, err := p.depart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !d.at.Equal(simStart) || d.leave != nil {
			t.Errorf("request %d of a burst of 3 left at %v (spaced: %v), want at once", i, d.at.Sub(simStart), d.leave != nil)
		}
		d.done()
	}
}

// TestRetryAfterPausesTheWaits: after a 429 neither wait nor depart
// returns before its Retry-After has passed.
func TestRetryAfterPausesTheWaits(t *testing.T) {
	for _, spaced := range []bool{true, false} {
		clk := newFakeClock()
		p := pacerOn(clk, fixedRate(50), 1, spaced, discard)
		d, err := p.depart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		d.done()
		p.throttled(d, 2*time.Second)
		until := d.at.Add(2 * time.Second)
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := clk.Now(); got.Before(until) {
			t.Errorf("spaced %v: wait returned %v before the pause ended", spaced, until.Sub(got))
		}
		p.throttled(d, time.Second)
		d, err = p.depart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := until.Add(time.Second); d.at.Before(want) {
			t.Errorf("spaced %v: departed %v before the second pause ended", spaced, want.Sub(d.at))
		}
		d.done()
	}
}

// TestPauseBeginningDuringAWait: a worker waiting for its token when a
// 429 pauses everyone honours the pause too, then takes a fresh token.
func TestPauseBeginningDuringAWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pacerOn(realClock{}, fixedRate(1), 1, true, discard) // the bubble's clock
		start := time.Now()
		if err := p.wait(t.Context()); err != nil { // the bucket's one token
			t.Fatal(err)
		}
		done := make(chan time.Duration)
		go func() { // ends when its wait returns
			err := p.wait(t.Context()) // its token comes at 1 s
			if err != nil {
				t.Error(err)
			}
			done <- time.Since(start)
		}()
		time.Sleep(500 * time.Millisecond)
		p.throttled(departure{}, 2*time.Second)
		if got, want := <-done, 2500*time.Millisecond; got != want {
			t.Errorf("wait returned at %v, want at the end of the pause, %v", got, want)
		}
	})
}

// TestPacerStopsWaitingWhenCancelled: a context that ends during a pause
// or a spacing ends the wait with its error, on the clock's spot.
func TestPacerStopsWaitingWhenCancelled(t *testing.T) {
	clk := newFakeClock()
	p := pacerOn(clk, fixedRate(1), 1, true, discard)
	d, err := p.depart(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d.done()
	p.throttled(d, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(ctx); err != context.Canceled {
		t.Errorf("wait: %v, want context.Canceled", err)
	}
	if _, err := p.depart(ctx); err != context.Canceled {
		t.Errorf("depart: %v, want context.Canceled", err)
	}
	if !clk.Now().Equal(d.at) {
		t.Errorf("a cancelled wait slept %v", clk.Now().Sub(d.at))
	}
}

// TestDepartureTimedWhenWritten: a request's departure ends when it has
// been written, through the trace its context carries (after a slow
// dial, then); done after the exchange does not move it. A request on a
// connection dialled for it pads the next gap; one on a reused connection
// does not.
func TestDepartureTimedWhenWritten(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	clk := newFakeClock()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		clk.Advance(20 * time.Millisecond) // a slow dial
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	p := pacerOn(clk, fixedRate(100), 1, true, discard)
	send := func() (left, written time.Time) {
		t.Helper()
		d, err := p.depart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
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
		written, _ = p.lastWritten()
		clk.Advance(time.Millisecond)
		d.done()
		if last, _ := p.lastWritten(); !last.Equal(written) {
			t.Errorf("done moved the end of the departure by %v", last.Sub(written))
		}
		return d.at, written
	}
	left, written := send()
	if got := written.Sub(left); got != 20*time.Millisecond {
		t.Errorf("departure ended %v after it began, want after the 20ms dial", got)
	}
	if _, pad := p.lastWritten(); pad != freshPad(100) || pad <= 0 {
		t.Errorf("after a request on a new connection the pad is %v, want %v", pad, freshPad(100))
	}
	left, _ = send()
	if want := written.Add(departGap(100) + freshPad(100)); !left.Equal(want) {
		t.Errorf("the request after a new connection left %v after it, want %v", left.Sub(written), want.Sub(written))
	}
	if _, pad := p.lastWritten(); pad != 0 {
		t.Errorf("after a request on a reused connection the pad is %v, want 0", pad)
	}
}

// TestPacerFollowsItsControl: the token bucket takes the rate its control
// sets after each answer, and a lowering is logged.
func TestPacerFollowsItsControl(t *testing.T) {
	var buf bytes.Buffer
	clk := newFakeClock()
	p := pacerOn(clk, newAIMD(20), 1, true, slog.New(slog.NewTextHandler(&buf, nil)))
	var sent []departure
	for range 2 {
		d, err := p.depart(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		d.done()
		sent = append(sent, d)
	}
	for _, d := range sent { // two 429s in a row
		p.throttled(d, 0)
	}
	if got := float64(p.lim.Limit()); got != 10 || p.current() != 10 {
		t.Errorf("limiter at %v, control at %v after two 429s in a row, want 10", got, p.current())
	}
	if !strings.Contains(buf.String(), "lowering the request rate") {
		t.Errorf("the lowering was not logged: %q", buf.String())
	}
}

// TestPacerLogsLongPauses: a Retry-After of 10 s or more is logged when
// it begins (the run would otherwise only look stalled); a short one is
// not.
func TestPacerLogsLongPauses(t *testing.T) {
	for _, ctl := range []rateControl{fixedRate(0), newAIMD(20), newRateController(simStart)} {
		var buf bytes.Buffer
		p := pacerOn(newFakeClock(), ctl, 1, true, slog.New(slog.NewTextHandler(&buf, nil)))
		p.throttled(departure{}, time.Second)
		if strings.Contains(buf.String(), "asked to pause") {
			t.Errorf("%T: a 1s pause was logged: %s", ctl, buf.String())
		}
		p.throttled(departure{}, time.Minute)
		if got := buf.String(); !strings.Contains(got, "asked to pause") || !strings.Contains(got, "retry_after=1m0s") {
			t.Errorf("%T: a 1m pause logged as %q", ctl, got)
		}
	}
}
