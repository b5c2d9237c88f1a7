package run

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// Validate groups invalid rows by reason, each with its count and first
// lines, where 42 rows were 42 lines; EveryRow lists each.
func TestValidateGroupsInvalidRows(t *testing.T) {
	var in strings.Builder
	in.WriteString("ticket_id,sub_status\n")
	for i := range 42 {
		fmt.Fprintf(&in, "abc%d,CL\n", i)
	}
	in.WriteString("713516551148,\n")
	var out bytes.Buffer
	st, err := Validate("-", strings.NewReader(in.String()), reader.Options{Name: "in.csv"}, 0, &out, Grouped)
	if err != nil || st.Invalid != 43 {
		t.Fatalf("Validate = %+v, %v", st, err)
	}
	want := `invalid rows by reason (most rows first):
      42  ticket_id <value> is not a ticket id (digits only)
          in.csv lines 2, 3, 4, 5, 6 and 37 more
       1  sub_status is empty
          in.csv line 44
  (--all lists every invalid row with its own message)
`
	if out.String() != want {
		t.Errorf("listing:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if _, err := Validate("-", strings.NewReader(in.String()), reader.Options{Name: "in.csv"}, 0, &out, EveryRow); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 43 || !strings.HasPrefix(out.String(), `in.csv:2: ticket_id "abc0"`) {
		t.Errorf("EveryRow: %d lines:\n%s", n, out.String())
	}
}

// The dry run's time estimate follows --rate, --burst and the payloads,
// and says what it assumes.
func TestDryRunEstimate(t *testing.T) {
	for _, tt := range []struct {
		payloads int64
		eng      batch.Config
		want     []string
	}{
		{600, batch.Config{Rate: 5, Burst: 1, Workers: 4}, []string{"about 2m at --rate 5;", "within 800ms (--workers 4", "no retries or 429s"}},
		{11, batch.Config{Rate: 5, Burst: 1, Workers: 4}, []string{"about 2s at --rate 5"}},
		{3, batch.Config{Rate: 2, Burst: 5, Workers: 1}, []string{"about a second or less"}},
		{36001, batch.Config{Rate: 10, Burst: 1, Workers: 4}, []string{"about 1h at --rate 10"}},
		{50, batch.Config{AutoRate: true, Burst: 1, Workers: 4}, []string{"about 10s at 5 requests a second, where --rate auto starts"}},
		{50, batch.Config{Rate: 0, Workers: 4}, []string{"no estimate at --rate 0", "4 requests at a time"}},
	} {
		got := estimate(tt.payloads, tt.eng)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("estimate(%d, %+v) = %q, want %q in it", tt.payloads, tt.eng, got, w)
			}
		}
	}
	if got := roughly(100 * time.Minute); got != "1h40m" {
		t.Errorf("roughly(100m) = %q", got)
	}
}
