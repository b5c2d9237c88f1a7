package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/internal/reason"
	"github.com/kapture-bulk/kapture-bulk/internal/run"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// summary is what a run did, for people (print) and schedulers (JSON).
type summary struct {
	Version    string `json:"version"`
	StartedAt  string `json:"started_at"`  // RFC 3339 UTC with milliseconds, as the results CSV's times
	FinishedAt string `json:"finished_at"` // when the summary was made, the run over
	Input      string `json:"input"`
	Results    string `json:"results"` // empty when none was opened (refused early, dry run)
	Outcome    string `json:"outcome"` // finished, interrupted, aborted or dry_run
	ExitCode   int    `json:"exit_code"`
	Error      string `json:"error,omitempty"`
	DryRun     bool   `json:"dry_run,omitempty"`
	RowsRead   int64  `json:"rows_read"`
	Success    int64  `json:"success"`
	Failed     int64  `json:"failed"`  // written failed, and of unknown outcome
	Unknown    int64  `json:"unknown"` // of failed: no answer came before the run stopped
	// NotApplied: of failed, rows the API said it applied while its reply
	// showed the ticket holding something else (the reply check).
	NotApplied int64 `json:"not_applied"`
	// FailedBefore: of failed, rows a resume was to send again that still
	// hold an earlier run's failure (it stopped before they went).
	FailedBefore  int64 `json:"failed_before"`
	Invalid       int64 `json:"invalid"`
	Unchanged     int64 `json:"unchanged"` // a sync run's rows not sent: their tickets held them already
	SkippedResume int64 `json:"skipped_resume"`
	ResentOrder   int64 `json:"resent_for_order"` // done before, sent again to keep a ticket's rows in order
	HeldBack      int64 `json:"held_back"`        // --limit: not sent, a row of the ticket past the limit has a result (sync: is valid)
	NotSent       int64 `json:"not_sent"`
	// BackupOlder: tickets sent whose --backup pre-image was taken before
	// this run (a resume's, a sync night's run again): kept, not read.
	BackupOlder int64 `json:"backup_older"`
	// BackupMissing: tickets a resume sent that an earlier run changed
	// and --backup holds no pre-image of: not read (it would be the
	// job's own change).
	BackupMissing int64   `json:"backup_missing"`
	BlankSkipped  int     `json:"blank_rows_skipped"`
	DuplicateRows int64   `json:"duplicate_rows"` // rows for a ticket_id seen earlier in the input
	WouldSend     int64   `json:"would_send,omitempty"`
	Payloads      int64   `json:"payloads,omitempty"` // at least, for a dry run
	Requests      int64   `json:"requests"`
	Retries       int64   `json:"retries"`
	RateLimited   int64   `json:"rate_limited"` // of the requests: answered 429
	Splits        int64   `json:"splits"`
	FinalRate     float64 `json:"final_rate"`
	SettledRate   float64 `json:"settled_rate"`         // --rate auto: the rate it settled at; 0 if it did not
	ReplyForm     string  `json:"reply_form,omitempty"` // array, object or mixed: how the API answered
	BatchSize     int     `json:"batch_size,omitempty"` // items per payload at the end (1 after a switch)
	// FailureReasons are the most frequent reasons of this run's failed
	// and invalid results, in report --json's shape.
	FailureReasons []reason.Group `json:"failure_reasons"`
	ElapsedSeconds float64        `json:"elapsed_seconds"`
	RowsPerSecond  float64        `json:"rows_per_second"`
	// ResumeCommand sends the rows not sent and those of unknown outcome
	// (not for a sync run: the next one does).
	ResumeCommand string `json:"resume_command,omitempty"`

	next     advice
	finished time.Time
	backup   string   // --backup
	secrets  *secrets // hidden in the JSON file (stderr hides them itself)
	// inflight: of Unknown, the rows this run left in the journal.
	inflight int64
	// doneBefore: of SkippedResume, rows a resume was to send again to
	// keep their tickets' rows in order, stopped before they went.
	doneBefore int64
}

// runState is what a run got as far as, for its summary.
type runState struct {
	start       time.Time
	input       string
	resultsPath string     // shown only once the results file was opened
	backup      string     // --backup, for the summary's words
	stats       *run.Stats // the run's counters
	next        advice     // what sends the rest, if the run stops early
}

// timeLayout is how the summary JSON writes a time, as the results CSV.
const timeLayout = "2006-01-02T15:04:05.000Z"

