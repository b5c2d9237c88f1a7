package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runOnce runs input against the fake at url into results (resuming it
// when resume), one row per payload, and returns what it logged.
func runOnce(t *testing.T, input, results, url string, resume bool) string {
	t.Helper()
	var logs bytes.Buffer
	mode := writer.Create
	if resume {
		mode = writer.Resume
	}
	cfg := run.Config{
		Input: input, Reader: reader.Options{Name: input}, Results: results, Mode: mode,
		Engine: batch.Config{BaseURL: url, Token: kapturetest.DefaultToken, BatchSize: 1, Workers: 2},
		Log:    slog.New(slog.NewTextHandler(&logs, nil)),
	}
	if err := run.Run(context.Background(), cfg, nil); err != nil {
		t.Fatalf("run %s: %v", input, err)
	}
	return logs.String()
}

// counts is a Report's partition of its rows, for comparing.
type counts struct {
	Rows, Success, Unchanged, Failed, Invalid, NotSent, Unreadable, OutOfOrder int64
}

func countsOf(r *Report) counts {
	return counts{r.Rows, r.Success, r.Unchanged, r.Failed, r.Invalid, r.NotSent, r.Unreadable, r.OutOfOrder}
}

// TestReportAfterAResume: after a resume the results hold a row's old
// failure and its new success; the report counts each row once, in its
// latest state, with or without the input.
func TestReportAfterAResume(t *testing.T) {
	var locked atomic.Bool // 713516551149 is unknown in the first run only
	locked.Store(true)
	srv := kapturetest.NewServer(t, kapturetest.Options{Known: func(id string) bool {
		if id == "713516551149" {
			return !locked.Load()
		}
		return kapturetest.DefaultKnown(id)
	}})
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.csv"), "ticket_id,sub_status\n"+
		"713516551148,CL\n713516551149,CL\n999999999991,CL\nabc,CL\n713516551150,PS\n999999999992,CL\n")
	results := filepath.Join(dir, "in.results.csv")
	runOnce(t, in, results, srv.URL, false)
	locked.Store(false)
	runOnce(t, in, results, srv.URL, true)

	wantReasons := []reason.Group{
		{Reason: "No ticket found for ticket_id <id>", Status: "failed", Count: 2, ExampleLine: 4},
		{Reason: "ticket_id <value> is not a ticket id (digits only)", Status: "invalid", Count: 1, ExampleLine: 5},
	}
	for _, input := range []string{"", in} {
		t.Run(fmt.Sprintf("input %q", filepath.Base(input)), func(t *testing.T) {
			rep, err := Build(Options{Results: results, Input: input})
			if err != nil {
				t.Fatal(err)
			}
			want := counts{Rows: 6, Success: 3, Failed: 2, Invalid: 1}
			if got := countsOf(rep); got != want {
				t.Errorf("counts %+v, want %+v", got, want)
			}
			// Run 1 wrote 6 rows; the resume 3 (the 3 failed: the invalid
			// one's verdict is recorded already).
			if rep.ResultsRows != 9 || rep.Superseded != 3 || rep.Done() {
				t.Errorf("results rows %d, superseded %d, done %v; want 9, 3, false", rep.ResultsRows, rep.Superseded, rep.Done())
			}
			if fmt.Sprint(rep.Reasons) != fmt.Sprint(wantReasons) {
				t.Errorf("reasons %v, want %v", rep.Reasons, wantReasons)
			}
		})
	}
}

