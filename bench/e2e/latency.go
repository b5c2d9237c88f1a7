package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

const apiLatency = 20 * time.Millisecond

func latency(c config, rep *report) error {
	in := genFile(c, c.size(100_000, 20_000))
	ideal := float64(c.workers*c.batch) / apiLatency.Seconds()
	var rates []float64
	for i := 0; i < c.runs; i++ {
		ch, _, err := sendAll(c, in, kapturetest.Options{Latency: apiLatency}, 0)
		if err != nil {
			return err
		}
		rates = append(rates, float64(in.rows)/ch.wall.Seconds())
		logf("latency %v, %d rows: %.0f rows/s (ideal %.0f)", apiLatency, in.rows, rates[i], ideal)
	}
	var base []float64
	n := c.size(300, 100)
	for i := 0; i < c.runs; i++ {
		r, err := sequential(n)
		if err != nil {
			return err
		}
		base = append(base, r)
		logf("sequential baseline, %d rows: %.1f rows/s", n, r)
	}
	share := median(rates) / ideal
	rep.info(fmt.Sprintf("20 ms latency: share of workers×batch/latency = %.0f rows/s", ideal), 100*share, "%")
	rep.info("20 ms latency: vs sequential one-row-per-request", median(rates)/median(base), "×")
	rep.note("20 ms latency: %.0f rows/s; sequential baseline (%d rows): %.1f rows/s", median(rates), n, median(base))

	// Real-world latencies: 30 s of rows at the ideal rate each, so that
	// what a run pays once (starting, the first payloads that go out
	// before a worker's queue has filled, the uneven share of rows
	// hashing gives each worker at the end) weighs as in a migration
	// rather than in a 10-second one.
	for _, lc := range []struct {
		latency time.Duration
		workers int
	}{{100 * time.Millisecond, 8}, {300 * time.Millisecond, 32}} {
		cc := c
		cc.workers = lc.workers
		ideal := float64(cc.workers*cc.batch) / lc.latency.Seconds()
		in := genFile(c, c.size(int(30*ideal)/1000*1000, int(2*ideal)/1000*1000))
		var rates []float64
		for i := 0; i < c.runs; i++ {
			ch, st, err := sendAll(cc, in, kapturetest.Options{Latency: lc.latency}, 0)
			if err != nil {
				return err
			}
			rates = append(rates, float64(in.rows)/ch.wall.Seconds())
			logf("latency %v, %d workers, %d rows: %.0f rows/s (ideal %.0f), %d requests (%.1f rows each); first request at %v, last at %v, exit at %v",
				lc.latency, cc.workers, in.rows, rates[i], ideal, st.Requests, float64(in.rows)/float64(st.Requests),
				ch.first.Round(time.Millisecond), ch.last.Round(time.Millisecond), ch.wall.Round(time.Millisecond))
		}
		share := median(rates) / ideal
		rep.info(fmt.Sprintf("%v latency, %d workers × %d rows, %dk rows: share of the ideal %.0f rows/s", lc.latency, cc.workers, cc.batch, in.rows/1000, ideal),
			100*share, "%")
		floor, err := bareConcurrent(lc.latency, cc.workers, cc.batch, 10*time.Second)
		if err != nil {
			return err
		}
		rep.note("%v latency, %d workers: a bare Go client (one goroutine per worker, each posting %d-item payloads in a loop, nothing else) reaches %.1f%% of the ideal against the same fake; kapture-bulk %.1f%%",
			lc.latency, cc.workers, cc.batch, 100*floor, 100*share)
	}
	return nil
}

// bareConcurrent is the floor of the latency scenarios: workers goroutines
// each posting payloads of batch items in a loop for about d, reading and
// discarding the replies, against a fake with latency. It returns the
// share of the ideal workers × batch / latency they reach: what the fake
// and the machine allow, with no reading, checking or results.
func bareConcurrent(latency time.Duration, workers, batchSize int, d time.Duration) (float64, error) {
	f, err := startFake(kapturetest.Options{Latency: latency})
	if err != nil {
		return 0, err
	}
	defer f.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers + 1}}
	url := f.url + batch.Endpoint
	start := time.Now()
	stop := start.Add(d)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		sent   int
		failed error
	)
	for w := range workers {
		wg.Go(func() {
			for n := 0; time.Now().Before(stop); n++ {
				items := make([]map[string]string, batchSize)
				for i := range items {
					items[i] = map[string]string{"ticket_id": strconv.Itoa(700000000000 + (w*1_000_000+n)*batchSize + i),
						"sub_status": "CL", "queue": "", "comment": "bare", "callback_time": "", "disposition": ""}
				}
				_, err := postItems(client, url, items)
				mu.Lock()
				sent++
				if err != nil && failed == nil {
					failed = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if failed != nil {
		return 0, fmt.Errorf("bare client: %w", failed)
	}
	ideal := float64(workers) / latency.Seconds() * time.Since(start).Seconds()
	return float64(sent) / ideal, nil
}

// sequential is the deliberately simple client a quick script would be:
// one request per row, one at a time, against the same 20 ms fake.
func sequential(rows int) (float64, error) {
	f, err := startFake(kapturetest.Options{Latency: apiLatency})
	if err != nil {
		return 0, err
	}
	defer f.stop()
	url := f.url + batch.Endpoint
	start := time.Now()
	for i := 0; i < rows; i++ {
		body, err := postItems(http.DefaultClient, url, []map[string]string{{
			"ticket_id": strconv.Itoa(700000000000 + i), "sub_status": "CL", "queue": "Tier 2",
			"comment": "Closed after migration review", "callback_time": "", "disposition": "Resolved",
		}})
		if err != nil {
			return 0, err
		}
		var reply []struct {
			Status string `json:"status"`
		}
		err = json.Unmarshal(body, &reply)
		if err != nil || len(reply) != 1 || reply[0].Status != "success" {
			return 0, fmt.Errorf("row %d: %v %+v", i, err, reply)
		}
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}

// postItems posts items to url as the API's client would (its token, a
// JSON array) and returns the reply's body; it reads nothing of it.
func postItems(client *http.Client, url string, items []map[string]string) ([]byte, error) {
	body, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
