package batch

import "testing"

// TestMaskBody: every member whose name says it is about a person is
// masked, whatever its value, and every e-mail address in other text;
// the names of a ticket's codes, numbers as written and the members'
// order stay; text is escaped so that it prints safely. A body that is
// not JSON (a truncated reply) is masked member by member as found.
func TestMaskBody(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"a read's element",
			`[{"additional_info":{},"history":{"comment":"mail from a.b@example.com"},"task_details":{"ticketId":713516551148,` +
				`"substatus":"Pending","statusName":"Pending","queueName":"L2","customerName":"Priya Nair","customerEmail":"p@x.in",` +
				`"customerPhone":"+91987","assignedToName":"Ravi","mobile":null,"customer":{"id":7},"tat":1.50}}]`,
			`[{"additional_info":{},"history":{"comment":"mail from ***"},"task_details":{"ticketId":713516551148,` +
				`"substatus":"Pending","statusName":"Pending","queueName":"L2","customerName":"***","customerEmail":"***",` +
				`"customerPhone":"***","assignedToName":"***","mobile":"***","customer":"***","tat":1.50}}]`},
		{"text made safe", `{"note":"a\u001b[31m\u202eb\nc","ok":true}`, `{"note":"a\u001b[31m\u202eb\nc","ok":true}`},
		{"truncated", `[{"task_details":{"ticketId":"7135","customerName":"Priya Nair","customerEmail":"p@x.in","customerPhone":"+9198`,
			`[{"task_details":{"ticketId":"7135","customerName":"***","customerEmail":"***","customerPhone":"***"`},
		{"truncated, phones by value", `[{"task_details":{"ticketId":"713500000001","alternateNumber":"+91 98765 43210","subject":"call 9812345678","tat":"x`,
			`[{"task_details":{"ticketId":"713500000001","alternateNumber":"***","subject":"call ***","tat":"x`},
		{"not JSON, a phone", `<html>call +91 98765 43210</html>`, `<html>call ***</html>`},
		{"not JSON at all", `<html>write to p@x.in</html>`, `<html>write to ***</html>`},
		{"empty", ``, ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(maskBody([]byte(tt.in))); got != tt.want {
				t.Errorf("maskBody:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
