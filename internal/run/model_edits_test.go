package run

// The changes a history of TestResumeModel makes between two runs: to the
// input, as people edit it, and to the results file, as a crash, a
// spreadsheet or a person leaves it.

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/writer"
)

// tear leaves the results file ending in a torn line, as a write cut short
// by a crash does: a prefix of a row for a row the journal lists as in
// flight (a write in progress is always for such rows).
func (h *history) tear() {
	inflight, err := writer.ReadInFlight(h.results)
	if err != nil || len(inflight) == 0 {
		return
	}
	r := inflight[h.rng.IntN(len(inflight))]
	line := fmt.Sprintf("%s,success,Status and Comment have been updated.,%d,200,1,2026-01-01T00:00:00.000Z,%s\n", r.TicketID, r.Line, r.Key)
	f, err := os.OpenFile(h.results, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	// At least the key's last digit and the newline are missing: the
	// line's outcome is the test's invention, and no reader may take it
	// for a result (a torn line holds what was really being written).
	f.WriteString(line[:1+h.rng.IntN(len(line)-2)])
	h.log = append(h.log, "tore the last line")
}

// change edits the input, or the results file, between two runs, and
// reports whether it deleted results. It deletes results only after a run
// that finished, and then the next run must finish too, before any edit of
// the input, as an operator who deletes results to have rows sent again
// resumes at once. Otherwise the only sign that a row was applied after
// its ticket's later rows could be gone from both files: its results
// deleted, and the row itself deleted from the input before a run sent
// it again (see the README's resume rules).
func (h *history) change(finished bool) (deleted bool) {
	if finished && h.rng.IntN(4) == 0 {
		h.deleteResults()
		return true
	}
	for range h.rng.IntN(4) {
		h.editInput()
	}
	if h.crashed {
		// What was in flight may be deleted before it is sent again:
		// only the in-flight journal then tells that it was applied.
		h.deleteInFlight(1 + h.rng.IntN(3))
	}
	if h.rng.IntN(6) == 0 {
		h.spreadsheet()
	}
	return false
}

func (h *history) editInput() {
	if len(h.rows) < 3 {
		h.rows = append(h.rows, h.newRow())
		return
	}
	i := h.rng.IntN(len(h.rows))
	switch h.rng.IntN(6) {
	case 0:
		h.deleteRow()
	case 1: // a new row inserted
		h.rows = append(h.rows[:i], append([]mrow{h.newRow()}, h.rows[i:]...)...)
		h.log = append(h.log, fmt.Sprintf("inserted row %d", i))
	case 2: // a row's status changed
		h.rows[i].sub = []string{"P", "PS", "CL", "US"}[h.rng.IntN(4)]
		h.log = append(h.log, fmt.Sprintf("edited row %d", i))
	case 3: // a row moved
		r := h.rows[i]
		h.rows = append(h.rows[:i], h.rows[i+1:]...)
		j := h.rng.IntN(len(h.rows) + 1)
		h.rows = append(h.rows[:j], append([]mrow{r}, h.rows[j:]...)...)
		h.log = append(h.log, fmt.Sprintf("moved row %d to %d", i, j))
	case 4: // a row repeated exactly, later in the file
		j := i + h.rng.IntN(len(h.rows)-i) + 1
		h.repeated[h.rows[i].comment] = true
		h.rows = append(h.rows[:j], append([]mrow{h.rows[i]}, h.rows[j:]...)...)
		h.log = append(h.log, fmt.Sprintf("repeated row %d at %d", i, j))
	case 5: // an invalid row fixed, or a valid one broken
		if h.rows[i].valid() {
			h.rows[i].callback = "2024-13-45 25:61:00"
		} else {
			h.rows[i].callback = ""
		}
		h.log = append(h.log, fmt.Sprintf("toggled row %d invalid", i))
	}
}

func (h *history) deleteRow() {
	if len(h.rows) < 2 {
		return
	}
	i := h.rng.IntN(len(h.rows))
	h.rows = append(h.rows[:i], h.rows[i+1:]...)
	h.log = append(h.log, fmt.Sprintf("deleted row %d", i))
}

// deleteInFlight deletes rows the crashed run had in flight, as its
// journal lists them (the input has not changed since it was written):
// first, for up to n of them whose ticket's row before has succeeded, the
// row and its ticket's later rows, so that the ticket ends in a row that
// is done and only the journal tells that the deleted row was applied
// after it; then, for as many as n still allows, a row in flight; then any
// rows.
func (h *history) deleteInFlight(n int) {
	inflight, err := writer.ReadInFlight(h.results)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		h.t.Fatal(err)
	}
	done := map[int]bool{} // lines with a success
	if err := writer.ReadFile(h.results, func(r writer.Row) error {
		done[r.Line] = done[r.Line] || r.Status == writer.StatusSuccess
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	before, last := map[int]int{}, map[string]int{} // line → its ticket's line before; ticket → its last line
	for i, r := range h.rows {
		before[i+2] = last[r.ticket]
		last[r.ticket] = i + 2
	}
	h.rng.Shuffle(len(inflight), func(i, j int) { inflight[i], inflight[j] = inflight[j], inflight[i] })
	drop := map[int]bool{} // lines
	tail := func(r writer.InFlight) {
		for i := r.Line - 2; i < len(h.rows); i++ {
			if h.rows[i].ticket == r.TicketID {
				drop[i+2] = true
			}
		}
	}
	chosen := 0
	for _, r := range inflight {
		if chosen < n && r.Line-2 < len(h.rows) && done[before[r.Line]] && !drop[r.Line] {
			tail(r)
			chosen++
		}
	}
	for _, r := range inflight {
		if chosen < n && r.Line-2 < len(h.rows) && !drop[r.Line] {
			drop[r.Line] = true
			chosen++
		}
	}
	for i := len(h.rows) - 1; i >= 0 && len(h.rows) > 1; i-- {
		if drop[i+2] {
			h.rows = slices.Delete(h.rows, i, i+1)
			h.log = append(h.log, fmt.Sprintf("deleted row %d, in flight at the crash or its ticket's later row", i))
		}
	}
	for range n - chosen {
		h.deleteRow()
	}
}

// deleteResults deletes every result of a few rows (by fingerprint), as a
// person makes rows be sent again.
func (h *history) deleteResults() {
	lines := h.resultLines()
	if len(lines) < 2 {
		return
	}
	drop := map[string]bool{}
	for range 1 + h.rng.IntN(3) {
		if fp := fingerprintOf(lines[1+h.rng.IntN(len(lines)-1)]); fp != "" {
			drop[fp] = true
		}
	}
	kept := lines[:1]
	for _, l := range lines[1:] {
		if !drop[fingerprintOf(l)] {
			kept = append(kept, l)
		}
	}
	h.writeResults(kept, "\n", "")
	h.log = append(h.log, fmt.Sprintf("deleted the results of %d rows", len(drop)))
}

// spreadsheet re-saves the results file as Excel does: CRLF, a BOM, ticket
// ids in scientific notation, local dates.
func (h *history) spreadsheet() {
	lines := h.resultLines()
	if len(lines) == 0 {
		return
	}
	for i := 1; i < len(lines); i++ {
		cells := strings.Split(lines[i], ",")
		if len(cells) == 8 && strings.HasPrefix(cells[0], "7") {
			cells[0] = "7.13517E+11"
			cells[6] = "01/12/2026 10:00"
			lines[i] = strings.Join(cells, ",")
		}
	}
	h.writeResults(lines, "\r\n", "\ufeff")
	h.log = append(h.log, "re-saved the results as a spreadsheet")
}

// resultLines returns the results file's lines; none when a run stopped
// before it made one.
func (h *history) resultLines() []string {
	b, err := os.ReadFile(h.results)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	s := strings.TrimPrefix(string(b), "\ufeff")
	return strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n"), "\n")
}

func (h *history) writeResults(lines []string, eol, bom string) {
	body := bom + strings.Join(lines, eol) + eol
	if err := os.WriteFile(h.results, []byte(body), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// fingerprintOf is the last cell of a results line (no cell of ours holds
// a comma unquoted before it, and the fingerprint is never quoted).
func fingerprintOf(line string) string {
	return line[strings.LastIndexByte(line, ',')+1:]
}
