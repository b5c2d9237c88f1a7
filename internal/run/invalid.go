package run

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/reason"
)

// Listing is how Validate, a dry run and a strict run list invalid rows.
type Listing int

const (
	// Grouped lists them by reason, as report groups failures: each
	// reason (values masked) with its count and its first lines.
	Grouped Listing = iota
	// EveryRow lists each invalid row on a line of its own, with its own
	// message: NAME:LINE: message.
	EveryRow
)

// How much a grouped listing shows: the rest is a count.
const (
	invalidReasonsShown = 20
	invalidLinesShown   = 5
)

// invalidList lists the invalid rows of the input named name on out.
type invalidList struct {
	name    string
	listing Listing
	out     io.Writer
	tally   *reason.Tally
}

func newInvalidList(name string, listing Listing, out io.Writer) *invalidList {
	if out == nil {
		out = io.Discard
	}
	t := reason.NewTally(0)
	t.KeepLines(invalidLinesShown)
	return &invalidList{name: name, listing: listing, out: out, tally: t}
}

// add lists the invalid row at line: at once for EveryRow, else when
// write is called.
func (l *invalidList) add(line int, msg string) {
	if l.listing == EveryRow {
		fmt.Fprintf(l.out, "%s:%d: %s\n", l.name, line, msg)
		return
	}
	l.tally.Add("invalid", msg, line)
}

// write writes the grouped listing, if any rows are invalid, ending with
// how to see every row (more, e.g. "validate --all lists every row").
func (l *invalidList) write(more string) {
	if l.listing == EveryRow || l.tally.Len() == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("invalid rows by reason (most rows first):\n")
	groups := l.tally.Top(0)
	for i, g := range groups {
		if i == invalidReasonsShown {
			fmt.Fprintf(&b, "  … and %s\n", plural.Of(len(groups)-i, "more reason", "more reasons"))
			break
		}
		fmt.Fprintf(&b, "  %6d  %s\n          %s %s\n", g.Count, g.Reason, l.name, lineList(l.tally.Lines(g), g.Count))
	}
	fmt.Fprintf(&b, "  (%s)\n", more)
	io.WriteString(l.out, b.String())
}

// lineList says "line 4", or "lines 3, 5, 9 and 12 more" for count rows
// of which lines are the first.
func lineList(lines []int, count int64) string {
	var s []string
	for _, n := range lines {
		s = append(s, strconv.Itoa(n))
	}
	text := plural.Pick(len(lines), "line ", "lines ") + strings.Join(s, ", ")
	if rest := count - int64(len(lines)); rest > 0 {
		text += fmt.Sprintf(" and %d more", rest)
	}
	return text
}
