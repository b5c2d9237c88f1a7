package run

import (
	"sync/atomic"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Stats counts what a run did. Run updates it as it goes; Snapshot may be
// called at any time, from any goroutine. The zero value is ready to use.
type Stats struct {
	read, skipped, resent        atomic.Int64
	heldBack                     atomic.Int64
	success, failed, invalid     atomic.Int64
	duplicates, blank, bytes     atomic.Int64
	wouldSend, payloads          atomic.Int64
	unchanged, inflight, unknown atomic.Int64
	failedBefore, unknownBefore  atomic.Int64
	notApplied, backupOlder      atomic.Int64
	backupMissing                atomic.Int64
	resultsOpen, sending, dryRun atomic.Bool
	eng                          atomic.Pointer[batch.Engine]
	reasons                      reasonTally
}

// Snapshot is a Stats read at one moment.
type Snapshot struct {
	// Read counts the data rows taken from the input (within the limit).
	Read int64
	// Skipped counts the rows skipped as done in the run resumed.
	Skipped int64
	// Resent counts the rows a resume sent although they were done, to
	// keep a ticket's rows in order (an earlier row of the ticket was sent
	// again, or something of the ticket was recorded after them).
	Resent int64
	// HeldBack counts the rows a resume with a limit did not send: a row
	// of their ticket beyond the limit has a result, and sending them
	// could move the ticket away from the state that row put it in. For a
	// sync run: a valid row of their ticket lies beyond the limit.
	HeldBack int64
	// Success, Failed and Invalid count the results written. For a dry
	// run, Invalid counts the invalid rows read (nothing is written).
	Success, Failed, Invalid int64
	// Duplicates counts rows whose ticket_id came earlier in the input.
	Duplicates int64
	// BlankSkipped counts the blank rows the reader skipped; set when the
	// run ends.
	BlankSkipped int64
	// InputBytes counts the bytes of the input read so far by the main
	// read (not by the checks before it).
	InputBytes int64
	// Unchanged counts the rows a sync run did not send, their tickets
	// holding their last row already (results written).
	Unchanged int64
	// WouldSend and Payloads are a dry run's: the rows a run would send,
	// and at least how many payloads that takes.
	WouldSend, Payloads int64
	// InFlight counts the rows whose requests have left without an
	// answer yet (those the results file's in-flight journal lists).
	InFlight int64
	// Unknown counts, once the run has ended, the rows whose requests got
	// no answer (the journal keeps them): the API may or may not have
	// applied them. A report of the results file counts them failed, as
	// "outcome unknown", and so does a resume before it sends them again.
	Unknown int64
	// FailedBefore counts, once a resume has ended, the rows it was to
	// send again whose latest result is still a failure of an earlier run
	// (the run stopped before they went): failed, as report counts them,
	// not "not sent"; UnknownBefore how many of them are of unknown
	// outcome.
	FailedBefore, UnknownBefore int64
	// NotApplied counts, of Failed, the rows the API said it applied
	// while its reply showed the ticket holding another sub-status or
	// queue than the row sent (batch.Result.NotApplied).
	NotApplied int64
	// BackupOlder counts, once the run has ended, the tickets it sent
	// whose pre-image the backup held before it started (a resume's, or a
	// sync night's run again): kept, not read again.
	BackupOlder int64
	// BackupMissing counts, once a resume with a backup has ended, the
	// tickets it sent that its results record as changed by an earlier
	// run (resume.State.Changed) and the backup holds no pre-image
	// of: not read, the read being the job's own change.
	BackupMissing int64

	// Requests, Retries, Limited (requests answered 429), Splits and Rate
	// are the engine's (batch.Stats); zero until sending begins.
	Requests, Retries, Limited, Splits int64
	Rate                               float64
	// SettledRate is the rate --rate auto settled at; 0 before, or
	// without it.
	SettledRate float64
	// Delivering counts the payloads being delivered: after a stop,
	// those it waits for, until StopDeadline at most (zero before a
	// stop).
	Delivering   int64
	StopDeadline time.Time
	// ReplyForm is the form of the API's replies so far ("", "array",
	// "object" or "mixed") and BatchSize the items per payload in effect
	// (1 after a switch to single-item payloads).
	ReplyForm string
	BatchSize int

	// ResultsOpen: the results file was opened for writing.
	ResultsOpen bool
	// Sending: the checks passed and rows went to the engine.
	Sending bool
	// DryRun: the checks passed and the dry run read the input.
	DryRun bool
}

// Snapshot reads the counters.
func (s *Stats) Snapshot() Snapshot {
	c := Snapshot{
		Read: s.read.Load(), Skipped: s.skipped.Load(), Resent: s.resent.Load(), HeldBack: s.heldBack.Load(),
		Success: s.success.Load(), Failed: s.failed.Load(), Invalid: s.invalid.Load(),
		Duplicates: s.duplicates.Load(), BlankSkipped: s.blank.Load(), InputBytes: s.bytes.Load(),
		WouldSend: s.wouldSend.Load(), Payloads: s.payloads.Load(), Unchanged: s.unchanged.Load(),
		InFlight: s.inflight.Load(), Unknown: s.unknown.Load(),
		FailedBefore: s.failedBefore.Load(), UnknownBefore: s.unknownBefore.Load(),
		NotApplied: s.notApplied.Load(), BackupOlder: s.backupOlder.Load(), BackupMissing: s.backupMissing.Load(),
		ResultsOpen: s.resultsOpen.Load(), Sending: s.sending.Load(), DryRun: s.dryRun.Load(),
	}
	if eng := s.eng.Load(); eng != nil {
		es := eng.Stats()
		c.Requests, c.Retries, c.Limited, c.Splits, c.Rate = es.Requests, es.Retries, es.Limited, es.Splits, es.Rate
		c.SettledRate = es.SettledRate
		c.ReplyForm, c.BatchSize = es.ReplyForm, es.BatchSize
		c.Delivering, c.StopDeadline = es.Delivering, es.StopDeadline
	}
	return c
}

// NotSent counts the rows read that have no result and no request of
// unknown outcome: never sent, or only refused (a --resume, or the next
// sync run, sends them).
func (c Snapshot) NotSent() int64 {
	done := c.Success + c.Failed + c.Invalid + c.Unchanged
	return max(0, c.Read-c.Skipped-c.HeldBack-done-c.Unknown-c.FailedBefore)
}

// startSending records that rows go to eng from now on.
func (s *Stats) startSending(eng *batch.Engine) {
	s.eng.Store(eng)
	s.sending.Store(true)
}

// unanswered counts, when the run has ended, the rows the journal keeps
// (their outcome is unknown), and their reason as report gives it.
func (s *Stats) unanswered(rows []writer.InFlight) {
	s.unknown.Store(int64(len(rows)))
	for _, r := range rows {
		s.tallyReason(&writer.Result{Status: writer.StatusFailed, Message: resume.MsgUnknown, Line: r.Line})
	}
}

// count adds a written result to the counters.
func (s *Stats) count(st writer.Status) {
	switch st {
	case writer.StatusSuccess:
		s.success.Add(1)
	case writer.StatusFailed:
		s.failed.Add(1)
	case writer.StatusInvalid:
		s.invalid.Add(1)
	case writer.StatusUnchanged:
		s.unchanged.Add(1)
	}
}
