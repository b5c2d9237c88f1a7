package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

const readSideCSV = "ticket_id,sub_status,queue\n713516000001,CL,ESC\n713516000002,PS,\n713516000001,RS,\n999999999999,CL,\n"

// TestBackupKeepsTheFirstPreImage: a run with a backup reads every
// ticket before its first row is sent; a resume keeps the first
// pre-image, not the state the run left. (A second run afresh is refused:
// TestFreshRunRefusesAUsedBackup.)
func TestBackupKeepsTheFirstPreImage(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	before := map[string]kapturetest.Ticket{}
	for _, id := range []string{"713516000001", "713516000002"} {
		before[id], _ = srv.Ticket(id)
	}
	dir := t.TempDir()
	cfg := config(writeFile(t, dir, "in.csv", readSideCSV), filepath.Join(dir, "r.csv"), srv.URL)
	cfg.Backup = filepath.Join(dir, "snap.csv")
	for i, mode := range []writer.Mode{writer.Create, writer.Resume} {
		cfg.Mode = mode
		if err := Run(context.Background(), cfg, nil); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	if fi, err := os.Stat(cfg.Backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup: %v, mode %v; want 0600", err, fi.Mode())
	}
	got := map[string]snapshot.Entry{}
	err := snapshot.Read(cfg.Backup, func(e snapshot.Entry) error {
		if _, dup := got[e.Ticket.ID]; dup {
			t.Errorf("ticket %s twice in the backup", e.Ticket.ID)
		}
		got[e.Ticket.ID] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, was := range before {
		e, ok := got[id]
		if !ok || !e.Ticket.Found || e.Ticket.SubStatus.Value != was.SubStatus.Name {
			t.Errorf("ticket %s: backed up %+v, want what it held before the run: %+v", id, e.Ticket, was.SubStatus)
		}
	}
	if e, ok := got["999999999999"]; !ok || e.Ticket.Found {
		t.Errorf("an unknown ticket: backed up %+v (%v), want it listed as not found", e, ok)
	}
	if b, _ := os.ReadFile(cfg.Backup); strings.Contains(string(b), "@example.com") {
		t.Error("the backup holds a customer's e-mail")
	}
}

// TestRunKeepsThePairsItsRepliesShow: the key-name pairs the API's
// replies show are kept beside the results, and a row whose reply shows
// its ticket holding another sub-status is failed, not applied.
func TestRunKeepsThePairsItsRepliesShow(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{KeepSubStatus: 1})
	dir := t.TempDir()
	cfg := config(writeFile(t, dir, "in.csv", readSideCSV), filepath.Join(dir, "r.csv"), srv.URL)
	var stats Stats
	if err := Run(context.Background(), cfg, &stats); err != nil {
		t.Fatal(err)
	}
	c := stats.Snapshot()
	if c.NotApplied != 3 || c.Failed != 4 || c.Success != 0 {
		t.Errorf("%d failed, %d of them not applied, %d success; want 4, 3, 0", c.Failed, c.NotApplied, c.Success)
	}
	b := names.NewBook()
	if err := b.Load(names.ResultsPath(cfg.Results)); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"PS": "Pending Seller", "P": "Pending"} {
		if name, ok := b.Name(names.SubStatus, key); !ok || name != want {
			t.Errorf("%s is named %q (%v) beside the results, want %q as the replies showed", key, name, ok, want)
		}
	}
}
