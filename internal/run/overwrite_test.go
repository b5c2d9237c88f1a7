package run

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// An --overwrite run with a new backup over a results file that records
// changes (break-test 3, B6) is refused before anything is sent: from a
// file, naming how many of its tickets and one; from stdin, which cannot
// be read twice, for any change.
func TestOverwriteRefusesTicketsTheResultsChanged(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	input := "ticket_id,sub_status\n713516000001,CL\n713516000002,CL\n"
	cfg := config(writeFile(t, dir, "in.csv", input), filepath.Join(dir, "r.csv"), srv.URL)
	cfg.Backup = filepath.Join(dir, "canary.snap.csv")
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	requests := srv.Stats().Requests
	cfg.Mode, cfg.Backup = writer.Overwrite, filepath.Join(dir, "job.snap.csv")
	err := Run(context.Background(), cfg, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "records changes to 2 of these tickets (e.g. 713516000001)") {
		t.Errorf("--overwrite with a new backup: %v; want refused, naming 2 tickets", err)
	}
	cfg.Input, cfg.Stdin = "-", strings.NewReader(input)
	cfg.Reader.Name = "stdin"
	if err := Run(context.Background(), cfg, nil); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "records changes to 2 tickets, and a run from stdin") {
		t.Errorf("from stdin: %v; want refused", err)
	}
	if got := srv.Stats().Requests; got != requests {
		t.Errorf("the refused runs sent %d requests", got-requests)
	}
}
