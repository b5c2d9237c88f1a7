package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// summary is what a run did, for people (print) and schedulers (JSON).
type summary struct {
	Input          string  `json:"input"`
	Results        string  `json:"results"`
	Outcome        string  `json:"outcome"` // finished, interrupted or aborted
	ExitCode       int     `json:"exit_code"`
	Error          string  `json:"error,omitempty"`
	RowsRead       int64   `json:"rows_read"`
	Success        int64   `json:"success"`
	Failed         int64   `json:"failed"`
	Invalid        int64   `json:"invalid"`
	SkippedResume  int64   `json:"skipped_resume"`
	NotSent        int64   `json:"not_sent"`
	BlankSkipped   int     `json:"blank_rows_skipped"`
	Requests       int64   `json:"requests"`
	Retries        int64   `json:"retries"`
	Splits         int64   `json:"splits"`
	FinalRate      float64 `json:"final_rate"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	RowsPerSecond  float64 `json:"rows_per_second"`
}

func (p *pipeline) summary(start time.Time) *summary {
	elapsed := time.Since(start)
	s := &summary{
		Input:         p.input,
		Results:       p.resultsPath,
		RowsRead:      p.counts.read.Load(),
		Success:       p.counts.success.Load(),
		Failed:        p.counts.failed.Load(),
		Invalid:       p.counts.invalid.Load(),
		SkippedResume: p.counts.skipped.Load(),
		BlankSkipped:  p.rd.Skipped(),
	}
	done := s.Success + s.Failed + s.Invalid
	s.NotSent = max(0, s.RowsRead-s.SkippedResume-done)
	if p.eng != nil {
		st := p.eng.Stats()
		s.Requests, s.Retries, s.Splits, s.FinalRate = st.Requests, st.Retries, st.Splits, st.Rate
	}
	s.ElapsedSeconds = elapsed.Seconds()
	if elapsed > 0 {
		s.RowsPerSecond = float64(done) / elapsed.Seconds()
	}
	return s
}

// finish records how the run ended.
func (s *summary) finish(err error) {
	s.ExitCode = exitOK
	s.Outcome = "finished"
	if err == nil {
		return
	}
	s.ExitCode = exitCode(err)
	switch s.ExitCode {
	case exitInterrupted:
		s.Outcome = "interrupted"
	case exitRowsFailed:
	default:
		s.Outcome = "aborted"
	}
	if !errors.Is(err, errSilent) {
		s.Error = err.Error()
	}
}

func (s *summary) print(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "kapture-bulk: %s in %s: %d rows read", s.Outcome, time.Duration(s.ElapsedSeconds*float64(time.Second)).Round(time.Millisecond), s.RowsRead)
	fmt.Fprintf(&b, ": %d success, %d failed, %d invalid", s.Success, s.Failed, s.Invalid)
	if s.SkippedResume > 0 {
		fmt.Fprintf(&b, ", %d skipped (done in the run resumed)", s.SkippedResume)
	}
	if s.NotSent > 0 {
		fmt.Fprintf(&b, ", %d not sent (--resume sends them)", s.NotSent)
	}
	if s.BlankSkipped > 0 {
		fmt.Fprintf(&b, "; %d blank rows skipped", s.BlankSkipped)
	}
	fmt.Fprintf(&b, "\n  %d requests, %d retries, %d splits", s.Requests, s.Retries, s.Splits)
	if s.FinalRate > 0 {
		fmt.Fprintf(&b, ", final rate %.2f requests/s", s.FinalRate)
	}
	fmt.Fprintf(&b, "; %.1f rows/s\n  results: %s\n", s.RowsPerSecond, s.Results)
	io.WriteString(w, b.String())
}

func (s *summary) writeJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
