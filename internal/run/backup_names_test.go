package run

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
	"github.com/kapture-bulk/kapture-bulk/internal/undo"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// TestBackupBakesNoGuessedKey: run --names with a pair without a parent
// (sub_status,CO,Others) and --backup: the pre-image of a ticket in
// Pending/Others (PO) keeps the name and status as read and no key, so
// that no later undo restores it to CO (F14); one in Complete/Others gets
// none either, the pair not saying where CO sits.
func TestBackupBakesNoGuessedKey(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	ids := []string{"713516552005", "713516552012"}
	for i, sub := range []string{"PO", "CO"} {
		if err := srv.SetTicket(ids[i], kapturetest.Holding{SubStatus: sub}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	b := names.NewBook()
	if err := b.Load(writeFile(t, dir, "names.csv", "kind,key,name\nsub_status,CO,Others\n")); err != nil {
		t.Fatal(err)
	}
	cfg := config(writeFile(t, dir, "in.csv", "ticket_id,sub_status\n"+ids[0]+",CL\n"+ids[1]+",CL\n"), filepath.Join(dir, "r.csv"), srv.URL)
	cfg.Backup, cfg.Names, cfg.Mode = filepath.Join(dir, "snap.csv"), b, writer.Create
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{ids[0]: "Pending", ids[1]: "Complete"}
	n := 0
	err := snapshot.Read(cfg.Backup, func(e snapshot.Entry) error {
		n++
		sub := e.Ticket.SubStatus
		if e.SubStatusKey != "" || sub.Key != "" || sub.Value != "Others" || e.Ticket.Status.Value+e.Ticket.Status.Name != status[e.Ticket.ID] {
			t.Errorf("ticket %s backed up as %+v (status %+v, key %q); want the name Others under %s, no key", e.Ticket.ID, sub, e.Ticket.Status, e.SubStatusKey, status[e.Ticket.ID])
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("backup: %d entries, %v", n, err)
	}
}

// TestResumeWithAnotherBackup: a job stopped after a ticket's first row
// was applied, resumed with another --backup file (an operator's slip):
// the resume does not read that ticket as its pre-image (the read would
// show the job's own change), sends its remaining row, and says how many
// such tickets the backup lacks; undo of the second backup lists the
// ticket as having no pre-image rather than restoring the job's change
// (F20). A ticket the first run never reached is read as usual.
func TestResumeWithAnotherBackup(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	a, b := "713516553201", "713516553202"
	for _, id := range []string{a, b} {
		if err := srv.SetTicket(id, kapturetest.Holding{SubStatus: "CD"}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	cfg := config(writeFile(t, dir, "in.csv", "ticket_id,sub_status\n"+a+",PC\n"+b+",CL\n"+a+",CL\n"), filepath.Join(dir, "r.csv"), srv.URL)
	cfg.Backup, cfg.Limit = filepath.Join(dir, "monday.csv"), 1 // stops after ticket a's first row
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.Backup, cfg.Limit, cfg.Mode = filepath.Join(dir, "tuesday.csv"), 0, writer.Resume
	cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
	var stats Stats
	if err := Run(context.Background(), cfg, &stats); err != nil {
		t.Fatal(err)
	}
	if kt, _ := srv.Ticket(a); kt.SubStatus.Key != "CL" {
		t.Errorf("ticket a holds %s: its remaining row was not sent", kt.SubStatus.Key)
	}
	got := map[string]string{}
	err := snapshot.Read(cfg.Backup, func(e snapshot.Entry) error {
		got[e.Ticket.ID] = e.Ticket.SubStatus.Value + e.Ticket.SubStatus.Key
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[a]; ok || got[b] == "" || len(got) != 1 {
		t.Errorf("tuesday's backup holds %v; want only ticket b (a's read would be the job's own PC)", got)
	}
	if c := stats.Snapshot(); c.BackupMissing != 1 || !strings.Contains(logs.String(), "changed by an earlier run have no pre-image") {
		t.Errorf("BackupMissing %d; log:\n%s", c.BackupMissing, logs.String())
	}
	res, err := undo.Plan(undo.Options{Snapshot: cfg.Backup, Results: cfg.Results, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unsnapped != 1 || !slices.Equal(res.UnsnappedLines, []int{2}) {
		t.Errorf("undo of tuesday's backup: %+v; want ticket a (line 2) listed as having no pre-image", res)
	}
}
