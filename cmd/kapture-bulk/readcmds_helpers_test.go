package main

// Helpers of the read commands' tests (snapshot, verify, undo, probe, and
// run's read side): in process through cli, against kapturetest fakes.

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// readInput writes an input setting sub-status sub on n known tickets
// (713516000001, …), then the rows in extra (each "ticket_id,sub_status"),
// and returns its path and the n ticket ids.
func readInput(t *testing.T, dir string, n int, sub string, extra ...string) (string, []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("ticket_id,sub_status\n")
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("7135160%05d", i+1)
		fmt.Fprintf(&b, "%s,%s\n", ids[i], sub)
	}
	for _, x := range extra {
		b.WriteString(x + "\n")
	}
	path := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ids
}

// catalogueNames writes a names file of the fake tenant's every pair.
func catalogueNames(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("kind,key,name,parent\n")
	cat := kapturetest.DefaultCatalogue()
	for _, s := range cat.SubStatuses {
		fmt.Fprintf(&b, "sub_status,%s,%s,%s\n", s.Key, s.Name, s.Status.Name)
	}
	for _, q := range cat.Queues {
		fmt.Fprintf(&b, "queue,%s,%s\n", q.Key, q.Name)
	}
	path := filepath.Join(dir, "names.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// kb runs kapture-bulk in process against srv (its URL first, --rate 0
// and --quiet where the command talks to the API), with the fake's token
// in the environment.
func kb(t *testing.T, srv *kapturetest.Server, args ...string) opsRun {
	t.Helper()
	return kbSignals(t, srv, nil, args...)
}

func kbSignals(t *testing.T, srv *kapturetest.Server, signals <-chan os.Signal, args ...string) opsRun {
	t.Helper()
	if srv != nil {
		args = append([]string{args[0], "--base-url", srv.URL, "--rate", "0", "--quiet"}, args[1:]...)
	}
	return runOpsSignals(t, kapturetest.DefaultToken, signals, args...)
}

// runOpsSignals is runOps with a signal channel.
func runOpsSignals(t *testing.T, token string, signals <-chan os.Signal, args ...string) opsRun {
	t.Helper()
	return runCLI(t, token, strings.NewReader(""), false, signals, args...)
}

// csvRows reads a CSV file whole: its header, then its rows.
func csvRows(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// wantPrivate fails unless the file at path is mode 0600 and holds no
// customer data of the fake's tickets (e-mails @example.com, phones
// +91…) and not the token.
func wantPrivate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s is %v, want 0600", filepath.Base(path), fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	for _, bad := range []string{"@example.com", "+91", kapturetest.DefaultToken} {
		if strings.Contains(string(b), bad) {
			t.Errorf("%s holds %q:\n%s", filepath.Base(path), bad, b)
		}
	}
}

// wantClean fails if what the command printed holds customer data or the
// token.
func wantClean(t *testing.T, r opsRun) {
	t.Helper()
	for _, bad := range []string{"@example.com", "+91", kapturetest.DefaultToken} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("the output holds %q:\n%s\n%s", bad, r.stdout, r.stderr)
		}
	}
}

func fileText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
