package run

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// notShown starts the message of the rows of a ticket the backup read did
// not show.
const notShown = "not sent: the backup read did not show this ticket"

// sentTickets is a fake that records the tickets its update requests
// carried.
func sentTickets(t *testing.T) (*kapturetest.Server, func(id string) bool) {
	var mu sync.Mutex
	sent := map[string]bool{}
	srv := kapturetest.NewServer(t, kapturetest.Options{Fail: func(_ int, items []kapturetest.Item) *kapturetest.Fault {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			sent[it["ticket_id"]] = true
		}
		return nil
	}})
	return srv, func(id string) bool { mu.Lock(); defer mu.Unlock(); return sent[id] }
}

// TestBackupHoldsBackWhatTheReadDoesNotShow: with a backup, the rows of a
// ticket whose pre-image read did not show it are not sent (their change
// could not be undone): failed, saying why, in this run (its second row
// too, in a payload of its own) and in a resume; the others go.
func TestBackupHoldsBackWhatTheReadDoesNotShow(t *testing.T) {
	srv, sent := sentTickets(t)
	dir := t.TempDir()
	in := "ticket_id,sub_status\n713516000001,CL\n999999999999,CL\n713516000002,PS\n999999999999,RS\n"
	cfg := config(writeFile(t, dir, "in.csv", in), filepath.Join(dir, "r.csv"), srv.URL)
	cfg.Backup = filepath.Join(dir, "snap.csv")
	for _, mode := range []writer.Mode{writer.Create, writer.Resume} {
		cfg.Mode = mode
		var stats Stats
		if err := Run(context.Background(), cfg, &stats); err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		if c := stats.Snapshot(); c.Failed != 2 || (mode == writer.Create && c.Success != 2) {
			t.Errorf("%v: %d failed, %d success; want 2 failed (the unknown ticket's rows), 2 success", mode, c.Failed, c.Success)
		}
		if sent("999999999999") {
			t.Fatalf("%v: the ticket the backup read did not show was sent", mode)
		}
	}
	latest := map[int]writer.Row{}
	err := writer.ReadRows(mustOpen(t, cfg.Results), cfg.Results, func(r writer.Row) error { latest[r.Line] = r; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []int{3, 5} {
		if r := latest[line]; r.Status != writer.StatusFailed || !strings.HasPrefix(r.Message, notShown) {
			t.Errorf("line %d: %s %q; want failed %q", line, r.Status, r.Message, notShown)
		}
	}
	if !sent("713516000001") || !sent("713516000002") {
		t.Error("the tickets the read showed were not sent")
	}
}

// TestFreshRunRefusesAUsedBackup: a run that is not a resume refuses,
// before anything is sent, a backup that holds pre-images of its tickets
// (they would be kept, and undo would restore what the tickets held
// before the earlier job), naming the file and how many; a resume goes on
// with it, and a run of other tickets may add to it. From stdin, whose
// tickets cannot be known before sending, a backup holding any is
// refused.
func TestFreshRunRefusesAUsedBackup(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	first := "ticket_id,sub_status\n713516000001,CL\n713516000002,CL\n713516000003,CL\n"
	cfg := config(writeFile(t, dir, "in.csv", first), filepath.Join(dir, "r.csv"), srv.URL)
	cfg.Backup = filepath.Join(dir, "snap.csv")
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	backup, results := readBytes(t, cfg.Backup), readBytes(t, cfg.Results)
	requests := srv.Stats().Requests

	second := "ticket_id,sub_status\n713516000001,RS\n713516000009,RS\n713516000002,RS\n713516000001,PS\n"
	cfg.Input = writeFile(t, dir, "second.csv", second)
	cfg.Mode = writer.Overwrite
	err := Run(context.Background(), cfg, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), cfg.Backup) || !strings.Contains(err.Error(), "2 of this job's tickets") ||
		!strings.Contains(err.Error(), "move it aside or name a new file") || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("a fresh run with a used backup: %v; want refused, naming the file, 2 of the job's tickets and the way out", err)
	}
	cfg.Input, cfg.Stdin = "-", strings.NewReader(second)
	cfg.Reader.Name = "stdin"
	if err := Run(context.Background(), cfg, nil); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "3 tickets") {
		t.Errorf("from stdin: %v; want refused, naming the 3 tickets it holds", err)
	}
	// --resume of a results file not there yet starts a job too (a
	// scheduled job gives the flag every time): refused alike.
	cfg.Input, cfg.Stdin, cfg.Reader.Name = filepath.Join(dir, "second.csv"), nil, "second.csv"
	cfg.Results, cfg.Mode = filepath.Join(dir, "job2.results.csv"), writer.Resume
	if err := Run(context.Background(), cfg, nil); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "2 of this job's tickets") ||
		!strings.Contains(err.Error(), "records no earlier run") || strings.Contains(err.Error(), "--resume goes on") {
		t.Errorf("--resume of no results yet: %v; want refused as a fresh run, without advising the --resume it was", err)
	}
	cfg.Results = filepath.Join(dir, "r.csv")
	if readBytes(t, cfg.Backup) != backup || readBytes(t, cfg.Results) != results || srv.Stats().Requests != requests {
		t.Error("a refused run changed the backup or the results, or sent something")
	}

	cfg.Input, cfg.Stdin, cfg.Reader.Name = writeFile(t, dir, "other.csv", "ticket_id,sub_status\n713516000007,CL\n"), nil, "other.csv"
	cfg.Results = filepath.Join(dir, "other.results.csv")
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Errorf("a run of other tickets: %v", err)
	}
	cfg.Input, cfg.Reader.Name = filepath.Join(dir, "in.csv"), "in.csv"
	cfg.Results, cfg.Mode = filepath.Join(dir, "r.csv"), writer.Resume
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Errorf("a resume: %v", err)
	}
}

// TestSyncNightSaysWhatItsBackupHeld: a sync night (which cannot resume)
// may use a backup that holds some of its tickets (a stopped night run
// again continues it), and says, in its log and counts, how many of the
// tickets it sent kept a pre-image taken before this run.
func TestSyncNightSaysWhatItsBackupHeld(t *testing.T) {
	srv := kapturetest.NewServer(t, kapturetest.Options{})
	dir := t.TempDir()
	cfg := config(writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516000001,CL\n713516000002,CL\n"), filepath.Join(dir, "r1.csv"), srv.URL)
	cfg.Backup, cfg.Sync = filepath.Join(dir, "snap.csv"), Sync{State: filepath.Join(dir, "state.db")}
	if err := Run(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Input = writeFile(t, dir, "in.csv", "ticket_id,sub_status\n713516000001,RS\n713516000002,CL\n713516000003,RS\n")
	cfg.Results = filepath.Join(dir, "r2.csv")
	var log bytes.Buffer
	cfg.Log = slog.New(slog.NewTextHandler(&log, nil))
	var stats Stats
	if err := Run(context.Background(), cfg, &stats); err != nil {
		t.Fatal(err)
	}
	if c := stats.Snapshot(); c.BackupOlder != 1 || c.Success != 2 {
		t.Errorf("%d tickets with an older pre-image, %d success; want 1 (713516000001; 713516000002 is unchanged), 2", c.BackupOlder, c.Success)
	}
	if !strings.Contains(log.String(), "taken before this run") || !strings.Contains(log.String(), "tickets=1") {
		t.Errorf("log: %s\nwant a line saying 1 ticket's pre-image was taken before this run", log.String())
	}
}