// summary is what the run got as far as when it ended, at end; it works
// for a run refused before it sent anything (all counts zero) and for a
// dry run.
func (st *runState) summary(end time.Time) *summary {
	elapsed := end.Sub(st.start)
	s := &summary{
		Version: version, StartedAt: st.start.UTC().Format(timeLayout), FinishedAt: end.UTC().Format(timeLayout),
		Input: st.input, ElapsedSeconds: elapsed.Seconds(), FailureReasons: []reason.Group{}, next: st.next, finished: end,
	}
	c := st.stats.Snapshot()
	if c.ResultsOpen {
		s.Results = st.resultsPath
	}
	if c.DryRun {
		s.DryRun = true
		s.RowsRead, s.Invalid, s.WouldSend, s.Payloads = c.Read, c.Invalid, c.WouldSend, c.Payloads
		s.SkippedResume = c.Skipped
		s.DuplicateRows = c.Duplicates
		return s
	}
	if !c.Sending {
		return s
	}
	s.RowsRead = c.Read
	s.Success = c.Success
	// Rows of unknown outcome count as failed, as report and the next
	// resume count them.
	s.Failed, s.Unknown = c.Failed+c.Unknown+c.FailedBefore, c.Unknown+c.UnknownBefore
	s.FailedBefore, s.inflight = c.FailedBefore, c.Unknown
	s.NotApplied = c.NotApplied
	s.Invalid = c.Invalid
	s.Unchanged = c.Unchanged
	s.SkippedResume, s.doneBefore = c.Skipped+c.DoneBefore, c.DoneBefore
	s.ResentOrder = c.Resent
	s.HeldBack = c.HeldBack
	s.BlankSkipped = int(c.BlankSkipped)
	s.DuplicateRows = c.Duplicates
	done := c.Success + c.Failed + c.Invalid + c.Unchanged
	s.NotSent = c.NotSent()
	s.BackupOlder, s.BackupMissing, s.backup = c.BackupOlder, c.BackupMissing, st.backup
	if s.unsettled() && !st.next.sync {
		s.ResumeCommand = st.next.command
	}
	s.Requests, s.Retries, s.RateLimited, s.Splits, s.FinalRate = c.Requests, c.Retries, c.Limited, c.Splits, c.Rate
	s.ReplyForm, s.BatchSize = c.ReplyForm, c.BatchSize
	s.SettledRate = c.SettledRate
	if r := st.stats.FailureReasons(summaryReasons); r != nil {
		s.FailureReasons = r
	}
	if elapsed > 0 {
		s.RowsPerSecond = float64(done) / elapsed.Seconds()
	}
	return s
}

// finish records how the run ended.
func (s *summary) finish(err error) {
	s.ExitCode = exitOK
	s.Outcome = "finished"
	if s.DryRun {
		s.Outcome = "dry_run"
	}
	if err == nil {
		return
	}
	s.ExitCode = exitCode(err)
	switch {
	case s.ExitCode == exitInterrupted:
		s.Outcome = "interrupted"
	case s.ExitCode == exitRowsFailed, errors.Is(err, errSilent):
		// Finished with rows failed, under whatever exit code
		// --rows-failed-exit-code gives them.
	default:
		s.Outcome = "aborted"
	}
	switch {
	case !errors.Is(err, errSilent):
		s.Error = message(err)
	case s.Outcome == "interrupted":
		s.Error = "interrupted by a signal: " + s.stopText()
	}
}

// stopText says what a run that stopped left behind, and what sends it.
func (s *summary) stopText() string {
	var parts []string
	if s.inflight > 0 {
		parts = append(parts, fmt.Sprintf("%s (%s.inflight lists %s)", plural.Of(s.inflight,
			"row's request got no answer in time, so its outcome is unknown", "rows' requests got no answer in time, so their outcome is unknown"),
			s.Results, plural.Pick(s.inflight, "it", "them")))
	} else {
		parts = append(parts, "every request that left was answered and its rows recorded")
	}
	if s.FailedBefore > 0 {
		parts = append(parts, fmt.Sprintf("%s not sent again: %s the failure an earlier run recorded", plural.Of(s.FailedBefore, "row", "rows"), plural.Pick(s.FailedBefore, "it keeps", "they keep")))
	}
	if s.NotSent > 0 {
		parts = append(parts, plural.Of(s.NotSent, "row not sent has no result", "rows not sent have no result"))
	}
	if s.doneBefore > 0 {
		parts = append(parts, plural.Of(s.doneBefore, "row done before was not sent again to keep its ticket's rows in order", "rows done before were not sent again to keep their tickets' rows in order"))
	}
	if s.unsettled() {
		parts = append(parts, s.next.text())
	}
	return strings.Join(parts, "; ")
}

