// Package batch is the engine: it keeps each ticket's rows in file order,
// chunks rows into array payloads, paces requests with one shared rate
// limiter, sends them from a fixed pool of workers, interprets the replies,
// retries what can be retried, splits what the API rejects as a whole, and
// sends again on their own the rows whose outcome a reply did not state
// (see ObjectReplies).
package batch

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// Fatal errors: Run returns them (wrapped) and sends nothing more.
var (
	// ErrAuth: the API rejected the token (401/403 or "Invalid Auth Key").
	ErrAuth = errors.New("authentication rejected")
	// ErrAPIDown: too many consecutive payloads failed after their retries.
	ErrAPIDown = errors.New("the API looks down")
	// ErrConfig: a request showed that the configuration is wrong, before
	// the API had answered once: a DNS name that does not exist, a TLS
	// certificate refused, a redirect (never followed), or a 404 that is
	// not the API's JSON. Every request would fail the same way; a person
	// must fix the address (or trust the certificate's authority).
	ErrConfig = errors.New("configuration error")
)

// The defaults of Config's tuning fields: New takes them for a zero (or
// negative) value. Those a user may tune are exported, so that a command
// line states its flags' defaults with them.
const (
	DefaultBatchSize = 50
	DefaultWorkers   = 4
	DefaultBurst     = 1
	DefaultTimeout   = 30 * time.Second

	defaultBackoffBase      = 500 * time.Millisecond
	defaultBackoffMax       = 30 * time.Second
	defaultBreakerThreshold = 5
)

// Config is everything the engine needs; the zero values of the tuning
// fields take the defaults named on each.
type Config struct {
	BaseURL           string // API root, e.g. https://acme.kapturecrm.com
	Token             string // with or without a leading "Basic "
	AllowInsecureHTTP bool   // plain http to a non-loopback host
	UserAgent         string

	BatchSize  int           // items per payload; default DefaultBatchSize
	Workers    int           // payloads in flight; default DefaultWorkers
	Rate       float64       // requests per second; 0 = unlimited
	Burst      int           // default DefaultBurst
	MaxRetries int           // retries per payload after the first attempt; <0 means 0
	Timeout    time.Duration // per request; default DefaultTimeout

	// BackoffBase and BackoffMax shape the full-jitter backoff between
	// retries: rand(0, min(BackoffMax, BackoffBase·2^n)). Defaults 500ms,
	// 30s.
	BackoffBase, BackoffMax time.Duration
	// BreakerThreshold consecutive payloads failing after their retries
	// stop the run with ErrAPIDown; default 5.
	BreakerThreshold int

	// AutoRate finds the API's rate limit instead of pacing at Rate (Rate
	// and Burst are then ignored): it starts at a safe rate, raises it
	// while the API accepts, and holds just under the rate at which the
	// API first refuses; see Stats.SettledRate.
	AutoRate bool

	// ObjectReplies says how to read one object answering a payload of
	// several items; the zero value is ObjectAuto.
	ObjectReplies ObjectReplies

	// BeforeSend, when not nil, is called before every HTTP request (first
	// attempts, retries, halves of a split payload, items sent again on
	// their own) with exactly the rows that request carries, in payload
	// order, and the index of the worker sending it (0 to Workers-1). The
	// request follows the call as soon as the rate limit lets it leave (at
	// once, or after the spacing of requests or a Retry-After pause),
	// unless ctx ends first, when it may not go out. A non-nil error is
	// fatal: that request is not made,
	// nothing more is sent, and Run returns the error wrapped. Workers
	// call it concurrently, each one call at a time, and a worker has
	// handed emit the results of its previous requests before it calls
	// BeforeSend again. BeforeSend must neither modify rows nor keep the
	// slice after it returns.
	BeforeSend func(ctx context.Context, worker int, rows []Row) error
	// Unsent, when not nil, is called when a stop (Stop, or the run
	// ending) leaves without a result rows that BeforeSend saw but that
	// the API cannot have applied: every request that carried them was
	// refused (429, or the API's failure reply for the whole payload), or
	// never left. They count as never sent. It is called by the worker
	// that held them (whose BeforeSend saw them), in order with its other
	// calls, even after ctx ended. An error is fatal.
	Unsent func(worker int, rows []Row) error

	// ReadBatch is the most ticket ids one Get Ticket request asks for;
	// default DefaultReadBatch.
	ReadBatch int
	// KeepRaw keeps each ticket's element of a read's reply, customer
	// data masked, in Ticket.Raw.
	KeepRaw bool
	// AcceptMoved turns the reply check off. By default a success item
	// whose reply shows its ticket holding another sub-status than the
	// row sent (or, when the row sent a queue, another queue) is Failed,
	// with Result.NotApplied set: the API answered, but the ticket does
	// not hold the row. For tenants whose workflows move tickets on by
	// design.
	AcceptMoved bool
	// Observe, when not nil, is called with the ticket of every success
	// item whose reply carries one (its codes as the API labels them:
	// the tenant's own key-name pairs), before the item's result is
	// emitted. The workers call it concurrently.
	Observe func(Ticket)
	// Backup, when not nil, gets a pre-image of every ticket before the
	// first request that carries a row of it leaves (see Backup).
	Backup Backup

	// HTTPClient, when not nil, sends the requests (a copy of it that
	// follows no redirect). nil: a client sized to the pool, which
	// honours HTTPS_PROXY and NO_PROXY and trusts RootCAs.
	HTTPClient *http.Client
	// RootCAs are the certificate authorities the default client trusts;
	// nil: the system's. Unused with HTTPClient.
	RootCAs *x509.CertPool
	Logger  *slog.Logger // nil: discard
}

