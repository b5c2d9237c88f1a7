package undo

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// columns are RESTORE.csv's columns: ticket_id, then the fields a row
// restores.
var columns = strings.Split(Header, ",")

// leaveOut lists a ticket left out of RESTORE.csv.
func (p *planner) leaveOut(e snapshot.Entry, reason, add string) {
	p.res.LeftOutTotal++
	if len(p.res.LeftOut) < MaxListed {
		p.res.LeftOut = append(p.res.LeftOut, LeftOut{TicketID: e.Ticket.ID, Line: e.Line, Reason: reason, Add: add})
	}
}

// untranslatable leaves out a ticket whose prior value of kind k has no
// key, or several (err from names.Book.ResolveIn), and groups the value
// by the parent status it was read under: one name under two statuses is
// two sub-statuses, and two lines to add.
func (p *planner) untranslatable(e snapshot.Entry, k names.Kind, err error) {
	var (
		unknown *names.UnknownError
		amb     *names.AmbiguousError
	)
	key := nameKey{kind: k}
	var keys []string
	switch {
	case errors.As(err, &unknown):
		key.value, key.status = unknown.Value, unknown.Status
	case errors.As(err, &amb):
		key.value, keys = amb.Value, amb.Keys
	default:
		p.leaveOut(e, err.Error(), "")
		return
	}
	n := p.names[key]
	if n == nil {
		n = &Name{Kind: k, Value: key.value, Status: key.status, Keys: slices.Clone(keys)}
		if unknown != nil {
			n.Add = unknown.Add()
		}
		p.names[key] = n
		p.order = append(p.order, key)
	}
	n.Tickets++
	p.leaveOut(e, fmt.Sprintf("its prior %s: %v", k, err), n.Add)
}

// formulaLike returns the first of a row's values a spreadsheet would run
// as a formula, and its column: an ordinary input takes cells as they are,
// so such a value cannot be escaped there.
func formulaLike(row []string) (col, value string) {
	for i, v := range row[1:] {
		if reader.EscapeCell(v) != v {
			return columns[1+i], v
		}
	}
	return "", ""
}

// Of the changed tickets the snapshot lacks, Result lists the input lines
// of the first maxUnsnappedLines and the ids of the first
// maxUnsnappedTickets, in input order.
const (
	maxUnsnappedLines   = 20
	maxUnsnappedTickets = 5
)

// unsnapped counts the changed tickets the snapshot lacks and lists the
// first of them, their ids read from the results file.
func (p *planner) unsnapped() error {
	var first []*changed
	for _, c := range p.changed {
		if !c.seen {
			p.res.Unsnapped++
			first = append(first, c)
		}
	}
	if len(first) == 0 {
		return nil
	}
	slices.SortFunc(first, func(a, b *changed) int { return cmp.Compare(a.line, b.line) })
	for _, c := range first {
		if len(p.res.UnsnappedLines) < maxUnsnappedLines && c.line > 0 {
			p.res.UnsnappedLines = append(p.res.UnsnappedLines, c.line)
		}
	}
	f, _, err := writer.OpenRead(p.opts.Results)
	if err != nil {
		return err
	}
	defer f.Close()
	rows := writer.NewMessages(f)
	for _, c := range first[:min(len(first), maxUnsnappedTickets)] {
		id := "?" // a row a killed run left in flight: its id is in no results row
		if c.at >= 0 {
			if id, err = rows.TicketAt(c.at); err != nil {
				return err
			}
		}
		p.res.UnsnappedTickets = append(p.res.UnsnappedTickets, id)
	}
	return nil
}
