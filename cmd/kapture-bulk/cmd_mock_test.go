package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
)

// TestMockTenantFlags: the flags of the tenant's behaviour reach the
// fake's options, and the help lists the catalogue's keys.
func TestMockTenantFlags(t *testing.T) {
	o, err := parseMock([]string{"--keep-sub-status", "0.03", "--refuse-unlisted", "--read-keys", "--read-queue", "--seed", "9"}, testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := o.options()
	if err != nil {
		t.Fatal(err)
	}
	if opts.KeepSubStatus != 0.03 || !opts.RefuseUnlisted || !opts.ReadKeys || !opts.ReadQueue || opts.Seed != 9 {
		t.Errorf("options %+v", opts)
	}
	if o, _ := parseMock(nil, testEnv(nil)); o.keepSS != 0 || o.refuseUnlisted || o.readKeys || o.readQueue {
		t.Errorf("defaults %+v: want every update applied, names read, no queue", o)
	}

	e := testEnv(nil)
	if _, err := parseMock([]string{"--help"}, e); err == nil {
		t.Fatal("--help parsed as a run")
	}
	help := e.stdout.(*bytes.Buffer).String()
	for _, want := range []string{"Get Ticket", "PS          Pending Seller    P (Pending)", "L1-Support  L1 Support", "--keep-sub-status", "--read-keys", "--read-queue", "--refuse-unlisted"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

// signalWriter keeps what is written and hands the first write over.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan string
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { w.first <- string(p) })
	return w.buf.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestMockServesReadsAndKeeps: the mock, in process, serves Get Ticket
// with keys and queue, keeps every sub-status change with
// --keep-sub-status 1, and its summary counts the reads and the kept
// sub-statuses apart.
func TestMockServesReadsAndKeeps(t *testing.T) {
	stderr := &signalWriter{first: make(chan string, 1)}
	e := testEnv(map[string]string{"KAPTURE_API_TOKEN": "rehearsal"})
	e.stderr = stderr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { // ends when ctx is cancelled below
		ran <- cmdMock(ctx, []string{"--addr", "127.0.0.1:0", "--keep-sub-status", "1", "--read-keys", "--read-queue"}, e, nil)
	}()
	var root string
	if _, err := fmt.Sscanf(<-stderr.first, "mock Kapture API listening on %s", &root); err != nil {
		t.Fatalf("first line: %v", err)
	}
	const id = "713516551148"
	start := kapturetest.NewHandler(kapturetest.Options{}) // what the ticket starts as, in any fake
	before, _ := start.Ticket(id)
	to := "CL"
	if before.SubStatus.Key == to {
		to = "P"
	}
	post := func(path, body string) string {
		req, _ := http.NewRequest(http.MethodPost, root+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Basic rehearsal")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	upd := post(kapturetest.Path, fmt.Sprintf(`[{"ticket_id":%q,"sub_status":%q,"queue":"ESC"}]`, id, to))
	var read []struct {
		TaskDetails map[string]string `json:"task_details"`
	}
	body := post(kapturetest.ReadPath, fmt.Sprintf(`{"ticket_ids":%q}`, id))
	if err := json.Unmarshal([]byte(body), &read); err != nil || len(read) != 1 {
		t.Fatalf("read %s: %v", body, err)
	}
	if d := read[0].TaskDetails; d["substatus"] != before.SubStatus.Key || d["queue"] != "ESC" || d["status"] != before.SubStatus.Status.Key {
		t.Errorf("read %v after update %s: want the kept sub-status %s as a key and queue ESC", d, upd, before.SubStatus.Key)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"requests: 1 to", "reads: 1 to " + kapturetest.ReadPath + ", 1 tickets asked, 1 found", "old sub-status kept (the reply says success): 1"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("mock's summary lacks %q:\n%s", want, stderr.String())
		}
	}
}
