package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// pacing runs the pacer's scenarios c selects: a fixed rate against
// strict limits (rate), --rate auto against an unknown limit over an
// input of mid rows (auto), and both against random 429s (spurious).
func pacing(c config, mid int, rep *report) error {
	for _, s := range []struct {
		name string
		run  func() error
	}{
		{"rate", func() error { return rateAdherence(c, rep) }},
		{"auto", func() error { return autoRate(c, genFile(c, mid), rep) }},
		{"spurious", func() error { return spurious429s(c, rep) }},
	} {
		if !c.want(s.name) {
			continue
		}
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// rateAdherence runs a fixed --rate against servers that enforce that
// rate, a bucket of two tokens and strict ones of one, and measures the
// rate served between the first and the last arrival, and the refusals.
func rateAdherence(c config, rep *report) error {
	secs := c.size(10, 4)
	// Servers enforcing r requests/s with a token bucket of one token (it
	// refuses a request that arrives even a fraction of a millisecond
	// before 1/r since the previous one), and, for comparison, one of two
	// tokens at 20/s (it lets one request come early: how API gateways
	// are usually configured).
	for _, tc := range []struct {
		rate  float64
		burst int
	}{{20, 2}, {5, 1}, {20, 1}, {50, 1}} {
		in := genFile(c, int(tc.rate)*c.batch*secs)
		var achieved, refused []float64
		for i := 0; i < c.runs; i++ {
			f, err := startFake(kapturetest.Options{RateLimit: tc.rate, RateBurst: tc.burst})
			if err != nil {
				return err
			}
			results := strings.TrimSuffix(in.path, ".csv") + ".results.csv"
			ch, err := runBin(c, nil, append(c.sendArgs(f.url, results, tc.rate), in.path)...)
			f.stop()
			if err != nil {
				return err
			}
			st := f.h.Stats()
			if ch.code != 0 || st.Applied != in.rows {
				return fmt.Errorf("rate run: exit %d, %d applied; stderr:\n%s", ch.code, st.Applied, ch.stderr)
			}
			// The rate of served requests between the first and the last
			// request the fake saw (n requests span n-1 intervals).
			got := float64(st.Requests-st.RateLimited-1) / f.last.Sub(f.first).Seconds()
			achieved = append(achieved, got)
			refused = append(refused, float64(st.RateLimited))
			logf("rate %v/s, server burst %d, for %d s: achieved %.2f requests/s, %d refused (429), %d requests, wall %.1f s",
				tc.rate, tc.burst, secs, got, st.RateLimited, st.Requests, ch.wall.Seconds())
		}
		share := median(achieved) / tc.rate
		rep.add(fmt.Sprintf("--rate %v against a server enforcing %v/s, bucket %d: achieved", tc.rate, tc.rate, tc.burst), "≥ 98%", 100*share, "%", share >= 0.98)
		rep.add(fmt.Sprintf("  refused requests (429), %v/s, bucket %d", tc.rate, tc.burst), "0", median(refused), "", median(refused) == 0)
	}
	return nil
}

// autoRate runs --rate auto against an API limited to 30 requests/s with
// 50 ms of latency, its bucket of one token and of ten, and counts the
// requests served in the first minute after the first arrived, the ramp
// included. The input lasts longer than that minute even at the limit.
func autoRate(c config, in input, rep *report) error {
	const limit = 30.0
	window := time.Duration(c.size(60, 15)) * time.Second
	for _, burst := range []int{1, 10} {
		var shares, refused, settled []float64
		for i := 0; i < c.runs; i++ {
			f, err := startFake(kapturetest.Options{RateLimit: limit, RateBurst: burst, Latency: 50 * time.Millisecond})
			if err != nil {
				return err
			}
			results := strings.TrimSuffix(in.path, ".csv") + ".results.csv"
			summary := strings.TrimSuffix(in.path, ".csv") + ".summary.json"
			args := []string{"run", "--base-url", f.url, "--batch-size", strconv.Itoa(c.batch), "--workers", strconv.Itoa(c.workers),
				"--rate", "auto", "--quiet", "--overwrite", "--results", results, "--summary-json", summary, in.path}
			ch, err := runBin(c, nil, args...)
			f.stop()
			if err != nil {
				return err
			}
			st := f.h.Stats()
			if ch.code != 0 || st.Applied != in.rows || st.OrderViolations != 0 {
				return fmt.Errorf("auto run: exit %d, %d applied, %d order violations; stderr:\n%s", ch.code, st.Applied, st.OrderViolations, ch.stderr)
			}
			var sum struct {
				Settled float64 `json:"settled_rate"`
			}
			if b, err := os.ReadFile(summary); err != nil || json.Unmarshal(b, &sum) != nil {
				return fmt.Errorf("auto run: no summary: %v", err)
			}
			share := float64(f.servedWithin(window)) / window.Seconds() / limit
			shares = append(shares, share)
			refused = append(refused, float64(st.RateLimited))
			settled = append(settled, sum.Settled)
			logf("--rate auto, API %v/s bucket %d: %.1f%% of the limit over the first %v, %d refused in all, settled at %.2f, wall %.1f s",
				limit, burst, 100*share, window, st.RateLimited, sum.Settled, ch.wall.Seconds())
		}
		rep.add(fmt.Sprintf("--rate auto, API at %v/s, bucket %d, 50 ms latency: average over %v, ramp included", limit, burst, window),
			"≥ 85%", 100*median(shares), "%", median(shares) >= 0.85)
		rep.add(fmt.Sprintf("  refused requests (429) in all, bucket %d", burst), "≤ 10", median(refused), "", median(refused) <= 10)
		rep.note("--rate auto, bucket %d: settled at %.2f requests/s (median; %.0f%% of the limit)", burst, median(settled), 100*median(settled)/limit)
	}
	return nil
}

// spurious429s is issue 20's run with the built binary: 3,000 rows, 3 a
// payload, 4 workers, at --rate 60 and --rate auto, against an API with no
// limit that answers 3% of requests 429 (Retry-After 1 s) at random, as
// other integrations sharing the tenant's limit cause. Each 429 pauses
// every worker, so the run takes at least what its requests take at the
// rate plus a second a 429; the target is at most twice that at --rate 60
// for --rate 60, three times for --rate auto (it takes the first 429s for
// the limit's until it has fallen under 70% of what the API served).
func spurious429s(c config, rep *report) error {
	in := genFile(c, c.size(3000, 600))
	for _, r := range []string{"60", "auto"} {
		var walls, ratios, refused []float64
		for i := 0; i < c.runs; i++ {
			f, err := startFake(kapturetest.Options{Faults: kapturetest.Faults{TooMany: 0.03}, Seed: uint64(i + 1)})
			if err != nil {
				return err
			}
			results := strings.TrimSuffix(in.path, ".csv") + ".results.csv"
			args := []string{"run", "--base-url", f.url, "--batch-size", "3", "--workers", "4", "--rate", r,
				"--max-retries", "100", "--quiet", "--overwrite", "--results", results, in.path}
			ch, err := runBin(c, nil, args...)
			f.stop()
			if err != nil {
				return err
			}
			st := f.h.Stats()
			if ch.code != 0 || st.Applied != in.rows {
				return fmt.Errorf("spurious 429s, --rate %s: exit %d, %d applied; stderr:\n%s", r, ch.code, st.Applied, ch.stderr)
			}
			n := st.Faults[kapturetest.FaultTooMany]
			ideal := float64(st.Requests)/60 + float64(n)
			walls = append(walls, ch.wall.Seconds())
			ratios = append(ratios, ch.wall.Seconds()/ideal)
			refused = append(refused, float64(n))
			logf("--rate %s, no limit, 3%% refused at random: %d rows in %.1f s, %d requests, %d refused (at 60/s with their pauses: %.1f s)",
				r, in.rows, ch.wall.Seconds(), st.Requests, n, ideal)
		}
		most := 2.0
		if r == "auto" {
			most = 3
		}
		rep.add(fmt.Sprintf("--rate %s, no limit, 3%% 429s at random, %d rows: wall ÷ (requests at 60/s + 1 s a 429)", r, in.rows),
			fmt.Sprintf("≤ %.0f×", most), median(ratios), "×", median(ratios) <= most)
		rep.note("--rate %s with 3%% random 429s: %.1f s wall (median), %.0f refused", r, median(walls), median(refused))
	}
	return nil
}
