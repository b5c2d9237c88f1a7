package run

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/snapshot"
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
