package kapturetest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// The mock command serves a Handler on its own server; when stopping, it
// closes the Handler first (releasing stalled requests), then the server,
// then prints the Summary.
func ExampleNewHandler() {
	h := kapturetest.NewHandler(kapturetest.Options{Reply: kapturetest.ReplyObject, Prefix: "/kapture"})
	srv := httptest.NewServer(h) // the mock uses http.Server on --addr
	defer srv.Close()
	defer h.Close() // runs first

	body := `[{"ticket_id":"713516551148","sub_status":"PS","queue":"","comment":"","callback_time":"","disposition":""}]`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+h.Path(), strings.NewReader(body))
	req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "kapture-bulk/dev")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	state, _ := h.State("713516551148")
	fmt.Println(resp.StatusCode, state["sub_status"], h.History("713516551148")[0].Request)
	fmt.Print(h.Summary())
	// Output:
	// 200 PS 1
	// requests: 1 to /kapture/update-ticket-from-other-source.html/v.2.0
	// items: 1 received, 1 applied, 0 failed
	// answers by HTTP status: 200×1
	// refused by rate limit: 0
	// order violations: 0
	// last User-Agent: kapture-bulk/dev
}
