package run

import (
	"os"
	"sync"

	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// priorResults follows the rows a resume sends again whose latest result
// is one of an earlier run: a failure (or a request of unknown outcome),
// or a success sent again to keep its ticket's rows in order. If the run
// stops before such a row gets a result of its own, that result is still
// its state, as report says, and the summary must not call the row
// merely "not sent". The producer adds a row before it hands it on; the
// writer goroutine drops it when the row's result is written; what is
// left at the end is counted, but for the rows still in the in-flight
// journal: those are of unknown outcome, and counted so.
type priorResults struct {
	results string // the results file, read for the messages of failures
	msgs    *writer.Messages
	f       *os.File

	mu   sync.Mutex
	rows map[int]prior // by input line
}

// prior is the earlier result a row sent again keeps until it gets one.
type prior int8

const (
	priorDone prior = iota
	priorFailed
	priorUnknown // failed, of unknown outcome
)

// add notes row, about to be sent again, if its latest result is a
// failure or a success.
func (p *priorResults) add(row *resume.Row) {
	if !row.HasPrior {
		return
	}
	var kind prior
	switch {
	case row.Prior.Status == resume.Success:
		kind = priorDone
	case row.Prior.Status != resume.Failed:
		return
	case row.Prior.At < 0 || p.message(row.Prior) == resume.MsgUnknown:
		kind = priorUnknown
	default:
		kind = priorFailed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rows == nil {
		p.rows = map[int]prior{}
	}
	p.rows[row.Line] = kind
}

// sameInvalid reports whether the invalid row's line holds, as its latest
// result, the verdict it would be recorded with now: a resume does not
// write it again, so that resumes of an input with invalid rows do not
// grow the results file by them each time (nothing new to say).
func (p *priorResults) sameInvalid(row *resume.Row) bool {
	return row.HasPrior && row.Prior.Status == resume.Invalid && p.message(row.Prior) == writer.Inert(row.Invalid)
}

// message reads the message of an earlier result; "" when it cannot.
func (p *priorResults) message(r resume.Result) string {
	if p.msgs == nil {
		f, err := os.Open(p.results)
		if err != nil {
			return ""
		}
		p.f, p.msgs = f, writer.NewMessages(f)
	}
	m, _ := r.Message(p.msgs)
	return m
}

// written drops the rows whose results were just written.
func (p *priorResults) written(res []writer.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range res {
		delete(p.rows, res[i].Line)
	}
}

// left returns, once the run has ended, how many rows kept their earlier
// failure, of them how many of unknown outcome, and how many kept their
// earlier success; and closes what it opened. The rows inflight lists
// (the journal's) are left out: their outcome is unknown now.
func (p *priorResults) left(inflight []writer.InFlight) (failed, unknown, done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range inflight {
		delete(p.rows, r.Line)
	}
	for _, k := range p.rows {
		switch k {
		case priorDone:
			done++
		case priorUnknown:
			unknown++
			failed++
		default:
			failed++
		}
	}
	if p.f != nil {
		p.f.Close()
	}
	return failed, unknown, done
}
