package metricscheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// bin is the kapture-bulk binary: $KAPTURE_BULK_BIN, or one built from
// the repository.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "metricscheck")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if bin = os.Getenv("KAPTURE_BULK_BIN"); bin == "" {
			bin = filepath.Join(dir, "kapture-bulk")
			build := exec.Command("go", "build", "-o", bin, "./cmd/kapture-bulk")
			build.Dir = filepath.Join("..", "..")
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			if err := build.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "build kapture-bulk:", err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

const token = "metricscheck-token"

// mock starts kapture-bulk mock on a free port and returns its URL.
func mock(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urlFile := filepath.Join(t.TempDir(), "url")
	cmd := exec.CommandContext(ctx, bin, "mock", "--addr", "127.0.0.1:0", "--url-file", urlFile)
	cmd.Env = append(os.Environ(), "KAPTURE_API_TOKEN="+token)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if b, err := os.ReadFile(urlFile); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the mock did not start:\n%s", log.String())
	return ""
}

// run runs kapture-bulk run with the token given and returns its exit code.
func run(t *testing.T, tok string, args ...string) int {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"run", "--quiet"}, args...)...)
	cmd.Env = append(os.Environ(), "KAPTURE_API_TOKEN="+tok)
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("run: %v\n%s", err, out)
	}
	t.Logf("kapture-bulk run %s: exit %d\n%s", strings.Join(args, " "), code, out)
	return code
}

// parse reads the metrics file with the Prometheus text parser, checking
// that every family is a gauge with its help and the job's label.
func parse(t *testing.T, path, job string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("the Prometheus parser refuses %s: %v", path, err)
	}
	for name, mf := range families {
		if mf.GetType() != dto.MetricType_GAUGE || mf.GetHelp() == "" {
			t.Errorf("%s: type %v, help %q; want a gauge with its help", name, mf.GetType(), mf.GetHelp())
		}
		for _, m := range mf.GetMetric() {
			if label(m, "kapture_job") != job {
				t.Errorf("%s: kapture_job %q, want %q", name, label(m, "kapture_job"), job)
			}
		}
	}
	return families
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// value is the gauge name's value: of its sample with status status, or
// of its only sample when status is "".
func value(t *testing.T, families map[string]*dto.MetricFamily, name, status string) float64 {
	t.Helper()
	mf := families[name]
	if mf == nil {
		t.Fatalf("no %s", name)
	}
	for _, m := range mf.GetMetric() {
		if label(m, "status") == status {
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s{status=%q}", name, status)
	return 0
}

// TestMetricsFile: the file a successful run writes, and the one a failed
// run writes over it, parse; their values are the runs'; the time of the
// last success survives the failed run.
func TestMetricsFile(t *testing.T) {
	url := mock(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("ticket_id,sub_status\n713516551148,CL\n713516551149,CL\n713516551150,CL\nnot-a-ticket,CL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := filepath.Join(dir, "nightly.prom")
	common := []string{"--base-url", url, "--metrics-file", prom, "--rows-failed-exit-code", "0"}

	if code := run(t, token, append(common, "--results", filepath.Join(dir, "1.csv"), in)...); code != 0 {
		t.Fatalf("first run: exit %d, want 0", code)
	}
	first := parse(t, prom, "nightly")
	for status, want := range map[string]float64{"success": 3, "invalid": 1, "failed": 0, "unknown": 0, "not_sent": 0} {
		if got := value(t, first, "kapture_bulk_rows", status); got != want {
			t.Errorf("first run: rows{status=%q} = %v, want %v", status, got, want)
		}
	}
	if got := value(t, first, "kapture_bulk_requests", ""); got < 1 {
		t.Errorf("first run: %v requests", got)
	}
	if got := value(t, first, "kapture_bulk_exit_code", ""); got != 0 {
		t.Errorf("first run: exit_code %v", got)
	}
	end := value(t, first, "kapture_bulk_last_run_timestamp_seconds", "")
	if ok := value(t, first, "kapture_bulk_last_success_timestamp_seconds", ""); ok != end || time.Since(time.Unix(int64(end), 0)) > time.Minute {
		t.Errorf("first run: last success %v, last run %v: want both now", ok, end)
	}

	if code := run(t, "a-wrong-token", append(common, "--results", filepath.Join(dir, "2.csv"), in)...); code != 3 {
		t.Fatalf("second run: exit %d, want 3 (authentication rejected)", code)
	}
	second := parse(t, prom, "nightly")
	if got := value(t, second, "kapture_bulk_exit_code", ""); got != 3 {
		t.Errorf("second run: exit_code %v, want 3", got)
	}
	if got := value(t, second, "kapture_bulk_rows", "success"); got != 0 {
		t.Errorf("second run: rows{status=success} = %v, want 0", got)
	}
	if got := value(t, second, "kapture_bulk_last_run_timestamp_seconds", ""); got < end {
		t.Errorf("second run: last run %v, before the first's %v", got, end)
	}
	if got := value(t, second, "kapture_bulk_last_success_timestamp_seconds", ""); got != end {
		t.Errorf("second run: last success %v, want the first run's %v", got, end)
	}
}
