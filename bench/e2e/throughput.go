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
		rss = append(rss, mib(ch.peak()))
		logf("e2e %d rows: %.0f rows/s, client CPU %.2f µs/row, peak RSS %.1f MiB, %d requests",
			in.rows, rates[i], cpus[i], rss[i], st.Requests)
	}
	n := fmt.Sprintf("%dk rows", in.rows/1000)
	rep.info("end to end, no latency ("+n+")", median(rates), "rows/s")
	rep.info("client CPU per row ("+n+")", median(cpus), "µs/row")
	rep.add("end to end ("+n+"): peak RSS", "≤ 256 MiB", median(rss), "MiB", median(rss) <= 256)
	return nil
}

// memory measures peak RSS at 100k and 1M rows: the guard is 256 MiB for
// any input; the ratio between the two says whether it grows with the file.
func memory(c config, small, big input, rep *report) error {
	var rssSmall, rssBig, rateBig []float64
	for i := 0; i < c.runs; i++ {
		ch, _, err := sendAll(c, small, kapturetest.Options{}, 0)
		if err != nil {
			return err
		}
		rssSmall = append(rssSmall, mib(ch.peak()))
		logf("memory %d rows: peak RSS %.1f MiB", small.rows, mib(ch.peak()))
		ch, _, err = sendAll(c, big, kapturetest.Options{}, 0)
		if err != nil {
			return err
		}
		rssBig = append(rssBig, mib(ch.peak()))
		rateBig = append(rateBig, float64(big.rows)/ch.wall.Seconds())
		logf("memory %d rows: peak RSS %.1f MiB, %.0f rows/s", big.rows, mib(ch.peak()), rateBig[i])
	}
	nb := fmt.Sprintf("%dk rows", big.rows/1000)
	rep.add("peak RSS, "+nb, "≤ 256 MiB", median(rssBig), "MiB", median(rssBig) <= 256)
	rep.info(fmt.Sprintf("peak RSS %s / %dk rows", nb, small.rows/1000), median(rssBig)/median(rssSmall), "×")
	rep.note("peak RSS at %dk rows: %.1f MiB; throughput at %s: %.0f rows/s", small.rows/1000, median(rssSmall), nb, median(rateBig))
	return nil
}

// resumeVersusValidate times a --resume of a finished run of big and a
// validate of the same file in turn, run after run, and holds the median
// of the pairs' ratios to 8x: both read the whole file, so the ratio is
// what a resume adds (its results file, a key per row, the decisions),
// and pairing keeps it when the machine's load drifts. A resume sends
// nothing, so its whole run is the time before the first request. The
// resumes go to the fake the run went to: a results file belongs to its
// API, and a resume against another is refused.
func resumeVersusValidate(c config, big input, rep *report) error {
	f, err := startFake(kapturetest.Options{})
	if err != nil {
		return err
	}
	defer f.stop()
	results := strings.TrimSuffix(big.path, ".csv") + ".resume.results.csv"
	ch, err := runBin(c, nil, append(c.sendArgs(f.url, results, 0), big.path)...)
	if err != nil {
		return err
	}
	if st := f.h.Stats(); ch.code != 0 || st.Applied != big.rows {
		return fmt.Errorf("run over %d rows: exit %d, %d applied; stderr:\n%s", big.rows, ch.code, st.Applied, ch.stderr)
	}
	var ratios, walls, rss, vals []float64
	for i := 0; i < c.runs; i++ {
		before := f.h.Stats().Requests
		ch, err := runBin(c, nil, "run", "--base-url", f.url, "--resume", "--quiet", "--results", results, big.path)
		if err != nil {
			return err
		}
		if sent := f.h.Stats().Requests - before; ch.code != 0 || sent != 0 {
			return fmt.Errorf("resume of a finished run: exit %d, %d requests; stderr:\n%s", ch.code, sent, ch.stderr)
		}
		v, err := runBin(c, nil, "validate", big.path)
		if err != nil {
			return err
		}
		if v.code != 0 {
			return fmt.Errorf("validate: exit %d: %s", v.code, v.stderr)
		}
		ratios = append(ratios, ch.wall.Seconds()/v.wall.Seconds())
		walls, vals = append(walls, ch.wall.Seconds()), append(vals, v.wall.Seconds())
		rss = append(rss, mib(ch.peak()))
		logf("resume %d rows: %.2f s, peak RSS %.1f MiB; validate %.2f s: %.2f×", big.rows, ch.wall.Seconds(), mib(ch.peak()), v.wall.Seconds(), ratios[i])
	}
	nb := fmt.Sprintf("%dk rows", big.rows/1000)
	rep.add("--resume of a finished "+nb+" run / validate of the same file (in turn, median of the pairs)", "≤ 8×", median(ratios), "×", median(ratios) <= 8)
	rep.add("--resume of a finished "+nb+" run: peak RSS", "≤ 256 MiB", median(rss), "MiB", median(rss) <= 256)
	rep.note("--resume of a finished %s run: %.2f s; validate of the same file: %.2f s (medians)", nb, median(walls), median(vals))
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
		"≥ 1.8×", p/g, "×", p/g >= 1.8)
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
	rep.info("validate, "+n, median(walls), "s")
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
