package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestResumeAgainstAnotherAPIRefused: a results file records runs against
// one API; a resume that sends to another (a rehearsal's results, then
// the real tenant) is refused before anything is sent, instead of taking
// every row for done. A results file of an older version (no record) is
// adopted by its next run.
func TestResumeAgainstAnotherAPIRefused(t *testing.T) {
	rehearsal, real := kapturetest.NewServer(t, kapturetest.Options{}), kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	cfg := config(writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516000001,CL\n713516000002,CL\n"), filepath.Join(dir, "in.results.csv"), rehearsal.URL)
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(writer.APIPath(cfg.Results)); err != nil || strings.TrimSpace(string(b)) != rehearsal.URL {
		t.Fatalf("API record: %q, %v; want %s", b, err, rehearsal.URL)
	}
	cfg.Engine.BaseURL, cfg.Mode = real.URL, writer.Resume
	err := Run(context.Background(), cfg, nil)
	if !errors.Is(err, writer.ErrOtherAPI) || !errors.Is(err, ErrRefused) {
		t.Fatalf("resume against another API: %v, want refused, another API", err)
	}
	if n := real.Stats().Requests; n != 0 {
		t.Errorf("the other API got %d requests", n)
	}
	// Overwrite starts the file afresh, for the API it sends to.
	cfg.Mode = writer.Overwrite
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if real.Stats().Applied != 2 {
		t.Errorf("after --overwrite the API applied %d rows, want 2", real.Stats().Applied)
	}
	// An older results file, without a record: adopted.
	os.Remove(writer.APIPath(cfg.Results))
	cfg.Mode = writer.Resume
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatalf("resume of a file without a record: %v", err)
	}
	if b, _ := os.ReadFile(writer.APIPath(cfg.Results)); strings.TrimSpace(string(b)) != real.URL {
		t.Errorf("the record was not adopted: %q", b)
	}
}

// TestPairsFileCheckedBeforeSending: a file beside the results that a
// resume could not keep its key-name pairs in (another API's, or no names
// file at all) refuses it before anything is sent, not after every row
// went out; a run that starts the results afresh removes it.
func TestPairsFileCheckedBeforeSending(t *testing.T) {
	for name, content := range map[string]string{
		"another API's": "kind,key,name,api\nsub_status,CL,Closed,https://other.kapturecrm.com\n",
		"no names file": "ticket_id,sub_status\n713516000001,CL\n",
	} {
		t.Run(name, func(t *testing.T) {
			srv := kapturetest.NewServer(t, kapturetest.Options{})
			dir := t.TempDir()
			cfg := config(writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516000001,CL\n"), filepath.Join(dir, "in.results.csv"), srv.URL)
			writeFile(t, dir, "in.results.csv", writer.Header+"\n")
			writeFile(t, dir, filepath.Base(names.ResultsPath(cfg.Results)), content)
			cfg.Mode = writer.Resume
			err := Run(context.Background(), cfg, nil)
			if !errors.Is(err, ErrRefused) || srv.Stats().Requests != 0 {
				t.Errorf("resume: %v, %d requests; want refused before sending", err, srv.Stats().Requests)
			}
			cfg.Mode = writer.Overwrite
			if err := Run(context.Background(), cfg, nil); err != nil || srv.Stats().Applied != 1 {
				t.Errorf("overwrite: %v, %d applied; want the row sent", err, srv.Stats().Applied)
			}
		})
	}
}
