package run

import (
	"os"
	"sync"

	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// priorFailures follows the rows a resume sends again whose latest result
// is a failure of an earlier run (or a request of unknown outcome): if
// the run stops before such a row gets a result of its own, that failure
// is still its state, as report says, and the summary must not call the
// row merely "not sent". The producer adds a row before it hands it on;
// the writer goroutine drops it when the row's result is written; what
// is left at the end is counted.
type priorFailures struct {
	results string // the results file, read for the messages of failures
	msgs    *writer.Messages
	f       *os.File

	mu   sync.Mutex
	rows map[int]bool // input line → the failure is of unknown outcome
}

// add notes row, about to be sent again, if its latest result is a
// failure.
func (p *priorFailures) add(row *resume.Row) {
	if !row.HasPrior || row.Prior.Status != resume.Failed {
		return
	}
	unknown := row.Prior.At < 0
	if !unknown {
		unknown = p.message(row.Prior) == resume.MsgUnknown
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rows == nil {
		p.rows = map[int]bool{}
	}
	p.rows[row.Line] = unknown
}

// message reads the message of an earlier result; "" when it cannot.
func (p *priorFailures) message(r resume.Result) string {
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
func (p *priorFailures) written(res []writer.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range res {
		delete(p.rows, res[i].Line)
	}
}

// left returns, once the run has ended, how many rows kept their earlier
// failure, and of them how many of unknown outcome; and closes what it
// opened.
func (p *priorFailures) left() (failed, unknown int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.rows {
		failed++
		if u {
			unknown++
		}
	}
	if p.f != nil {
		p.f.Close()
	}
	return failed, unknown
}
