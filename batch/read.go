package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"strings"
)

// ReadEndpoint is the Get Ticket API's path under the tenant's root.
const ReadEndpoint = "/search-ticket-by-ticket-id.html/v.2.0"

// DefaultReadBatch is the number of ticket ids a Get Ticket request asks
// for (Config.ReadBatch).
const DefaultReadBatch = 50

// ErrStopped: the engine was stopped (Stop) before or during a read.
var ErrStopped = errors.New("the engine was stopped")

// ReadShapeError is a Get Ticket reply in a shape Read cannot read: it
// says what was expected and shows the start of what came, token
// redacted and customer data masked. Another request would be answered
// the same way: it is not retried.
type ReadShapeError struct {
	HTTPStatus int
	Want       string // what was expected
	Got        string // the start of what came (of the element at fault)
}

func (e *ReadShapeError) Error() string {
	return fmt.Sprintf("a Get Ticket reply (HTTP %d) in a shape kapture-bulk cannot read: want %s; got: %s", e.HTTPStatus, e.Want, e.Got)
}

// ReplyTooLargeError is a Get Ticket reply over its size bound (the
// tickets asked carry long histories). It is not a network fault: it is
// not retried, as the same request gets the same reply.
type ReplyTooLargeError struct {
	IDs   int   // the ids the request asked for
	Limit int64 // the bound, in bytes
}

func (e *ReplyTooLargeError) Error() string {
	if e.IDs == 1 {
		return fmt.Sprintf("the API's reply for this ticket is larger than %d bytes", e.Limit)
	}
	return fmt.Sprintf("the API's reply for %d tickets is larger than %d bytes", e.IDs, e.Limit)
}

// readGaveUp is a read request that still failed after its retries.
type readGaveUp struct{ msg string }

func (e *readGaveUp) Error() string { return e.msg }

// Read reads the tickets ids through the Get Ticket API, Config.ReadBatch
// distinct ids per request. Each request is paced by the engine's pacer
// (reads and updates together keep the rate; AutoRate counts them) and
// retried as an update is (429 with its Retry-After, 5xx pages, network
// errors, timeouts, unreadable 2xx replies; MaxRetries, backoff). A reply
// over the size bound is not retried: the request's ids are read again in
// two halves, down to one id, and a ticket whose reply alone is over it
// is Unread, so that one long ticket keeps no other from being read. It
// returns one Ticket per id, in order (an id the reply does not have:
// Found false). Errors: a wrapped ErrAuth or ErrConfig (as for updates);
// ErrAPIDown when a request still fails after its retries; the API's own
// refusal ({"status":"failed"}), named; a *ReadShapeError; ErrStopped
// once Stop is called, or ctx's cause. With an error it returns the
// tickets of ids' longest prefix read by then. An empty id, or one with a
// comma (which would ask for two tickets), is refused before any request.
// Safe for concurrent use; it may be called while Run sends, and without
// Run at all.
func (e *Engine) Read(ctx context.Context, ids []string) ([]Ticket, error) {
	if err := checkIDs(ids); err != nil {
		return nil, err
	}
	ctx, done := e.readContext(ctx)
	defer done()
	tickets, _, err := e.read(ctx, ids)
	return tickets, e.readError(ctx, err)
}

// ReadRaw makes one Get Ticket read of ids (one request whatever
// ReadBatch; retried as Read's), for a person to see what the tenant
// answers: the last reply's body (customer data masked, token
// redacted), its HTTP status, and the tickets read from it. Its errors
// are Read's, and a *ReplyTooLargeError for a reply over the size bound
// to more than one id (for one: that ticket, Unread, and no body); body
// and status are those of the last reply even then.
func (e *Engine) ReadRaw(ctx context.Context, ids []string) (body []byte, status int, tickets []Ticket, err error) {
	if err := checkIDs(ids); err != nil {
		return nil, 0, nil, err
	}
	ctx, done := e.readContext(ctx)
	defer done()
	uniq := distinct(ids)
	ans, err := e.readOnce(ctx, uniq)
	if _, big := errors.AsType[*ReplyTooLargeError](err); big && len(uniq) == 1 {
		ans.tickets, err = []Ticket{{ID: uniq[0], Unread: err.Error()}}, nil
	}
	if err == nil {
		tickets = inOrder(ids, byID(nil, ans.tickets))
	}
	return maskBody(ans.body), ans.status, tickets, e.readError(ctx, err)
}

// readContext returns ctx ended also by Stop (cause ErrStopped), and the
// function that releases it.
func (e *Engine) readContext(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	// Ends with ctx: when done is called at the latest.
	go func() {
		select {
		case <-e.halted:
			cancel(ErrStopped)
		case <-ctx.Done():
		}
	}()
	select {
	case <-e.halted: // stopped already: no request may leave
		cancel(ErrStopped)
	default:
	}
	return ctx, func() { cancel(nil) }
}

// readError is err as Read returns it.
func (e *Engine) readError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if g, ok := errors.AsType[*readGaveUp](err); ok {
		return fmt.Errorf("%w: a Get Ticket request %s", ErrAPIDown, g.msg)
	}
	return err
}

