package kapturetest_test

import (
	"fmt"
	"io"
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
	// reads: 0 to /kapture/search-ticket-by-ticket-id.html/v.2.0, 0 tickets asked, 0 found
	// answers by HTTP status: 200×1
	// refused by rate limit: 0
	// order violations: 0
	// last User-Agent: kapture-bulk/dev
}

// Get Ticket answers an array with one element per ticket that exists,
// status and sub-status as names; a hand edit (SetTicket) shows in it as
// in the replies to updates.
func ExampleHandler_SetTicket() {
	h := kapturetest.NewHandler(kapturetest.Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()

	if err := h.SetTicket("713516551148", kapturetest.Holding{SubStatus: "CO", Queue: "ESC"}); err != nil {
		fmt.Println(err)
		return
	}
	body := `{"ticket_ids":"713516551148,999999999999"}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+h.ReadPath(), strings.NewReader(body))
	req.Header.Set("Authorization", "Basic "+kapturetest.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(reply))
	// Output:
	// 200 [{"additional_info":{},"history":[],"task_details":{"ticketId":"713516551148","date":"08-06-2024 16:27","status":"Complete","substatus":"Others","disposition":"","customerName":"Neha Sharma","customerEmail":"neha.sharma39@example.com","customerPhone":"+918337625803"}}]
}
