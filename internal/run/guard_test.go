package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestRefusedStdinResumeChangesNothing: a resume from stdin whose rows
// belong to another results file is refused before the run writes
// anything: the rows a killed run left in flight are not recorded yet, and
// its journal stays, for the right input's resume.
func TestRefusedStdinResumeChangesNothing(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	results := filepath.Join(dir, "r.csv")
	in := writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516551148,CL\n713516551149,CL\n")
	if err := Run(context.Background(), config(in, results, srv.URL), nil); err != nil {
		t.Fatal(err)
	}
	// As a killed run leaves it: a row in flight in the journal.
	w, err := writer.Open(results, writer.Resume)
	if err != nil {
		t.Fatal(err)
	}
	readAll := func(r writer.Row) error { return nil }
	if err := w.ReadBack(readAll); err != nil {
		t.Fatal(err)
	}
	if err := w.StartJournal(1, 1); err != nil {
		t.Fatal(err)
	}
	k := rowkey.New("713516551149", []byte("x"))
	if err := w.Sending(0, []writer.InFlight{{Line: 3, TicketID: "713516551149", Key: k}}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	before, journal := readBytes(t, results), readBytes(t, results+".inflight")

	cfg := config("-", results, srv.URL)
	cfg.Stdin = strings.NewReader("ticket_id,sub_status\n713516551150,PS\n")
	cfg.Reader.Name = "stdin"
	cfg.Mode = writer.Resume
	var foreign *ForeignResultsError
	if err := Run(context.Background(), cfg, nil); !errors.As(err, &foreign) {
		t.Fatalf("Run: %v, want a ForeignResultsError", err)
	}
	if got := readBytes(t, results); got != before {
		t.Errorf("a refused resume changed the results file:\n%s", got)
	}
	if got := readBytes(t, results+".inflight"); got != journal {
		t.Error("a refused resume changed the in-flight journal")
	}
}

func readBytes(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