// Status of a row's result.
type Status uint8

const (
	Success Status = iota + 1
	Failed
)

// Result is what happened to one row.
type Result struct {
	Line       int
	TicketID   string
	Key        rowkey.Key
	Status     Status
	Message    string
	HTTPStatus int // of the reply that decided the row; 0 if none
	Attempts   int // HTTP requests that carried the row
	FinishedAt time.Time
	// NotApplied: Failed although the API said success, as the reply
	// showed the ticket holding another sub-status or queue than the row
	// sent (see Config.AcceptMoved). Message says what it holds.
	NotApplied bool
}

// Stats are the engine's counters, safe to read while it runs.
type Stats struct {
	Requests int64   // HTTP requests sent, updates and reads
	Retries  int64   // of which were retries
	Reads    int64   // of which were Get Ticket requests
	Limited  int64   // of which the API answered 429 (rate limited)
	Splits   int64   // payloads bisected
	Rate     float64 // the limiter's current rate (requests/s); 0 = unlimited
	// ReplyForm is the form of the replies read so far: "" before any,
	// "array" (one result per item), "object" (one object per request),
	// or "mixed" when both were seen. Replies that were not read as
	// results (429, 5xx, auth refusals, unreadable bodies) do not count.
	ReplyForm string
	// BatchSize is the number of items a new payload may carry now: the
	// configured size, or 1 under ObjectSingle and once ObjectAuto has
	// seen an object answer a payload of several items.
	BatchSize int
	// SettledRate is the rate Config.AutoRate settled at, just under the
	// API's limit as found; 0 before it settled, or without AutoRate.
	SettledRate float64
	// Delivering counts the payloads the workers are delivering (at most
	// one each): after Stop, those the stop waits for.
	Delivering int64
	// StopDeadline is when a stop waits no longer: Timeout after Stop.
	// Zero before Stop.
	StopDeadline time.Time
}

// Engine sends rows. Create it with New, run it once with Run.
type Engine struct {
	cfg    Config
	client *client
	log    *slog.Logger
	pacer  *pacer
	seed   maphash.Seed

	mu         sync.Mutex
	stopped    bool
	deadline   time.Time               // of the grace time, once stopped
	cancelSoft context.CancelFunc      // of the running Run's soft context
	endGrace   context.CancelCauseFunc // of the running Run's grace context
	graceTimer *time.Timer             // ends the grace time

	// halted is closed by Stop: a read in progress ends (see Read).
	halted chan struct{}

	requests, retries, splits atomic.Int64
	reads                     atomic.Int64 // of requests: Get Ticket's
	limited                   atomic.Int64 // requests answered 429
	failStreak                atomic.Int64
	delivering                atomic.Int64 // see Stats.Delivering

	size                atomic.Int64 // items per new payload; see batchSize
	sawArray, sawObject atomic.Bool  // reply forms seen; see replyForm
	unanswered          atomic.Bool  // an array left items unanswered; see noteUnanswered
}

