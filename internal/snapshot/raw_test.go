package snapshot

import "testing"

// TestMaskRawPhones: a raw snapshot masks phones held outside the
// customer* members (breaktest-2's shapes: an alternateNumber, a subject,
// a history comment) by name and by value, and keeps the ticket's id and
// dates readable.
func TestMaskRawPhones(t *testing.T) {
	in := `{"history":[{"comment":"customer said call 9988776655"}],"task_details":{"ticketId":"713500000001",` +
		`"date":"08-06-2024 16:27","alternateNumber":"+91 98765 43210","subject":"Call me at 9812345678"}}`
	want := `{"history":[{"comment":"customer said call [masked]"}],"task_details":{"alternateNumber":"[masked]",` +
		`"date":"08-06-2024 16:27","subject":"Call me at [masked]","ticketId":"713500000001"}}`
	if got := maskRaw([]byte(in)); got != want {
		t.Errorf("maskRaw:\n got %s\nwant %s", got, want)
	}
}
