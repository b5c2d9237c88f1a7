package batch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestStatsCountRateLimitedRequests: Stats.Limited counts the requests
// the API answered 429, among Requests and apart from what they cost in
// Retries.
func TestStatsCountRateLimitedRequests(t *testing.T) {
	fake := kapturetest.NewHandler(kapturetest.Options{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 { // the first two requests: rate limited, to be retried at once
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := config(&kapturetest.Server{URL: srv.URL})
	cfg.Workers, cfg.BatchSize = 1, 1
	eng, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runEngine(context.Background(), eng, knownRecords(3)); err != nil {
		t.Fatal(err)
	}
	if st := eng.Stats(); st.Limited != 2 || st.Requests != 5 || st.Retries != 2 {
		t.Errorf("Stats: %d requests, %d retries, %d limited; want 5, 2, 2", st.Requests, st.Retries, st.Limited)
	}
}