// New checks cfg and builds an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = defaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = defaultBackoffMax
	}
	if cfg.BreakerThreshold <= 0 {
		cfg.BreakerThreshold = defaultBreakerThreshold
	}
	if cfg.ReadBatch <= 0 {
		cfg.ReadBatch = DefaultReadBatch
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("rate %v: want 0 (unlimited) or more", cfg.Rate)
	}
	if cfg.ObjectReplies > ObjectSingle {
		return nil, fmt.Errorf("object replies %d: want ObjectAuto, ObjectWhole or ObjectSingle", cfg.ObjectReplies)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "kapture-bulk"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:    cfg,
		client: c,
		log:    log,
		pacer:  newPacer(cfg.Rate, cfg.Burst, log),
		seed:   maphash.MakeSeed(),
		halted: make(chan struct{}),
	}
	if cfg.AutoRate {
		e.pacer = newAutoPacer(log)
	}
	e.size.Store(int64(cfg.BatchSize))
	if cfg.ObjectReplies == ObjectSingle {
		e.size.Store(1)
	}
	return e, nil
}

// Stop asks a running engine to take no new payloads, and ends every
// read: Read and ReadRaw with ErrStopped, a backup's read leaving its
// payload not sent. What its workers hold settles within Timeout (the
// grace time): a request on the wire gets its answer; a payload the API
// cannot have applied (refused with 429, or as a whole by the API's
// failure reply) is not sent again, and its rows go to Config.Unsent; a
// payload that may have been applied (no answer, a 5xx page, an
// unreadable reply, one that did not state its rows' outcome) gets one
// more attempt within the grace time. Rows still
// without an answer then stay without a result, their outcome unknown;
// rows not yet sent get none either (so --resume sends them). Safe to
// call more than once.
func (e *Engine) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return
	}
	e.stopped = true
	close(e.halted)
	e.deadline = time.Now().Add(e.cfg.Timeout)
	if e.cancelSoft != nil {
		e.beginGrace()
	}
}

// errGraceOver ends the grace time of a stop.
var errGraceOver = errors.New("the stop's grace time is over")

// beginGrace ends soft at once (a worker checks it before each request)
// and the grace time at the deadline. e.mu is held.
func (e *Engine) beginGrace() {
	e.cancelSoft()
	end := e.endGrace
	e.graceTimer = time.AfterFunc(time.Until(e.deadline), func() { end(errGraceOver) })
}

// MaxInFlight returns the most requests the engine has in flight at once
// (one per worker) and the most rows one request carries.
func (e *Engine) MaxInFlight() (requests, rows int) { return e.cfg.Workers, e.cfg.BatchSize }

// URL is the endpoint the engine posts to (it carries no secret).
func (e *Engine) URL() string { return e.client.updates.url }

// Stats returns the counters so far.
func (e *Engine) Stats() Stats {
	s := Stats{
		Requests:  e.requests.Load(),
		Retries:   e.retries.Load(),
		Splits:    e.splits.Load(),
		Reads:     e.reads.Load(),
		Limited:   e.limited.Load(),
		Rate:      e.pacer.current(),
		ReplyForm: e.replyForm(),
		BatchSize: e.batchSize(),
	}
	s.SettledRate = e.pacer.settled()
	s.Delivering = e.delivering.Load()
	e.mu.Lock()
	s.StopDeadline = e.deadline
	e.mu.Unlock()
	return s
}

