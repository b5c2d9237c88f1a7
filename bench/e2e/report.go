package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// reportFailed measures `report --input --failed-rows` over a results file
// in which every row of in failed, each with a message of its own: the
// report's memory must not grow with the file past the run's bound.
func reportFailed(c config, in input, rep *report) error {
	results := strings.TrimSuffix(in.path, ".csv") + ".failed.results.csv"
	if err := writeFailedResults(in, results); err != nil {
		return err
	}
	out := filepath.Join(c.dir, "failed-rows.csv")
	var rss, wall []float64
	for i := 0; i < c.runs; i++ {
		ch, err := runBin(c, nil, "report", "--input", in.path, "--failed-rows", out, results)
		if err != nil {
			return err
		}
		if ch.code != 1 {
			return fmt.Errorf("report of %d failed rows: exit %d, want 1; stderr:\n%s", in.rows, ch.code, ch.stderr)
		}
		rss, wall = append(rss, mib(ch.peak())), append(wall, ch.wall.Seconds())
		logf("report --input --failed-rows of %d failed rows: %.2f s, peak RSS %.1f MiB", in.rows, ch.wall.Seconds(), mib(ch.peak()))
	}
	n := fmt.Sprintf("%dk failed rows", in.rows/1000)
	rep.add("report --input --failed-rows, "+n+": peak RSS", "≤ 256 MiB", median(rss), "MiB", median(rss) <= 256)
	rep.note("report --input --failed-rows of %s: %.2f s", n, median(wall))
	return nil
}

// writeFailedResults writes the results file of a run of in in which every
// row failed with a message naming its ticket (no two alike), keyed as a
// run keys them.
func writeFailedResults(in input, path string) error {
	f, err := os.Open(in.path)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := reader.Open(f, reader.Options{Name: in.path})
	if err != nil {
		return err
	}
	w, err := writer.Open(path, writer.Overwrite)
	if err != nil {
		return err
	}
	batch := make([]writer.Result, 0, 1000)
	flush := func() error {
		err := w.Write(batch)
		batch = batch[:0]
		return err
	}
	err = resume.Walk(rd, 0, nil, func(r *resume.Row) error {
		batch = append(batch, writer.Result{TicketID: r.TicketID, Status: writer.StatusFailed, Line: r.Line, Attempts: 1,
			HTTPStatus: 200, Message: "No ticket found for ticket_id " + r.TicketID, Key: r.Key})
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