// read reads ids as Read does, returning also the HTTP status of the last
// reply (0: none), and a *readGaveUp for a request that still failed
// after its retries.
func (e *Engine) read(ctx context.Context, ids []string) ([]Ticket, int, error) {
	if err := checkIDs(ids); err != nil {
		return nil, 0, err
	}
	uniq := distinct(ids)
	got := make(map[string]Ticket, len(uniq))
	status := 0
	for start := 0; start < len(uniq); start += e.cfg.ReadBatch {
		var err error
		status, err = e.readHalves(ctx, uniq[start:min(start+e.cfg.ReadBatch, len(uniq))], got)
		if err != nil {
			return inOrder(ids, got), status, err
		}
	}
	return inOrder(ids, got), status, nil
}

// readHalves reads ids (distinct, checked) into got in one request; when
// its reply is over the size bound, in two halves, each read so in turn,
// down to one id, whose ticket is then Unread. It returns the HTTP status
// of the last reply.
func (e *Engine) readHalves(ctx context.Context, ids []string, got map[string]Ticket) (int, error) {
	ans, err := e.readOnce(ctx, ids)
	big, isBig := errors.AsType[*ReplyTooLargeError](err)
	switch {
	case !isBig:
		if err == nil {
			byID(got, ans.tickets)
		}
		return ans.status, err
	case len(ids) == 1:
		got[ids[0]] = Ticket{ID: ids[0], Unread: big.Error()}
		return ans.status, nil
	}
	e.log.Debug("read reply over its bound: reading halves", "tickets", len(ids), "bound", big.Limit)
	half := len(ids) / 2
	if status, err := e.readHalves(ctx, ids[:half], got); err != nil {
		return status, err
	}
	return e.readHalves(ctx, ids[half:], got)
}

// readAnswer is what one read request brought back.
type readAnswer struct {
	tickets []Ticket // one per id asked, in order
	status  int      // the reply's HTTP status; 0: none came
	body    []byte   // the reply, token redacted
	shape   *ReadShapeError
}

// readOnce reads ids (distinct, checked) in one request, paced and
// retried as an update is.
func (e *Engine) readOnce(ctx context.Context, ids []string) (readAnswer, error) {
	body, err := json.Marshal(struct {
		TicketIDs string `json:"ticket_ids"`
	}{strings.Join(ids, ",")})
	if err != nil {
		return readAnswer{}, fmt.Errorf("encode a read: %w", err)
	}
	var ans readAnswer
	for attempt := 1; ; attempt++ {
		if err := e.pacer.wait(ctx); err != nil {
			return ans, ended(ctx, err)
		}
		ans = readAnswer{}
		out, sent, err := e.paced(ctx, ctx, attempt > 1, func(rctx context.Context) (outcome, error) {
			return e.client.read(rctx, body, ids, e.cfg.KeepRaw, &ans)
		})
		if sent {
			e.reads.Add(1)
		}
		if !sent || err != nil {
			return ans, ended(ctx, err)
		}
		ans.status = out.httpStatus
		if out.oversize > 0 {
			return ans, &ReplyTooLargeError{IDs: len(ids), Limit: out.oversize}
		}
		switch out.kind {
		case kindRead:
			e.healthy()
			return ans, nil
		case kindAuth:
			return ans, fmt.Errorf("%w: %s", ErrAuth, out.message)
		case kindConfig:
			return ans, out.configError()
		case kindShape:
			return ans, ans.shape
		case kindFailed:
			return ans, fmt.Errorf("the Get Ticket API refused the read: %s", out.message)
		case kindRetry:
		default:
			return ans, fmt.Errorf("a read's reply of kind %d", out.kind)
		}
		if attempt > e.cfg.MaxRetries {
			return ans, &readGaveUp{fmt.Sprintf("gave up after %s: %s", plural.Of(attempt, "attempt", "attempts"), out.message)}
		}
		e.log.Debug("retrying read", "tickets", len(ids), "attempt", attempt, "reason", out.message)
		if err := sleep(ctx, e.backoff(attempt)); err != nil {
			return ans, ended(ctx, err)
		}
	}
}

// ended is err, or ctx's cause when ctx ended.
func ended(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// checkIDs refuses an id no read can ask for alone.
func checkIDs(ids []string) error {
	for _, id := range ids {
		if strings.TrimSpace(id) == "" || strings.Contains(id, ",") {
			return fmt.Errorf("read ticket %q: a ticket id must not be empty nor hold a comma", id)
		}
	}
	return nil
}

// distinct returns ids without repeats, in order.
func distinct(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// byID adds tickets to got (a new map when nil), by id, and returns it.
func byID(got map[string]Ticket, tickets []Ticket) map[string]Ticket {
	if got == nil {
		got = make(map[string]Ticket, len(tickets))
	}
	for _, t := range tickets {
		got[t.ID] = t
	}
	return got
}

// inOrder returns the tickets of ids in got, in ids' order, up to the
// first id got lacks.
func inOrder(ids []string, got map[string]Ticket) []Ticket {
	out := make([]Ticket, 0, len(ids))
	for _, id := range ids {
		t, ok := got[id]
		if !ok {
			break
		}
		out = append(out, t)
	}
	return out
}
