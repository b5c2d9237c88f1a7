package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/internal/syncstate"
)

// The run command's sync flags: --sync-state makes a run a nightly
// reconciliation (see internal/run's Sync), --full sends every row of it.

func (f *runFlags) registerSync(fs *flag.FlagSet) {
	fs.StringVar(&f.syncState, "sync-state", "", "sync state file: send only the tickets whose last row it does not hold, and record what is applied (results default to a new timestamped file in a results folder beside it)")
	fs.BoolVar(&f.full, "full", false, "with --sync-state: send every row whatever the state says, and refresh the state (for changes made inside Kapture)")
}

// checkSync refuses sync flags no run can use with the others.
func (f *runFlags) checkSync(input string) error {
	if f.syncState == "" {
		if f.full {
			return usagef("--full sends every row of a sync run: it needs --sync-state")
		}
		return nil
	}
	switch {
	case f.resume:
		return usagef("--sync-state and --resume do not combine: a sync run is its own unit (the state says what to send), and the next one sends what did not succeed")
	case input == "-":
		return usagef("--sync-state reads the input twice (each ticket's last row first), and stdin cannot be read twice: save it to a file first")
	case f.dryRun:
		return usagef("--dry-run with --sync-state is not supported: run without --sync-state to see the payloads")
	}
	if fi, err := os.Stat(filepath.Dir(f.syncState)); err != nil || !fi.IsDir() {
		return usagef("--sync-state %s: its folder does not exist", f.syncState)
	}
	return nil
}

// syncResultsLayout names a sync run's results file by the time it starts,
// in UTC; no colons, which Windows refuses in a file name.
const syncResultsLayout = "2006-01-02T15-04-05Z"

// syncResults returns a new results path for a sync run with the state at
// state, starting at now: STATE-FOLDER/results/NAME-TIME.results.csv,
// NAME being the state's file name without its extension (so that two
// jobs' states in one folder keep their results apart). The run creates
// the results folder when it opens the file (run.Sync.MakeResultsDir):
// a run refused before then leaves nothing behind.
func syncResults(state string, now time.Time) (string, error) {
	dir := filepath.Join(filepath.Dir(state), "results")
	name := strings.TrimSuffix(filepath.Base(state), filepath.Ext(state))
	base := filepath.Join(dir, name+"-"+now.UTC().Format(syncResultsLayout))
	for i := 1; ; i++ {
		path := base + ".results.csv"
		if i > 1 {
			path = fmt.Sprintf("%s-%d.results.csv", base, i)
		}
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			return path, nil // a missing folder included
		}
		if i == 100 {
			return "", usagef("--sync-state: no free results file name like %s in %s", path, dir)
		}
	}
}

// syncAdvice adds to a run's error about its sync state the way out.
func syncAdvice(err error) error {
	var other *syncstate.APIError
	switch {
	case errors.As(err, &other):
		return fmt.Errorf("%w. To sync %s, give a new --sync-state path: its first run sends every row (as --full does) and fills it", err, other.Run)
	case errors.Is(err, syncstate.ErrDamaged):
		return fmt.Errorf("%w. Move it aside (keep it to look at) and run with --full into a new state at that path: every row is sent and the new state records what is applied", err)
	}
	return err
}
