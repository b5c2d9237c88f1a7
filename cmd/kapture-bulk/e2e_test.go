package main

// End-to-end tests: the command, in process, against the kapturetest
// fake, with real files: the core pipeline here, resilience in
// e2e_resilience_test.go.

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// ticket returns a ticket id the fake knows (DefaultKnown).
func ticket(i int) string { return fmt.Sprintf("7135165%05d", i) }

// mixedRows is a file with every kind of row a real export holds: tickets
// repeated (adjacent and far apart), unknown tickets, invalid rows (some
// for tickets that also have valid rows), a multi-line comment, an
// all-empty row and extra columns. Every comment is unique, so an item
// received by the fake names its row.
func mixedRows() []row {
	var rows []row
	subs := []string{"P", "PS", "CL"}
	add := func(r row) {
		if r.Comment == "" {
			r.Comment = fmt.Sprintf("row %d", len(rows))
		}
		if r.want == "" && !r.blank {
			r.want = wantSuccess
		}
		r.Priority = fmt.Sprintf("prio-%d", len(rows))
		r.AgentNotes = fmt.Sprintf("notes-%d", len(rows))
		rows = append(rows, r)
	}
	for i := 0; i < 36; i++ {
		id := ticket(i % 12) // each of 12 tickets three times, 12 rows apart
		add(row{TicketID: id, SubStatus: subs[i%3], Queue: fmt.Sprintf("Q%d", i%4)})
		switch i {
		case 3: // the same ticket again at once
			add(row{TicketID: id, SubStatus: "CL", Disposition: "DUP"})
		case 5:
			add(row{TicketID: "999999999901", SubStatus: "CL", want: wantFailed})
		case 8:
			add(row{TicketID: id, SubStatus: "PS", Comment: "first line\nsecond line of a multi-line comment", CallbackTime: "2024-05-03 14:30:00"})
		case 11:
			add(row{TicketID: "7.13517E+11", SubStatus: "CL", want: wantInvalid})
		case 13:
			add(row{TicketID: ticket(1), SubStatus: "", want: wantInvalid}) // a known ticket, no sub_status
		case 17:
			add(row{blank: true})
		case 19:
			add(row{TicketID: ticket(2), SubStatus: "P", CallbackTime: "2024-05-03 14:30", want: wantInvalid})
		case 22:
			add(row{TicketID: "999999999902", SubStatus: "P", want: wantFailed})
			add(row{TicketID: "999999999902", SubStatus: "CL", want: wantFailed})
		case 27:
			add(row{TicketID: "#N/A", SubStatus: "CL", want: wantInvalid})
		case 30:
			add(row{TicketID: "713,517,204,461", SubStatus: "CL", want: wantInvalid})
		}
	}
	return rows
}

// commentsOf returns the comments of items, as a set.
func commentsOf(items []kapturetest.Item) map[string]int {
	m := map[string]int{}
	for _, it := range items {
		m[it["comment"]]++
	}
	return m
}