// Run sends every row received from rows until rows is closed, Stop is
// called, or a fatal error happens, and hands results to emit as each
// payload finishes. No row's result is taken from a reply's word about
// another row: a row whose outcome no reply stated is sent again on its
// own. A row left without a result when the run stops was never sent,
// was given to Config.Unsent, or has an outcome no reply stated (see
// Stop). emit is called from the
// worker goroutines, several at once. It may block (e.g. until the
// results are durably written); the calling worker waits meanwhile. Each
// worker calls emit for the results of a request before it calls
// Config.BeforeSend for its next one. An error from emit is fatal. Two
// rows of one ticket are never in flight together nor in one payload, and
// go out in the order received. Run returns nil when it finished or was
// stopped, ctx's cause when ctx ended, and a wrapped ErrAuth, ErrConfig,
// ErrAPIDown, emit error or BeforeSend error otherwise.
func (e *Engine) Run(ctx context.Context, rows <-chan Row, emit func([]Result) error) error {
	g, gctx := errgroup.WithContext(ctx)
	// soft ends when Stop is called or the group fails: no new payloads.
	// grace ends Timeout after Stop: requests use it, so those on the
	// wire finish.
	soft, cancelSoft := context.WithCancel(gctx)
	defer cancelSoft()
	grace, endGrace := context.WithCancelCause(gctx)
	defer endGrace(nil)
	e.mu.Lock()
	e.cancelSoft, e.endGrace = cancelSoft, endGrace
	if e.stopped {
		e.beginGrace()
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.graceTimer != nil {
			e.graceTimer.Stop()
		}
	}()

	s := stops{run: gctx, soft: soft, grace: grace}
	queues := make([]*rowQueue, e.cfg.Workers)
	for i := range queues {
		queues[i] = newRowQueue(e.cfg.BatchSize, e.cfg.Workers)
		w := &worker{e: e, id: i, q: queues[i], emit: emit}
		g.Go(func() error { return w.loop(s) })
	}
	g.Go(func() error {
		defer func() {
			for _, q := range queues {
				close(q.rows)
			}
		}()
		n := uint64(len(queues))
		for {
			select {
			case <-soft.Done():
				return nil
			case r, ok := <-rows:
				if !ok {
					return nil
				}
				if !queues[maphash.String(e.seed, r.TicketID)%n].put(soft, r) {
					return nil
				}
			}
		}
	})
	err := g.Wait()
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return err
}

// Memory bounds of the rows between the router and the requests: the run
// must stay small whatever the flags and the rows (a row's object may be
// thousands of bytes).
const (
	// queueBytes bounds the rows waiting in all the workers' queues
	// together: each worker gets its share.
	queueBytes = 16 << 20
	// minQueueBytes is the least share of a worker.
	minQueueBytes = 256 << 10
	// maxPayloadBytes bounds a request's body: a payload goes out with
	// fewer items than the batch size rather than pass it. 50 rows of
	// ordinary updates make a few KiB; it also keeps payloads under the
	// 1 MiB body limit many web servers have by default.
	maxPayloadBytes = 1 << 20
	// rowOverhead is about what a queued Row costs besides its strings.
	rowOverhead = 64
)

// rowQueue is a worker's queue: rows routed to it and not yet taken,
// bounded in count and, through room, in bytes. Room for several payloads,
// so that a worker waiting out a slow reply or a backoff does not stall
// the router (and so every other worker) at once.
type rowQueue struct {
	rows chan Row
	room *semaphore.Weighted
	size int64
}

func newRowQueue(batchSize, workers int) *rowQueue {
	size := max(int64(queueBytes/workers), minQueueBytes)
	return &rowQueue{rows: make(chan Row, max(4*batchSize, 1024)), room: semaphore.NewWeighted(size), size: size}
}

// cost is what r takes of the queue's room; never more than all of it, so
// that any row fits an empty queue.
func (q *rowQueue) cost(r Row) int64 {
	return min(int64(len(r.Object)+len(r.TicketID)+len(r.SubStatus)+len(r.Queue)+rowOverhead), q.size)
}

// put queues r once there is room for it, and reports whether it did:
// false when ctx ended first.
func (q *rowQueue) put(ctx context.Context, r Row) bool {
	n := q.cost(r)
	if q.room.Acquire(ctx, n) != nil {
		return false
	}
	select {
	case q.rows <- r:
		return true
	case <-ctx.Done():
		q.room.Release(n)
		return false
	}
}

// took gives back the room of r, just taken from the queue.
func (q *rowQueue) took(r Row) { q.room.Release(q.cost(r)) }
