package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

func e2e(c config, in input, rep *report) error {
	var rates, cpus, rss []float64
	for i := 0; i < c.runs; i++ {
		ch, st, err := sendAll(c, in, kapturetest.Options{}, 0)
		if err != nil {
			return err
		}
		rates = append(rates, float64(in.rows)/ch.wall.Seconds())
		cpus = append(cpus, float64(ch.cpu.Microseconds())/float64(in.rows))
		rss = append(rss, mib(ch.maxRSS))
		logf("e2e %d rows: %.0f rows/s, client CPU %.2f µs/row, peak RSS %.1f MiB, %d requests",
			in.rows, rates[i], cpus[i], rss[i], st.Requests)
	}
	n := fmt.Sprintf("%dk rows", in.rows/1000)
	rep.add("end to end, no latency ("+n+")", "≥ 100000 rows/s", median(rates), "rows/s", median(rates) >= 100_000)
	rep.add("client CPU per row ("+n+")", "≤ 8 µs/row", median(cpus), "µs/row", median(cpus) <= 8)
	rep.note("peak RSS at %s: %.1f MiB", n, median(rss))
	return nil
}

func memory(c config, small, big input, rep *report) error {
	var rssSmall, rssBig, rateBig []float64
	var resumeWall, resumeRSS []float64
	for i := 0; i < c.runs; i++ {
		if c.want("memory") {
			ch, _, err := sendAll(c, small, kapturetest.Options{}, 0)
			if err != nil {
				return err
			}
			rssSmall = append(rssSmall, mib(ch.maxRSS))
			logf("memory %d rows: peak RSS %.1f MiB", small.rows, mib(ch.maxRSS))
		}
		if c.want("memory") || (c.want("resume") && i == 0) {
			ch, _, err := sendAll(c, big, kapturetest.Options{}, 0)
			if err != nil {
				return err
			}
			rssBig = append(rssBig, mib(ch.maxRSS))
			rateBig = append(rateBig, float64(big.rows)/ch.wall.Seconds())
			logf("memory %d rows: peak RSS %.1f MiB, %.0f rows/s", big.rows, mib(ch.maxRSS), rateBig[len(rateBig)-1])
		}
		if c.want("resume") {
			// The results file of the last run records every row as a
			// success: a resume sends nothing, so its whole run is the
			// time before the first request.
			f, err := startFake(kapturetest.Options{})
			if err != nil {
				return err
			}
			results := strings.TrimSuffix(big.path, ".csv") + ".results.csv"
			ch, err := runBin(c, nil, "run", "--base-url", f.url, "--resume", "--quiet", "--results", results, big.path)
			st := f.h.Stats()
			f.stop()
			if err != nil {
				return err
			}
			if ch.code != 0 || st.Requests != 0 {
				return fmt.Errorf("resume of a finished run: exit %d, %d requests; stderr:\n%s", ch.code, st.Requests, ch.stderr)
			}
			resumeWall = append(resumeWall, ch.wall.Seconds())
			resumeRSS = append(resumeRSS, mib(ch.maxRSS))
			logf("resume %d rows: %.2f s, peak RSS %.1f MiB", big.rows, ch.wall.Seconds(), mib(ch.maxRSS))
		}
	}
	if c.want("memory") {
		nb := fmt.Sprintf("%dk rows", big.rows/1000)
		rep.add("peak RSS, "+nb, "≤ 64 MiB", median(rssBig), "MiB", median(rssBig) <= 64)
		ratio := median(rssBig) / median(rssSmall)
		rep.add(fmt.Sprintf("peak RSS %s / %dk rows", nb, small.rows/1000), "≤ 1.5×", ratio, "×", ratio <= 1.5)
		rep.note("peak RSS at %dk rows: %.1f MiB; throughput at %s: %.0f rows/s", small.rows/1000, median(rssSmall), nb, median(rateBig))
	}
	if c.want("resume") {
		nb := fmt.Sprintf("%dk rows", big.rows/1000)
		rep.add("--resume of a finished "+nb+" run: time", "≤ 3 s", median(resumeWall), "s", median(resumeWall) <= 3)
		rep.add("--resume of a finished "+nb+" run: peak RSS", "≤ 100 MiB", median(resumeRSS), "MiB", median(resumeRSS) <= 100)
	}
	return nil
}

