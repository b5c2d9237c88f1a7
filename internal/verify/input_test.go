package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// changedInput is an input of n rows that set sub-status sub, each with
// a long comment: the reader's buffers do not hold the whole file.
func changedInput(n int, sub string) string {
	var b strings.Builder
	b.WriteString("ticket_id,sub_status,comment\n")
	for i := range n {
		fmt.Fprintf(&b, "7135165512%02d,%s,%s\n", i, sub, strings.Repeat("x", 12000))
	}
	return b.String()
}

// onWrite calls fn before the first write to w.
type onWrite struct {
	w  io.Writer
	fn func()
}

func (o *onWrite) Write(p []byte) (int, error) {
	if o.fn != nil {
		o.fn()
		o.fn = nil
	}
	return o.w.Write(p)
}

// TestInputChangedBetweenReads: verify reads its input two or three times
// through the one file it opened. A new export renamed over the path
// changes nothing (the verdicts and FIX.csv are of the rows read first);
// a file rewritten in place between two reads, longer, shorter or as
// long, is reader.ErrChanged, for FIX.csv would hold rows that were never
// verified. Before the fix the renamed file's rows went to FIX.csv ("wants
// CL" on rows that set PS) and a rewrite in place passed unseen.
func TestInputChangedBetweenReads(t *testing.T) {
	const n = 6
	for _, tt := range []struct {
		name    string
		when    string // "read": during the second read; "out": as VERIFY.csv is written, before the third
		rename  bool
		rows    int
		wantErr string
	}{
		{name: "renamed over", when: "read", rename: true, rows: n},
		{name: "renamed over before the third read", when: "out", rename: true, rows: n},
		{name: "rewritten in place, as long", when: "read", rows: n, wantErr: "rewritten between two reads"},
		{name: "rewritten in place, shorter", when: "read", rows: 2, wantErr: "the input changed while it was read"},
		{name: "rewritten in place, longer", when: "read", rows: n + 3, wantErr: "rewritten between two reads"},
		{name: "rewritten before the third read", when: "out", rows: n, wantErr: "rewritten between two reads"},
		{name: "cut short before the third read", when: "out", rows: 1, wantErr: "has not"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(false)
			for i := range n {
				tn.set(t, fmt.Sprintf("7135165512%02d", i), "PS", "", "")
			}
			in := writeInput(t, changedInput(n, "CL"))
			replace := func() {
				data := []byte(changedInput(tt.rows, "PS"))
				if !tt.rename {
					if err := os.WriteFile(in, data, 0o600); err != nil { // truncates the same file
						t.Error(err)
					}
					return
				}
				if err := os.WriteFile(in+".new", data, 0o600); err != nil {
					t.Error(err)
				}
				if err := os.Rename(in+".new", in); err != nil {
					t.Error(err)
				}
			}
			var out, fix bytes.Buffer
			opts := Options{Input: in, Reader: reader.Options{Name: in}, Book: book(), Batch: 2,
				Out: &out, Differs: &fix, TempDir: t.TempDir()}
			read := tn.read
			if tt.when == "read" {
				opts.Read = func(ctx context.Context, ids []string) ([]batch.Ticket, error) {
					if replace != nil {
						replace()
						replace = nil
					}
					return read(ctx, ids)
				}
			} else {
				opts.Read, opts.Out = read, &onWrite{w: &out, fn: replace}
			}
			res, err := Check(context.Background(), opts)
			if tt.wantErr != "" {
				if !errors.Is(err, reader.ErrChanged) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Check: %v; want reader.ErrChanged, …%s…", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Differs != n || res.DiffersWritten != n {
				t.Errorf("result %+v; want %d differ, all written", res, n)
			}
			if got := strings.Count(fix.String(), ",CL,"); got != n {
				t.Errorf("FIX.csv holds %d rows that set CL, want %d (the rows verified):\n%s", got, n, fix.String())
			}
		})
	}
}
