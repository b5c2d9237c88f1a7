package verify

import (
	"fmt"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// field is one field a row sets and a read may show.
type field uint8

const (
	fSubStatus field = iota
	fQueue
	fDisposition
	nFields
)

var fieldNames = [nFields]string{"sub_status", "queue", "disposition"}

func (f field) String() string { return fieldNames[f] }

// mask is a set of fields.
type mask uint8

func (m mask) has(f field) bool { return m&(1<<f) != 0 }

// given reports whether a read of a found ticket carried field f.
func given(t batch.Ticket, f field) bool {
	switch f {
	case fSubStatus:
		return t.SubStatus.Given
	case fQueue:
		return t.Queue.Given
	}
	return t.DispositionGiven
}

// want is what a ticket's last valid row asks.
type want struct {
	id                 string
	subStatus, queue   string
	disposition        string
	line               int
	ordinal            uint32
	setQueue, setDispo bool
}

func wantOf(r *reader.Record, ordinal int) want {
	return want{id: r.TicketID, subStatus: r.SubStatus, queue: r.Queue, disposition: r.Disposition,
		line: r.Line, ordinal: uint32(ordinal), setQueue: r.Queue != "", setDispo: r.Disposition != ""}
}

// sets reports whether the row sets field f.
func (w want) sets(f field) bool {
	switch f {
	case fQueue:
		return w.setQueue
	case fDisposition:
		return w.setDispo
	}
	return true
}

// judgement is a ticket's verdict as first written: late says which
// fields the ticket's read lacked while no read had carried them yet.
type judgement struct {
	id      string
	verdict Verdict
	line    int
	fields  []string // behind the verdict
	holds   []string
	wants   []string
	detail  []string
	fix     string // the error cell of its row in the rows to fix
	late    mask
	// lateWants holds what the row wants of each late field, for the
	// verdict's cells should the field turn out to be carried.
	lateWants [nFields]string
}

// judge holds one ticket against its row, as far as the reads so far
// tell which fields this tenant's reads carry.
func (c *checker) judge(w want, t batch.Ticket) judgement {
	j := judgement{id: w.id, line: w.line}
	if t.Unread != "" { // not read: what it holds is not known
		j.verdict = Unknown
		j.detail = []string{t.Unread}
		return j
	}
	if !t.Found {
		j.verdict = NotFound
		j.detail = []string{"the read's reply does not have this ticket"}
		return j
	}
	var match, differs, unknown judgement
	for f := range nFields {
		if !w.sets(f) {
			continue
		}
		c.set[f] = true
		if !given(t, f) {
			if c.carried[f] {
				unknown.add(f, notRead, c.wanted(f, w), missing(f))
			} else {
				j.late |= 1 << f
				j.lateWants[f] = c.wanted(f, w)
			}
			continue
		}
		holds, wants, problem, same := c.compare(f, w, t)
		switch {
		case problem != "":
			unknown.add(f, holds, wants, problem)
		case same:
			match.add(f, holds, wants, "")
		default:
			differs.add(f, holds, wants, "")
		}
	}
	switch {
	case len(differs.fields) > 0:
		j.verdict, j.fields, j.holds, j.wants = Differs, differs.fields, differs.holds, differs.wants
		j.detail = unknown.detail
		parts := make([]string, len(differs.fields))
		for i := range parts {
			parts[i] = fmt.Sprintf("%s holds %s, wants %s", differs.fields[i], differs.holds[i], differs.wants[i])
		}
		j.fix = "differs: " + strings.Join(parts, "; ")
	case len(unknown.fields) > 0:
		j.verdict, j.fields, j.holds, j.wants, j.detail = Unknown, unknown.fields, unknown.holds, unknown.wants, unknown.detail
	default:
		j.verdict, j.fields, j.holds, j.wants = Match, match.fields, match.holds, match.wants
	}
	return j
}

func (j *judgement) add(f field, holds, wants, detail string) {
	j.fields = append(j.fields, f.String())
	j.holds = append(j.holds, holds)
	j.wants = append(j.wants, wants)
	if detail != "" {
		j.detail = append(j.detail, detail)
	}
}

// compare holds field f of t against w: what it holds and what w wants,
// as people read them; problem says why they cannot be compared.
func (c *checker) compare(f field, w want, t batch.Ticket) (holds, wants, problem string, same bool) {
	if f == fDisposition {
		got := strings.TrimSpace(t.Disposition)
		return orNone(got), w.disposition, "", got == w.disposition
	}
	kind, code, wantKey := names.SubStatus, t.SubStatus, w.subStatus
	if f == fQueue {
		kind, code, wantKey = names.Queue, t.Queue, w.queue
	}
	wants = c.wanted(f, w)
	key, err := c.opts.Book.ResolveIn(kind, t)
	if err != nil {
		return fmt.Sprintf("%q", strings.TrimSpace(code.Value+code.Name)), wants, err.Error(), false
	}
	return c.label(kind, key), wants, "", key == wantKey
}

// notRead is the holds cell of a field a ticket's read lacks.
const notRead = "(not in the read)"

// missing is the detail of a field a ticket's read lacks though this
// tenant's reads carry it.
func missing(f field) string {
	return f.String() + ": not in this ticket's read, though this tenant's reads carry it"
}

// wanted shows what w wants of field f.
func (c *checker) wanted(f field, w want) string {
	switch f {
	case fQueue:
		return c.label(names.Queue, w.queue)
	case fDisposition:
		return w.disposition
	}
	return c.label(names.SubStatus, w.subStatus)
}

// label shows a key with its name where a pair gives one: PS (Pending
// Seller).
func (c *checker) label(k names.Kind, key string) string {
	if key == "" {
		return orNone(key)
	}
	if name, ok := c.opts.Book.Name(k, key); ok && name != key {
		return key + " (" + name + ")"
	}
	return key
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
