package main

// Files of the end-to-end tests: the rows of an input (and what each is
// expected to end as), the input CSV made of them, the results CSV and the
// summary read back, and the checks of a run's end against both.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// resultRow is one row of a results CSV.
type resultRow struct {
	TicketID, Status, Message string
	Line                      int
	HTTPStatus                string
	Attempts                  int
	FinishedAt, Fingerprint   string
}

const resultsHeader = "ticket_id,status,message,line,http_status,attempts,finished_at,fingerprint"

// readResults parses a results CSV strictly: the contract's header, eight
// cells a row, numeric line and attempts.
func readResults(t *testing.T, path string) []resultRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read results: %v", err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("results file %s does not end with a newline (torn last line)", path)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = 8
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse results %s: %v\n%s", path, err, b)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != resultsHeader {
		t.Fatalf("results header %v, want %s", recs[:min(1, len(recs))], resultsHeader)
	}
	var out []resultRow
	for i, c := range recs[1:] {
		line, err1 := strconv.Atoi(c[3])
		att, err2 := strconv.Atoi(c[5])
		if err1 != nil || err2 != nil {
			t.Fatalf("results row %d: bad line or attempts: %q", i+2, c)
		}
		if _, err := time.Parse(time.RFC3339, c[6]); err != nil {
			t.Errorf("results row %d: finished_at %q: %v", i+2, c[6], err)
		}
		out = append(out, resultRow{c[0], c[1], c[2], line, c[4], att, c[6], c[7]})
	}
	return out
}

// latest is the final result per line: the last row for it wins.
func latest(rows []resultRow) map[int]resultRow {
	m := make(map[int]resultRow, len(rows))
	for _, r := range rows {
		m[r.Line] = r
	}
	return m
}

// summaryJSON reads a --summary-json file.
type summaryFile struct {
	Outcome       string  `json:"outcome"`
	ExitCode      int     `json:"exit_code"`
	Error         string  `json:"error"`
	RowsRead      int     `json:"rows_read"`
	Success       int     `json:"success"`
	Failed        int     `json:"failed"`
	Unknown       int     `json:"unknown"`
	Invalid       int     `json:"invalid"`
	SkippedResume int     `json:"skipped_resume"`
	NotSent       int     `json:"not_sent"`
	Requests      int     `json:"requests"`
	Retries       int     `json:"retries"`
	Splits        int     `json:"splits"`
	FinalRate     float64 `json:"final_rate"`
	Elapsed       float64 `json:"elapsed_seconds"`
	ReplyForm     string  `json:"reply_form"`
	BatchSize     int     `json:"batch_size"`
}

func readSummary(t *testing.T, path string) summaryFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read summary: %v", err)
	}
	var s summaryFile
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("parse summary %s: %v", b, err)
	}
	return s
}

// row is one data row of a generated input file.
type row struct {
	TicketID, SubStatus, Queue, Comment, CallbackTime, Disposition string
	Priority, AgentNotes                                           string
	blank                                                          bool // an all-empty row: skipped, no result
	want                                                           string
	line                                                           int // set by writeInput
}

// Expected outcomes of a row.
const (
	wantSuccess = "success"
	wantFailed  = "failed" // unknown ticket: the server's message
	wantInvalid = "invalid"
)

const inputHeader = "Ticket ID,Sub Status,Queue,Comment,Callback Time,Disposition,Priority,Agent Notes"

// csvBytes renders rows under inputHeader and sets each row's physical
// start line (header = 1; a quoted comment with a newline spans two).
func csvBytes(t *testing.T, rows []row) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(inputHeader + "\n")
	line := 2
	w := csv.NewWriter(&buf)
	for i := range rows {
		r := &rows[i]
		before := buf.Len()
		cells := []string{r.TicketID, r.SubStatus, r.Queue, r.Comment, r.CallbackTime, r.Disposition, r.Priority, r.AgentNotes}
		if r.blank {
			cells = make([]string, 8)
		}
		if err := w.Write(cells); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		r.line = line
		line += bytes.Count(buf.Bytes()[before:], []byte("\n"))
	}
	return buf.Bytes()
}

// writeInput writes rows as a CSV file in dir and returns its path.
func writeInput(t *testing.T, dir, name string, rows []row) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, csvBytes(t, rows), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lastByTicket is each ticket's last row expected to succeed, in file
// order: what a one-row-at-a-time run leaves on the server.
func lastByTicket(rows []row) map[string]row {
	m := map[string]row{}
	for _, r := range rows {
		if r.want == wantSuccess {
			m[r.TicketID] = r
		}
	}
	return m
}

// checkFinalState asserts that every ticket's state on the fake is its
// last successful row, every documented key included.
func checkFinalState(t *testing.T, s *kapturetest.Server, rows []row) {
	t.Helper()
	for id, r := range lastByTicket(rows) {
		st, ok := s.State(id)
		if !ok {
			t.Errorf("ticket %s: never updated, want the row of line %d", id, r.line)
			continue
		}
		want := map[string]string{"ticket_id": r.TicketID, "sub_status": r.SubStatus, "queue": r.Queue,
			"comment": r.Comment, "callback_time": r.CallbackTime, "disposition": r.Disposition}
		for k, v := range want {
			if st[k] != v {
				t.Errorf("ticket %s: state %s = %q, want %q (line %d)", id, k, st[k], v, r.line)
			}
		}
	}
	if st := s.Stats(); st.OrderViolations != 0 {
		t.Errorf("%d order violations, want 0: %v", st.OrderViolations, st.ViolationExamples)
	}
}

// checkEveryLine asserts that every non-blank input row has a final
// result with the expected status, and no result names another line.
func checkEveryLine(t *testing.T, rows []row, res []resultRow) map[int]resultRow {
	t.Helper()
	fin := latest(res)
	lines := map[int]bool{}
	for _, r := range rows {
		if r.blank {
			if got, ok := fin[r.line]; ok {
				t.Errorf("blank line %d has a result: %+v", r.line, got)
			}
			continue
		}
		lines[r.line] = true
		got, ok := fin[r.line]
		if !ok {
			t.Errorf("line %d (ticket %q): no result", r.line, r.TicketID)
			continue
		}
		if got.Status != r.want {
			t.Errorf("line %d (ticket %q): status %q (%s), want %q", r.line, r.TicketID, got.Status, got.Message, r.want)
		}
	}
	for l := range fin {
		if !lines[l] {
			t.Errorf("result for line %d, which is no input row", l)
		}
	}
	return fin
}

// dataRows counts the complete data rows in a results file being written.
func dataRows(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return max(0, bytes.Count(b, []byte("\n"))-1)
}