// unsettled reports whether rows are left for a resume (or the next sync
// run) to send.
func (s *summary) unsettled() bool {
	return s.NotSent+s.Unknown+s.FailedBefore+s.doneBefore > 0
}

// failedText counts failed rows, those of them of unknown outcome, and
// those the API said it applied while its reply showed the ticket holding
// something else, as the summary and report say it.
func failedText(failed, unknown, notApplied int64) string {
	var of []string
	if unknown > 0 {
		of = append(of, fmt.Sprintf("%d of them outcome unknown", unknown))
	}
	if notApplied > 0 {
		of = append(of, fmt.Sprintf("%d of them not applied: the API said success, but its reply showed the ticket holding something else", notApplied))
	}
	if len(of) == 0 {
		return fmt.Sprintf("%d failed", failed)
	}
	return fmt.Sprintf("%d failed (%s)", failed, strings.Join(of, "; "))
}

func (s *summary) print(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "kapture-bulk: %s in %s: %s read", s.Outcome, time.Duration(s.ElapsedSeconds*float64(time.Second)).Round(time.Millisecond), plural.Of(s.RowsRead, "row", "rows"))
	fmt.Fprintf(&b, ": %d success, %s, %d invalid", s.Success, failedText(s.Failed, s.Unknown, s.NotApplied), s.Invalid)
	if s.Unchanged > 0 {
		fmt.Fprintf(&b, ", %d unchanged (not sent: the sync state holds %s)", s.Unchanged, plural.Pick(s.Unchanged, "it", "them"))
	}
	if s.SkippedResume > 0 {
		fmt.Fprintf(&b, ", %d skipped (done in the run resumed)", s.SkippedResume)
	}
	if s.ResentOrder > 0 {
		fmt.Fprintf(&b, ", %d sent again, though done, to keep their tickets' rows in order", s.ResentOrder)
	}
	if s.HeldBack > 0 {
		why := "a row of their ticket past --limit has a result: a resume without --limit sends them in order"
		if s.next.sync {
			why = "their ticket has a later row past --limit: a run without --limit sends them in order"
		}
		fmt.Fprintf(&b, ", %d held back (%s)", s.HeldBack, why)
	}
	if s.NotSent > 0 {
		fmt.Fprintf(&b, ", %d not sent", s.NotSent)
	}
	if s.BlankSkipped > 0 {
		fmt.Fprintf(&b, "; %s skipped", plural.Of(s.BlankSkipped, "blank row", "blank rows"))
	}
	if s.DuplicateRows > 0 {
		fmt.Fprintf(&b, "; %s a ticket_id", plural.Of(s.DuplicateRows, "row repeats", "rows repeat"))
	}
	fmt.Fprintf(&b, "\n  %s, %s, %s", plural.Of(s.Requests, "request", "requests"), plural.Of(s.Retries, "retry", "retries"), plural.Of(s.Splits, "split", "splits"))
	if s.RateLimited > 0 {
		fmt.Fprintf(&b, ", %d rate limited (429)", s.RateLimited)
	}
	if s.FinalRate > 0 {
		fmt.Fprintf(&b, ", final rate %.2f requests/s", s.FinalRate)
	}
	if s.SettledRate > 0 {
		fmt.Fprintf(&b, " (--rate auto settled at %.2f)", s.SettledRate)
	}
	fmt.Fprintf(&b, "; %.1f rows/s", s.RowsPerSecond)
	if s.ReplyForm != "" {
		fmt.Fprintf(&b, "\n  API replies: %s; %s per payload at the end", s.ReplyForm, plural.Of(s.BatchSize, "item", "items"))
	}
	fmt.Fprintf(&b, "\n  results: %s\n", s.Results)
	if s.inflight > 0 {
		them := plural.Pick(s.inflight, "it", "them")
		fmt.Fprintf(&b, "  outcome unknown: %s no answer before the run stopped; the API may or may not have applied %s (%s.inflight lists %s)\n",
			plural.Of(s.inflight, "row's request got", "rows' requests got"), them, s.Results, them)
	}
	if s.BackupOlder > 0 {
		fmt.Fprintf(&b, "  backup: %s a pre-image taken before this run (kept, not read again: undo restores what they held then)\n",
			plural.Of(s.BackupOlder, "ticket keeps", "tickets keep"))
	}
	if s.BackupMissing > 0 {
		fmt.Fprintf(&b, "  backup: %s changed by an earlier run %s no pre-image in %s: the earlier run's backup has %s, if it had one (not read now: the read would be the job's own change; undo lists %s)\n",
			plural.Of(s.BackupMissing, "ticket", "tickets"), plural.Pick(s.BackupMissing, "has", "have"), s.backup,
			plural.Pick(s.BackupMissing, "it", "them"), plural.Pick(s.BackupMissing, "it", "them"))
	}
	if s.FailedBefore > 0 {
		fmt.Fprintf(&b, "  not sent again: %s the failure an earlier run recorded (of unknown outcome: %d)\n", plural.Of(s.FailedBefore, "row keeps", "rows keep"), s.Unknown-s.inflight)
	}
	if s.doneBefore > 0 {
		fmt.Fprintf(&b, "  not sent again: %s done before (counted skipped); %s again to keep %s rows in order\n",
			plural.Of(s.doneBefore, "row", "rows"), plural.Pick(s.doneBefore, "it must go", "they must go"), plural.Pick(s.doneBefore, "its ticket's", "their tickets'"))
	}
	if s.unsettled() {
		fmt.Fprintf(&b, "  next: %s\n", s.next.text())
	}
	s.printReasons(&b)
	io.WriteString(w, b.String())
}

