package verify

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/internal/failedrows"
	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// The cells of a spill row: the late fields, the error cell for the rows
// to fix, what the row wants of each late field, then VERIFY.csv's own.
const (
	spLate = iota
	spFix
	spLateWants // nFields cells
	spID        = spLateWants + int(nFields)
	spVerdict   = spID + 1
	spFields    = spID + 2
	spHolds     = spID + 3
	spWants     = spID + 4
	spLine      = spID + 5
	spDetail    = spID + 6
	spColumns   = spID + 7
)

// sep joins a verdict's fields and what they hold and want.
const sep = "; "

// spill keeps the verdicts in a temporary file until every read is done.
type spill struct {
	f   *os.File
	bw  *bufio.Writer
	off int64 // bytes written: where the next row starts
	buf bytes.Buffer
	cw  *csv.Writer
	rec []string
}

func newSpill(dir string) (*spill, error) {
	f, err := os.CreateTemp(dir, "kapture-bulk-verify-*.csv")
	if err != nil {
		return nil, fmt.Errorf("verify: temporary file: %w", err)
	}
	s := &spill{f: f, bw: bufio.NewWriterSize(f, 64<<10), rec: make([]string, spColumns)}
	s.cw = csv.NewWriter(&s.buf)
	return s, nil
}

// add writes j.
func (s *spill) add(j judgement) error {
	r := s.rec
	r[spLate], r[spFix] = strconv.Itoa(int(j.late)), j.fix
	for f := range nFields {
		r[spLateWants+int(f)] = j.lateWants[f]
	}
	r[spID], r[spVerdict] = j.id, string(j.verdict)
	r[spFields], r[spHolds], r[spWants] = strings.Join(j.fields, sep), strings.Join(j.holds, sep), strings.Join(j.wants, sep)
	r[spLine], r[spDetail] = strconv.Itoa(j.line), strings.Join(j.detail, sep)
	s.buf.Reset()
	s.cw.Write(r) // into a bytes.Buffer: cannot fail
	s.cw.Flush()
	n, err := s.bw.Write(s.buf.Bytes())
	s.off += int64(n)
	if err != nil {
		return fmt.Errorf("verify: temporary file: %w", err)
	}
	return nil
}

// rows reads the spill's rows back in order.
func (s *spill) rows() *csv.Reader {
	cr := csv.NewReader(io.NewSectionReader(s.f, 0, s.off))
	cr.FieldsPerRecord = spColumns
	return cr
}

func (s *spill) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// finish writes VERIFY.csv from the spill, now that it is known which
// fields this tenant's reads carry: a field a ticket's read lacked before
// any read had carried it makes a match unknown after all. It fills res.
func (c *checker) finish(res *Result) error {
	if err := c.sp.bw.Flush(); err != nil {
		return fmt.Errorf("verify: temporary file: %w", err)
	}
	var carried mask
	for f := range nFields {
		if c.carried[f] {
			carried |= 1 << f
		} else if c.set[f] {
			res.NotVerifiable = append(res.NotVerifiable, f.String())
		}
	}
	var out *csv.Writer
	var bw *bufio.Writer
	if c.opts.Out != nil {
		bw = bufio.NewWriterSize(c.opts.Out, 64<<10)
		out = csv.NewWriter(bw)
		out.Write(strings.Split(Header, ","))
	}
	tally := reason.NewTally(0)
	cr := c.sp.rows()
	for {
		r, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("verify: temporary file: %w", err)
		}
		late, _ := strconv.Atoi(r[spLate])
		settle(r, mask(late)&carried)
		line, _ := strconv.Atoi(r[spLine])
		res.count(Verdict(r[spVerdict]))
		switch v := r[spVerdict]; Verdict(v) {
		case Differs:
			tally.Add(v, r[spFix], line)
		case Unknown, NotFound:
			tally.Add(v, r[spDetail], line)
		}
		if out != nil {
			cells := r[spID:]
			for i := range cells {
				cells[i] = writer.Inert(cells[i])
			}
			out.Write(cells)
		}
	}
	res.Reasons = tally.Top(0)
	if out == nil {
		return nil
	}
	out.Flush()
	if err := errors.Join(out.Error(), bw.Flush()); err != nil {
		return fmt.Errorf("write verify file: %w", err)
	}
	return nil
}

// settle gives a spill row r its final verdict: the fields in late, which
// its read lacked though this tenant's reads carry them, are unknown; a
// match with nothing compared is unknown too.
func settle(r []string, late mask) {
	if late == 0 {
		if Verdict(r[spVerdict]) == Match && r[spFields] == "" {
			r[spVerdict] = string(Unknown)
			r[spDetail] = "none of the fields the row sets is in this tenant's reads: nothing could be compared"
		}
		return
	}
	v := Verdict(r[spVerdict])
	var fields, holds, wants, detail []string
	for f := range nFields {
		if late.has(f) {
			fields, holds, wants = append(fields, f.String()), append(holds, notRead), append(wants, r[spLateWants+int(f)])
			detail = append(detail, missing(f))
		}
	}
	if v == Match {
		r[spVerdict], r[spFields], r[spHolds], r[spWants] = string(Unknown), "", "", ""
	}
	if v != Differs {
		r[spFields] = joinAfter(r[spFields], fields)
		r[spHolds] = joinAfter(r[spHolds], holds)
		r[spWants] = joinAfter(r[spWants], wants)
	}
	r[spDetail] = joinAfter(r[spDetail], detail)
}

// joinAfter appends more to a joined cell.
func joinAfter(cell string, more []string) string {
	if cell == "" {
		return strings.Join(more, sep)
	}
	return cell + sep + strings.Join(more, sep)
}

// count adds a ticket of verdict v.
func (r *Result) count(v Verdict) {
	r.Tickets++
	switch v {
	case Match:
		r.Match++
	case Differs:
		r.Differs++
	case NotFound:
		r.NotFound++
	default:
		r.Unknown++
	}
}

// writeDiffers writes the rows of the tickets that differ, in the input's
// own columns, each with what differs in its error cell.
// The input is read a third time, and must still be what was verified.
func (c *checker) writeDiffers() (int64, error) {
	p := c.in.pass()
	n, err := failedrows.Write(c.opts.Differs, p, c.opts.Reader, &differing{c: c, sp: c.sp.rows()})
	if err != nil {
		return n, err
	}
	return n, p.end(nil)
}

// differing are the rows of the tickets that differ, for failedrows: their
// messages are read from the spill as they come, in the same order.
type differing struct {
	c  *checker
	sp *csv.Reader
}

func (d *differing) Len() int          { return len(d.c.differs) }
func (d *differing) Ordinal(i int) int { return int(d.c.differs[i]) }

// Message returns the error cell of the next spill row that differs.
func (d *differing) Message(int, reader.Record) (string, error) {
	for {
		r, err := d.sp.Read()
		if err != nil {
			return "", fmt.Errorf("verify: temporary file: %w", err)
		}
		if Verdict(r[spVerdict]) == Differs {
			return r[spFix], nil
		}
	}
}