// TestRunMixedFile runs a file with every kind of row (duplicate tickets,
// invalid rows, unknown tickets, extra columns) under both reply forms,
// with and without --extra-columns.
func TestRunMixedFile(t *testing.T) {
	documented := []string{"callback_time", "comment", "disposition", "queue", "sub_status", "ticket_id"}
	extras := []struct {
		flag    string   // --extra-columns
		sent    []string // keys every item must carry besides the documented ones
		leftOut string   // the warning's list of columns not sent; "" for none
	}{
		{"", nil, "priority,agent_notes"},
		{"Priority", []string{"priority"}, "agent_notes"},
		{"all", []string{"agent_notes", "priority"}, ""},
	}
	for _, form := range []kapturetest.Reply{kapturetest.ReplyArray, kapturetest.ReplyObject} {
		for _, ex := range extras {
			t.Run(fmt.Sprintf("%s/extra=%q", form, ex.flag), func(t *testing.T) {
				t.Parallel()
				rec := &recorder{}
				s := newFake(t, kapturetest.Options{Reply: form, Fail: rec.fail})
				dir := t.TempDir()
				rows := mixedRows()
				in := writeInput(t, dir, "updates.csv", rows)
				args := []string{"run", "--base-url", s.URL + "/", "--batch-size", "4", "--workers", "3", "--rate", "0",
					"--summary-json", filepath.Join(dir, "summary.json")}
				if ex.flag != "" {
					args = append(args, "--extra-columns", ex.flag)
				}
				p := runCmd(t, runOpts{}, append(args, in)...)
				wantCode(t, p, 1) // some rows failed or were invalid

				// The default results path, one row per input row.
				res := readResults(t, filepath.Join(dir, "updates.results.csv"))
				fin := checkEveryLine(t, rows, res)
				if got, want := len(res), len(fin); got != want {
					t.Errorf("%d results rows for %d lines, want exactly one per line", got, want)
				}

				checkMixedLines(t, rows, fin, commentsOf(rec.items()))
				checkAppliedInOrder(t, s, rows)
				checkFinalState(t, s, rows)
				checkExtraColumns(t, s, rec.items(), rows, append(slices.Clone(documented), ex.sent...), ex.sent != nil)
				stderr := p.stderr.String()
				if ex.leftOut != "" && !strings.Contains(stderr, ex.leftOut) {
					t.Errorf("stderr does not say which columns are left out (%s):\n%s", ex.leftOut, stderr)
				}
				if ex.leftOut == "" && strings.Contains(stderr, "columns not sent") {
					t.Errorf("stderr warns about columns left out although all are sent:\n%s", stderr)
				}
				if st := s.Stats(); st.BadContentType != 0 || !strings.HasPrefix(st.UserAgent, "kapture-bulk/") || st.Other != 0 {
					t.Errorf("fake saw %d bad content types, User-Agent %q, %d requests elsewhere", st.BadContentType, st.UserAgent, st.Other)
				}

				resBytes, _ := os.ReadFile(filepath.Join(dir, "updates.results.csv"))
				sumBytes, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
				if strings.Contains(stderr+p.stdout.String()+string(resBytes)+string(sumBytes), e2eToken) {
					t.Error("the token appears in the output, results or summary")
				}

				checkMixedSummary(t, readSummary(t, filepath.Join(dir, "summary.json")), rows)
			})
		}
	}
}

// checkMixedLines checks each line's result against what its row is to
// end as, and that no invalid row reached the server (sent counts the
// comments received).
func checkMixedLines(t *testing.T, rows []row, fin map[int]resultRow, sent map[string]int) {
	t.Helper()
	for _, r := range rows {
		got := fin[r.line]
		switch r.want {
		case wantInvalid:
			if sent[r.Comment] > 0 {
				t.Errorf("invalid line %d reached the server", r.line)
			}
			if got.Message == "" || got.Attempts != 0 || got.HTTPStatus != "" || got.Fingerprint != "" {
				t.Errorf("invalid line %d: %+v, want a message, no attempt, no HTTP status, no fingerprint", r.line, got)
			}
		case wantFailed:
			if want := kapturetest.MsgUnknownTicket + r.TicketID; got.Message != want {
				t.Errorf("unknown ticket line %d: message %q, want the server's %q", r.line, got.Message, want)
			}
		case wantSuccess:
			k, err := rowkey.Parse(got.Fingerprint)
			if got.TicketID != r.TicketID || err != nil || k.Legacy() || got.Attempts < 1 || got.HTTPStatus != "200" {
				t.Errorf("line %d: %+v, want ticket %s, a row key, HTTP 200", r.line, got, r.TicketID)
			}
		}
	}
}

// checkAppliedInOrder checks that the success rows were applied, in file
// order per ticket.
func checkAppliedInOrder(t *testing.T, s *kapturetest.Server, rows []row) {
	t.Helper()
	for id := range lastByTicket(rows) {
		var want []string
		for _, r := range rows {
			if r.TicketID == id && r.want == wantSuccess {
				want = append(want, r.Comment)
			}
		}
		var got []string
		for _, u := range s.History(id) {
			got = append(got, u.Item["comment"])
		}
		// Compact: a retried request (a dropped connection
		// after applying) or a split payload may apply a row
		// twice in a row; comments are distinct per row.
		if !slices.Equal(slices.Compact(got), want) {
			t.Errorf("ticket %s: applied %q, want %q", id, got, want)
		}
	}
}