// cpuVersusPython compares the client's CPU with the Python baseline's on
// the same input against the same fake, alternating, best of two each:
// absolute CPU per row varies 2-3x between machines and days, the ratio
// much less.
func cpuVersusPython(c config, in input, rep *report) error {
	py, err := exec.LookPath("python3")
	if err != nil {
		rep.note("no python3: no CPU comparison with the Python baseline")
		return nil
	}
	if _, err := os.Stat(c.python); err != nil {
		return fmt.Errorf("python baseline: %w", err)
	}
	var goCPU, pyCPU []float64
	for i := 0; i < 2; i++ {
		ch, _, err := sendAll(c, in, kapturetest.Options{}, 0)
		if err != nil {
			return err
		}
		goCPU = append(goCPU, float64(ch.cpu.Microseconds())/float64(in.rows))
		pc, err := runPython(c, py, in)
		if err != nil {
			return err
		}
		pyCPU = append(pyCPU, float64(pc.cpu.Microseconds())/float64(in.rows))
		logf("cpu %d rows: kapture-bulk %.2f µs/row (%.1f s), Python %.2f µs/row (%.1f s)",
			in.rows, goCPU[i], ch.wall.Seconds(), pyCPU[i], pc.wall.Seconds())
	}
	g, p := slices.Min(goCPU), slices.Min(pyCPU)
	rep.add(fmt.Sprintf("client CPU: the Python baseline's / kapture-bulk's (%dk rows, alternating, best of 2)", in.rows/1000),
		"≥ 3×", p/g, "×", p/g >= 3)
	rep.note("CPU per row, best of 2: kapture-bulk %.2f µs, Python baseline %.2f µs", g, p)
	return nil
}

// runPython runs the Python baseline over in against a fresh fake and
// checks that every row was applied.
func runPython(c config, py string, in input) (child, error) {
	f, err := startFake(kapturetest.Options{})
	if err != nil {
		return child{}, err
	}
	defer f.stop()
	results := strings.TrimSuffix(in.path, ".csv") + ".py-results.csv"
	cmd := exec.Command(py, c.python, f.url, kapturetest.DefaultToken, in.path, results,
		"--batch", strconv.Itoa(c.batch), "--workers", strconv.Itoa(c.workers))
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	cmd.Stdout = io.Discard
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return child{}, fmt.Errorf("python baseline: %w; stderr:\n%s", err, errBuf.String())
	}
	if st := f.h.Stats(); st.Applied != in.rows {
		return child{}, fmt.Errorf("python baseline: %d applied of %d; stderr:\n%s", st.Applied, in.rows, errBuf.String())
	}
	ps := cmd.ProcessState
	return child{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), maxRSS: maxRSS(ps)}, nil
}

func validate(c config, in input, rep *report) error {
	var walls, bare []float64
	for i := 0; i < c.runs; i++ {
		ch, err := runBin(c, nil, "validate", in.path)
		if err != nil {
			return err
		}
		if ch.code != 0 {
			return fmt.Errorf("validate: exit %d: %s", ch.code, ch.stderr)
		}
		b, err := bareRead(in.path)
		if err != nil {
			return err
		}
		walls = append(walls, ch.wall.Seconds())
		bare = append(bare, b.Seconds())
		logf("validate %d rows: %.3f s; bare encoding/csv read: %.3f s", in.rows, ch.wall.Seconds(), b.Seconds())
	}
	n := fmt.Sprintf("%dk rows", in.rows/1000)
	rep.add("validate, "+n, "≤ 1 s", median(walls), "s", median(walls) <= 1)
	rep.note("validate %s: %.2f× a bare encoding/csv read of the same file (%.3f s)", n, median(walls)/median(bare), median(bare))
	return nil
}

// bareRead is the floor: encoding/csv reading every record of the file.
func bareRead(path string) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	r.ReuseRecord = true
	for {
		_, err := r.Read()
		if err == io.EOF {
			return time.Since(start), nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// profile records a CPU profile of the client alone during one run.
func profile(c config, in input) error {
	if _, err := exec.LookPath("perf"); err != nil {
		return err
	}
	_, _, err := sendAll(c, in, kapturetest.Options{}, 0,
		"perf", "record", "-q", "-F", "1999", "--call-graph", "fp", "-o", c.perf, "--")
	if err == nil {
		logf("perf profile of one %d-row run written to %s (perf report -i %s --no-children)", in.rows, c.perf, c.perf)
	}
	return err
}