// summaryReasons is how many failure reasons the summary JSON lists, and
// summaryReasonsShown how many its text shows: the rest are for report.
const (
	summaryReasons      = 20
	summaryReasonsShown = 5
)

// printReasons ends the summary with its most frequent failure reasons.
func (s *summary) printReasons(b *strings.Builder) {
	if len(s.FailureReasons) == 0 {
		return
	}
	b.WriteString("  failure reasons (most rows first):\n")
	for i, g := range s.FailureReasons {
		if i == summaryReasonsShown {
			fmt.Fprintf(b, "    … and more: kapture-bulk report %s lists them all\n", shellQuote(s.Results))
			break
		}
		fmt.Fprintf(b, "    %6d  %-7s  %s (e.g. line %d)\n", g.Count, g.Status, g.Reason, g.ExampleLine)
	}
}

// logJSON writes the summary as one JSON log record, for --log-format
// json: a log shipper then reads every line on stderr as JSON. Its level
// follows the exit code: INFO for 0, WARN for 1, ERROR otherwise.
func (s *summary) logJSON(w io.Writer) error {
	b, err := marshalJSON(s, "")
	if err != nil {
		return err
	}
	level := slog.LevelError
	switch s.ExitCode {
	case exitOK:
		level = slog.LevelInfo
	case exitRowsFailed:
		level = slog.LevelWarn
	}
	slog.New(slog.NewJSONHandler(w, nil)).Log(context.Background(), level, "summary", "summary", json.RawMessage(b))
	return nil
}

// checkWritable makes sure that path can be written as writeAtomic
// writes it (through a link, at its target): its temporary file is
// created and removed again. Neither may be anything but a file: a FIFO
// would block the write, a folder refuse the rename.
func checkWritable(path string) error {
	named := path
	if t := linkTarget(path); t != path {
		named, path = fmt.Sprintf("%s (a link to %s)", path, t), t
	}
	tmp := tmpPath(path)
	for _, p := range []string{path, tmp} {
		if fi, err := os.Stat(p); err == nil && !fi.Mode().IsRegular() {
			if p == path {
				p = named
			}
			return fmt.Errorf("%s: %w", p, writer.NotRegular(fi))
		}
	}
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE, 0o644)
	if _, derr := os.Stat(filepath.Dir(path)); errors.Is(err, fs.ErrNotExist) && errors.Is(derr, fs.ErrNotExist) {
		return fmt.Errorf("%s: its folder does not exist", named)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) { // the temporary file is not what the user named
		return fmt.Errorf("%s cannot be written: %w", named, pe.Err)
	}
	if err != nil {
		return err
	}
	fh.Close()
	return os.Remove(tmp)
}

// summaryOwner tells a summary JSON by its start: a JSON object whose
// first 4 KiB hold an "outcome" key, or "version" (writeJSON writes it
// first) and "exit_code": a package.json has a "version" too.
var summaryOwner = owner{start: `a JSON object with an "outcome", or a "version" and an "exit_code" key (a summary JSON)`, is: func(r io.Reader) bool {
	d := json.NewDecoder(io.LimitReader(r, 4<<10))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := map[any]bool{}
	for d.More() {
		key, err := d.Token()
		if err != nil {
			return false
		}
		seen[key] = true
		if seen["outcome"] || seen["version"] && seen["exit_code"] {
			return true
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}}

func (s *summary) writeJSON(path string) error {
	b, err := marshalJSON(s, "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, []byte(s.secrets.hide(string(b))), 0o644)
}
