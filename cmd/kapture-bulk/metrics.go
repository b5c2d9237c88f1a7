package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// --metrics-file writes a run's end in the Prometheus text format, as
// node_exporter's textfile collector reads it: one file per job in the
// collector's folder, replaced whole (atomicFile) at the end of every
// run. Every sample carries the label kapture_job, the file's name
// without .prom: files of one folder have distinct names, so two jobs'
// samples never collide (and job, which Prometheus sets itself, is left
// alone). The format is a dozen lines: written here by hand rather than
// with the Prometheus libraries, which bring protobuf along;
// deploy/metricscheck parses the file with the Prometheus parser.

// metricPrefix starts every metric's name.
const metricPrefix = "kapture_bulk_"

// lastSuccessMetric is the one value a metrics file carries over from the
// run before: when a run last exited 0.
const lastSuccessMetric = metricPrefix + "last_success_timestamp_seconds"

// metricsJob is the kapture_job label of the metrics file at path.
func metricsJob(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// lastSuccess reads the last success time the metrics file at path holds
// (written by an earlier run): zero when there is none, or no file.
func lastSuccess(path string) time.Time {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, lastSuccessMetric+"{") && !strings.HasPrefix(line, lastSuccessMetric+" ") {
			continue
		}
		value := strings.TrimPrefix(line, lastSuccessMetric)
		if _, after, ok := strings.Cut(value, "}"); ok {
			value = after
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			return time.Time{}
		}
		secs, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || secs <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(int64(secs * 1000))
	}
	return time.Time{}
}

// metric is one metric of the file: its name (after metricPrefix), help,
// and samples, each with its extra labels (`status="success"`) or none.
type metric struct {
	name, help string
	samples    []sample
}

type sample struct {
	labels string
	value  float64
}

// metrics are a run's metrics, from its summary; lastOK is when a run
// last exited 0 (this one, or the one the file recorded before).
func (s *summary) metrics(lastOK time.Time) []metric {
	one := func(v float64) []sample { return []sample{{value: v}} }
	rows := []struct {
		status string
		n      int64
	}{
		{"success", s.Success}, {"failed", s.Failed - s.Unknown - s.NotApplied}, {"unknown", s.Unknown}, {"not_applied", s.NotApplied},
		{"invalid", s.Invalid}, {"unchanged", s.Unchanged}, {"not_sent", s.NotSent},
		{"held_back", s.HeldBack}, {"skipped", s.SkippedResume},
	}
	var byStatus []sample
	for _, r := range rows {
		byStatus = append(byStatus, sample{labels: fmt.Sprintf("status=%q", r.status), value: float64(r.n)})
	}
	return []metric{
		{"rows", "Rows of the last run by final status; failed leaves out unknown (no answer came) and not_applied (the API said success, its reply showed the ticket holding something else), so the statuses add up to the rows read.", byStatus},
		{"requests", "HTTP requests the last run sent, retries included.", one(float64(s.Requests))},
		{"retries", "Requests of the last run that were retries.", one(float64(s.Retries))},
		{"rate_limited_requests", "Requests of the last run the API answered 429 (rate limited).", one(float64(s.RateLimited))},
		{"duration_seconds", "How long the last run took.", one(s.ElapsedSeconds)},
		{"exit_code", "The last run's exit code (0 every row done, 1 rows failed or invalid, 2 refused, 3 aborted, 4 input broke off, 130 interrupted).", one(float64(s.ExitCode))},
		{"last_run_timestamp_seconds", "When the last run ended, in seconds since the Unix epoch.", one(unixSeconds(s.finished))},
		{"last_success_timestamp_seconds", "When a run last exited 0, in seconds since the Unix epoch; 0 when none is known.", one(unixSeconds(lastOK))},
	}
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

// metricsOwner tells a metrics file by its first line, the HELP line of
// one of its metrics (writeMetrics).
var metricsOwner = startsWith(`"# HELP `+metricPrefix+`" (a metrics file)`, []byte("# HELP "+metricPrefix))

// writeMetrics writes the run's metrics to path, atomically, keeping the
// last success time the file held unless this run exited 0.
func (s *summary) writeMetrics(path string) error {
	lastOK := lastSuccess(path)
	if s.ExitCode == exitOK {
		lastOK = s.finished
	}
	a, err := createAtomic(path, 0o644)
	if err != nil {
		return err
	}
	defer a.abort() // a no-op once committed
	job := fmt.Sprintf("kapture_job=%s", quoteLabel(metricsJob(path)))
	for _, m := range s.metrics(lastOK) {
		name := metricPrefix + m.name
		fmt.Fprintf(a, "# HELP %s %s\n# TYPE %s gauge\n", name, m.help, name)
		for _, smp := range m.samples {
			labels := job
			if smp.labels != "" {
				labels += "," + smp.labels
			}
			fmt.Fprintf(a, "%s{%s} %s\n", name, labels, strconv.FormatFloat(smp.value, 'f', -1, 64))
		}
	}
	return a.commit()
}

// quoteLabel quotes a label value as the text format wants: backslash,
// double quote and line feed escaped.
func quoteLabel(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}