// keysOf returns the key of every valid row of input, by line, as a run
// computes them.
func keysOf(t *testing.T, input string) map[int]rowkey.Key {
	t.Helper()
	fh, err := os.Open(input)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rd, err := reader.Open(fh, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]rowkey.Key{}
	err = resume.Walk(rd, 0, nil, func(row *resume.Row) error {
		if row.Invalid == "" {
			out[row.Line] = row.Key
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// result is a results row for the row of the input on line, by its key.
func result(keys map[int]rowkey.Key, line int, st writer.Status, msg string) writer.Result {
	r := writer.Result{TicketID: "x", Status: st, Message: msg, Line: line, Attempts: 1}
	if k, ok := keys[line]; ok {
		r.Key = k
	}
	return r
}

func writeResults(t *testing.T, path string, rows ...writer.Result) {
	t.Helper()
	w, err := writer.Open(path, writer.Create)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// Ticket 713516551148 has rows on lines 2, 4 and 6; 713516551149 on 3
// and 5.
const orderCSV = "ticket_id,sub_status\n713516551148,P\n713516551149,P\n713516551148,PS\n713516551149,CL\n713516551148,CL\n"

// TestReportOrder: with the input, a row whose latest result is success
// is done only if a resume would skip it; one that must go out again to
// leave its ticket in its last row's state is out of order, and goes in
// the failed rows file with its ticket's later rows.
func TestReportOrder(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.csv"), orderCSV)
	k := keysOf(t, in)
	ok, failed := writer.StatusSuccess, writer.StatusFailed
	tests := []struct {
		name   string
		rows   []writer.Result
		want   counts
		errors string // the error cells of the failed rows file, by line
	}{
		{"all done in order", []writer.Result{
			result(k, 2, ok, ""), result(k, 3, ok, ""), result(k, 4, ok, ""), result(k, 5, writer.StatusUnchanged, ""), result(k, 6, ok, ""),
		}, counts{Rows: 5, Success: 4, Unchanged: 1}, ""},
		{"an earlier row failed", []writer.Result{
			result(k, 2, ok, ""), result(k, 3, ok, ""), result(k, 4, failed, "locked"), result(k, 5, ok, ""), result(k, 6, ok, ""),
		}, counts{Rows: 5, Success: 3, Failed: 1, OutOfOrder: 1}, "4: locked; 6: done, but sent again after the rows of ticket 713516551148 above it"},
		{"a resume interrupted before the later row went again", []writer.Result{
			result(k, 2, ok, ""), result(k, 3, ok, ""), result(k, 4, failed, "locked"), result(k, 5, ok, ""), result(k, 6, ok, ""),
			result(k, 4, ok, ""),
		}, counts{Rows: 5, Success: 4, OutOfOrder: 1}, "6: done, but sent again"},
		{"a result of a deleted row came after the last row", []writer.Result{
			result(k, 2, ok, ""), result(k, 3, ok, ""), result(k, 4, ok, ""), result(k, 5, ok, ""), result(k, 6, ok, ""),
			{TicketID: "713516551149", Status: ok, Line: 7, Attempts: 1, Key: rowkey.New("713516551149", []byte(`{"deleted":1}`))},
		}, counts{Rows: 5, Success: 4, OutOfOrder: 1}, "5: done, but sent again after the rows of ticket 713516551149"},
		{"rows never sent", []writer.Result{result(k, 2, ok, ""), result(k, 3, ok, "")},
			counts{Rows: 5, Success: 2, NotSent: 3}, "4: not sent; 5: not sent; 6: not sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := filepath.Join(t.TempDir(), "r.csv")
			writeResults(t, results, tt.rows...)
			var out bytes.Buffer
			rep, err := Build(Options{Results: results, Input: in, FailedRows: &out})
			if err != nil {
				t.Fatal(err)
			}
			if got := countsOf(rep); got != tt.want {
				t.Errorf("counts %+v, want %+v", got, tt.want)
			}
			if deleted := strings.Contains(tt.name, "deleted"); (rep.NotInInput == 1) != deleted || rep.NotInInput > 1 {
				t.Errorf("not in input %d, want 1 only for the deleted row's result", rep.NotInInput)
			}
			if rep.Done() != (tt.errors == "") {
				t.Errorf("Done() = %v with errors %q", rep.Done(), tt.errors)
			}
			if got := failedErrors(t, out.String(), in); !strings.HasPrefix(got, tt.errors) || (tt.errors == "") != (got == "") {
				t.Errorf("failed rows' errors %q, want %q", got, tt.errors)
			}
		})
	}
}

// failedErrors returns the error cells of a failed rows file of in (a
// comma-separated input), as "LINE: error; …" with the line each row has
// in the input.
func failedErrors(t *testing.T, file, in string) string {
	t.Helper()
	file, ok := strings.CutPrefix(file, "\ufeff")
	if !ok {
		t.Errorf("failed rows file does not start with a BOM: %q", file)
	}
	src, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	inLines := strings.Split(string(src), "\n")
	recs, err := csv.NewReader(strings.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatalf("failed rows file: %v\n%s", err, file)
	}
	var parts []string
	for i, cells := range recs {
		if i == 0 {
			continue // the header
		}
		line := 0
		for j, il := range inLines {
			if j > 0 && il == cells[0]+","+cells[1] {
				line = j + 1
				inLines[j] = "" // a later equal row is another line
				break
			}
		}
		parts = append(parts, fmt.Sprintf("%d: %s", line, cells[2]))
	}
	return strings.Join(parts, "; ")
}

// TestReportDamage: a results file a spreadsheet re-saved, one a crash
// tore, one a killed run left a journal beside, and one with rows nobody
// can read.
func TestReportDamage(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.csv"), orderCSV)
	k := keysOf(t, in)
	ok := writer.StatusSuccess
	allDone := []writer.Result{result(k, 2, ok, "x"), result(k, 3, ok, "x"), result(k, 4, ok, "x"), result(k, 5, ok, "x"), result(k, 6, ok, "x")}
	tests := []struct {
		name      string
		damage    func(t *testing.T, path string)
		noInput   counts
		withInput counts
		check     func(t *testing.T, rep *Report)
	}{
		{"re-saved by Excel: BOM, CRLF, ticket ids and dates mangled", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			s := strings.ReplaceAll(string(b), "\n", "\r\n")
			s = strings.ReplaceAll(s, ",x,", ",7.13517E+11,")
			writeFile(t, path, "\ufeff"+s)
		}, counts{Rows: 5, Success: 5}, counts{Rows: 5, Success: 5}, nil},
		{"a torn last line", func(t *testing.T, path string) {
			appendTo(t, path, "713516551148,fail")
		}, counts{Rows: 5, Success: 5},
			// As a resume reads it: something was being recorded for the
			// ticket when the crash tore it, so its last row goes again.
			counts{Rows: 5, Success: 4, OutOfOrder: 1}, func(t *testing.T, rep *Report) {
				if !rep.Torn || rep.ResultsRows != 5 {
					t.Errorf("torn %v, results rows %d; want true, 5", rep.Torn, rep.ResultsRows)
				}
			}},
		{"a status cell edited", func(t *testing.T, path string) {
			appendTo(t, path, "713516551148,Done!,ok,4,200,1,x,"+k[4].String()+"\n")
		}, counts{Rows: 5, Success: 4, Unreadable: 1},
			// Not known to be done: the ticket's later row goes again after it.
			counts{Rows: 5, Success: 3, Unreadable: 1, OutOfOrder: 1}, nil},
		{"a fingerprint mangled", func(t *testing.T, path string) {
			appendTo(t, path, "713516551149,success,ok,5,200,1,x,5.46614E+15\n")
		}, counts{Rows: 5, Success: 5}, counts{Rows: 5, Success: 4, Unreadable: 1}, func(t *testing.T, rep *Report) {
			if rep.Unattributed != 1 || rep.Done() {
				t.Errorf("unattributed %d, done %v; want 1, false", rep.Unattributed, rep.Done())
			}
		}},
		{"rows left in flight by a killed run", func(t *testing.T, path string) {
			w, err := writer.Open(path, writer.Resume)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.ReadBack(func(writer.Row) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if err := w.StartJournal(1, 4); err != nil {
				t.Fatal(err)
			}
			if err := w.Sending(0, []writer.InFlight{{Line: 6, TicketID: "713516551148", Key: k[6]}}); err != nil {
				t.Fatal(err)
			}
			w.Close() // the row stays in flight: its journal stays
		}, counts{Rows: 5, Success: 4, Failed: 1}, counts{Rows: 5, Success: 4, Failed: 1}, func(t *testing.T, rep *Report) {
			if len(rep.Reasons) != 1 || rep.Reasons[0].Reason != reason.Mask(resume.MsgUnknown) || rep.Reasons[0].ExampleLine != 6 {
				t.Errorf("reasons %+v, want the unknown outcome of line 6", rep.Reasons)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := filepath.Join(t.TempDir(), "r.csv")
			writeResults(t, results, allDone...)
			tt.damage(t, results)
			for _, input := range []string{"", in} {
				rep, err := Build(Options{Results: results, Input: input})
				if err != nil {
					t.Fatal(err)
				}
				want := tt.noInput
				if input != "" {
					want = tt.withInput
				}
				if got := countsOf(rep); got != want {
					t.Errorf("input %q: counts %+v, want %+v", input, got, want)
				}
				if tt.check != nil {
					tt.check(t, rep)
				}
			}
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestReportWithoutInputInvalidRows: without the input, an invalid result
// stands for the row on its line until a later result is recorded there.
func TestReportWithoutInputInvalidRows(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.csv"), orderCSV)
	k := keysOf(t, in)
	results := filepath.Join(dir, "r.csv")
	writeResults(t, results,
		writer.Result{TicketID: "abc", Status: writer.StatusInvalid, Message: `ticket_id "abc" is not a ticket id`, Line: 2},
		writer.Result{TicketID: "x", Status: writer.StatusInvalid, Message: `ticket_id "x" is not a ticket id`, Line: 3},
		result(k, 2, writer.StatusSuccess, ""), // line 2 fixed and sent
		writer.Result{TicketID: "x", Status: writer.StatusInvalid, Message: `ticket_id "x" is not a ticket id`, Line: 3},
	)
	rep, err := Build(Options{Results: results})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(rep), (counts{Rows: 2, Success: 1, Invalid: 1}); got != want || rep.Superseded != 2 {
		t.Errorf("counts %+v, superseded %d; want %+v, 2", got, rep.Superseded, want)
	}
}

// TestReportRefusesAnotherInput: an input none of whose rows the results
// record is not the one the results are of.
func TestReportRefusesAnotherInput(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.csv"), orderCSV)
	k := keysOf(t, in)
	results := filepath.Join(dir, "r.csv")
	writeResults(t, results, result(k, 2, writer.StatusSuccess, ""))
	other := writeFile(t, filepath.Join(dir, "other.csv"), "ticket_id,sub_status\n713516551199,CL\n")
	if _, err := Build(Options{Results: results, Input: other}); !errors.Is(err, ErrForeign) {
		t.Errorf("Build = %v, want ErrForeign", err)
	}
	if _, err := Build(Options{Results: filepath.Join(dir, "missing.csv")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Build of a missing results file = %v, want ErrNotExist", err)
	}
	if _, err := Build(Options{Results: in}); !errors.Is(err, writer.ErrNotResults) {
		t.Errorf("Build of an input as results = %v, want ErrNotResults", err)
	}
	rep, err := Build(Options{Results: results, Input: writeFile(t, filepath.Join(dir, "more.csv"), orderCSV+"713516551199,CL\n")})
	if err != nil || rep.NotSent != 5 || rep.Success != 1 {
		t.Errorf("Build = %+v, %v; want 1 done and 5 not sent", rep, err)
	}
}

// TestFailedRowsRoundTrip: the failed rows file holds the rows that did
// not go through, in the input's own columns, delimiter and cells, with
// their error last; fixed and run, its error column is left out (with the
// usual warning), and the report on that run says every row is done.
func TestFailedRowsRoundTrip(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.csv"), "Ticket ID;Sub Status;Comment;Agent Notes\n"+
		"713516551148;CL;done;\n"+
		"999999999991;CL;\"refund; see thread\";café\n"+
		"7,13517E+11;CL; spaced ;keep me\n"+
		"713516551149;PS;;\n"+
		"999999999992;CL;\"two\nlines\";\n")
	results := filepath.Join(dir, "in.results.csv")
	runOnce(t, in, results, srv.URL, false)

	var out bytes.Buffer
	rep, err := Build(Options{Results: results, Input: in, FailedRows: &out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FailedRowsWritten != 3 || rep.Done() {
		t.Fatalf("wrote %d failed rows, done %v; want 3, false", rep.FailedRowsWritten, rep.Done())
	}
	// encoding/csv quotes what needs it, and a cell with a leading space.
	want := "\ufeffTicket ID;Sub Status;Comment;Agent Notes;error\n" +
		"999999999991;CL;\"refund; see thread\";café;No ticket found for ticket_id 999999999991\n" +
		"7,13517E+11;CL;\" spaced \";keep me;\"ticket_id \"\"7,13517E+11\"\" looks like a number Excel rewrote in scientific notation; format the column as Text and export again\"\n" +
		"999999999992;CL;\"two\nlines\";;No ticket found for ticket_id 999999999992\n"
	got := out.String()
	if got != want {
		t.Errorf("failed rows file:\n%s\nwant:\n%s", got, want)
	}

	// Fix the rows in the failed rows file and run it.
	fixed := strings.NewReplacer("999999999991", "713516551150", "7,13517E+11", "713516551151", "999999999992", "713516551152").Replace(got)
	fixedPath := writeFile(t, filepath.Join(dir, "fixed.csv"), fixed)
	fixedResults := filepath.Join(dir, "fixed.results.csv")
	logs := runOnce(t, fixedPath, fixedResults, srv.URL, false)
	if !strings.Contains(logs, "columns not sent") || !strings.Contains(logs, "columns=agent_notes,error") {
		t.Errorf("the run of the fixed file did not say it leaves the error column out:\n%s", logs)
	}
	for _, id := range []string{"713516551150", "713516551151", "713516551152"} {
		for _, u := range srv.History(id) {
			if _, sent := u.Item["error"]; sent {
				t.Errorf("ticket %s got the error column: %v", id, u.Item)
			}
		}
	}
	rep, err = Build(Options{Results: fixedResults, Input: fixedPath})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(rep), (counts{Rows: 3, Success: 3}); got != want || !rep.Done() {
		t.Errorf("report on the fixed run: %+v, done %v; want %+v, done", got, rep.Done(), want)
	}

	// Its own failed rows file replaces the error column's cells.
	var again bytes.Buffer
	writeResults(t, filepath.Join(dir, "none.results.csv"), writer.Result{TicketID: "1", Status: writer.StatusSuccess, Line: 2, Attempts: 1,
		Key: keysOf(t, fixedPath)[2]})
	if _, err := Build(Options{Results: filepath.Join(dir, "none.results.csv"), Input: fixedPath, FailedRows: &again}); err != nil {
		t.Fatal(err)
	}
	if head, _, _ := strings.Cut(again.String(), "\n"); head != "\ufeffTicket ID;Sub Status;Comment;Agent Notes;error" {
		t.Errorf("header of a failed rows file of a failed rows file: %q", head)
	}
	if !strings.Contains(again.String(), ";not sent\n") || strings.Contains(again.String(), "No ticket found") {
		t.Errorf("the error cells were not replaced:\n%s", again.String())
	}
}