// checkExtraColumns checks that extra columns are sent exactly when
// named: every item carries exactly the keys columns, and with priority
// among them (sentPriority), each ticket ends with its last row's.
func checkExtraColumns(t *testing.T, s *kapturetest.Server, items []kapturetest.Item, rows []row, columns []string, sentPriority bool) {
	t.Helper()
	for _, it := range items {
		keys := slices.Sorted(maps.Keys(it))
		want := slices.Sorted(slices.Values(columns))
		if !slices.Equal(keys, want) {
			t.Errorf("item keys %v, want %v", keys, want)
			break
		}
	}
	if sentPriority {
		for id, r := range lastByTicket(rows) {
			st, _ := s.State(id)
			if st["priority"] != r.Priority {
				t.Errorf("ticket %s: priority %q, want %q", id, st["priority"], r.Priority)
			}
		}
	}
}

// checkMixedSummary checks the summary's counts against the rows.
func checkMixedSummary(t *testing.T, sum summaryFile, rows []row) {
	t.Helper()
	var nSuccess, nFailed, nInvalid, nRows int
	for _, r := range rows {
		switch {
		case r.blank:
			continue
		case r.want == wantSuccess:
			nSuccess++
		case r.want == wantFailed:
			nFailed++
		case r.want == wantInvalid:
			nInvalid++
		}
		nRows++
	}
	if sum.RowsRead != nRows || sum.Success != nSuccess || sum.Failed != nFailed || sum.Invalid != nInvalid || sum.ExitCode != 1 {
		t.Errorf("summary %+v, want %d rows: %d success, %d failed, %d invalid, exit 1", sum, nRows, nSuccess, nFailed, nInvalid)
	}
}

// validRows is n rows over tickets that each appear about three times.
func validRows(n int) []row {
	subs := []string{"P", "PS", "CL"}
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{TicketID: ticket(i % (n/3 + 1)), SubStatus: subs[i%3], Queue: fmt.Sprintf("Q%d", i%5),
			Comment: fmt.Sprintf("row %d", i), want: wantSuccess}
	}
	return rows
}

// TestRejectedToken: exit 3 after at most the requests already in flight,
// a message naming the auth problem, and the token nowhere.
func TestRejectedToken(t *testing.T) {
	const badToken = "e2e-Rejected-Token-c0ffee42"
	tests := []struct {
		name       string
		authStatus int
		token      string
	}{
		{"401", 0, badToken},
		{"403", 403, badToken},
		{"200 Invalid Auth Key", 200, "Basic " + badToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t, kapturetest.Options{AuthStatus: tt.authStatus})
			dir := t.TempDir()
			in := writeInput(t, dir, "in.csv", validRows(2000))
			summary := filepath.Join(dir, "summary.json")
			const workers = 4
			p := runCmd(t, runOpts{token: tt.token}, "run", "--base-url", s.URL, "--rate", "0", "--batch-size", "2",
				"--workers", fmt.Sprint(workers), "--log-level", "debug", "--summary-json", summary, in)
			wantCode(t, p, 3)
			if n := s.Stats().Requests; n > workers {
				t.Errorf("%d requests reached the fake, want at most the %d in flight", n, workers)
			}
			stderr := p.stderr.String()
			if !strings.Contains(strings.ToLower(stderr), "authentication rejected") {
				t.Errorf("stderr does not name the auth problem:\n%s", stderr)
			}
			resBytes, _ := os.ReadFile(filepath.Join(dir, "in.results.csv"))
			sumBytes, _ := os.ReadFile(summary)
			for what, text := range map[string]string{"stderr": stderr, "stdout": p.stdout.String(), "results": string(resBytes), "summary": string(sumBytes)} {
				if strings.Contains(text, badToken) {
					t.Errorf("%s shows the token:\n%s", what, text)
				}
			}
			if sum := readSummary(t, summary); sum.ExitCode != 3 || sum.Outcome != "aborted" || sum.NotSent == 0 {
				t.Errorf("summary %+v, want aborted with exit 3 and rows not sent", sum)
			}
		})
	}
}
