package batch

import "testing"

func TestMember(t *testing.T) {
	for name, want := range map[string]bool{
		"customerName": true, "customerEmail": true, "customerPhone": true, "alternateNumber": true,
		"mobile": true, "MOBILE_NO": true, "mailId": true, "contact": true, "address": true,
		"assignedToName": true, "name": true,
		"statusName": false, "substatusName": false, "queueName": false, "queue_name": false,
		"ticketNumber": false, "ticket_number": false, "ticketId": false, "subject": false, "comment": false,
	} {
		if got := PersonalMember(name); got != want {
			t.Errorf("PersonalMember(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIDMember(t *testing.T) {
	for name, want := range map[string]bool{
		"ticketId": true, "ticket_id": true, "id": true, "ID": true, "mergeTicketId": true, "ticketNumber": true, "ticket_no": true,
		"customerId": false, "subject": false, "idea": false,
	} {
		if got := TicketIDMember(name); got != want {
			t.Errorf("TicketIDMember(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestText: e-mails and phone-like runs of 7 digits or more are masked,
// with the separators a phone is written with; dates, times and short
// numbers stay.
func TestText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Call me at 9812345678", "Call me at ***"},
		{"+91 98765 43210", "***"},
		{"customer said call 9988776655.", "customer said call ***."},
		{"(022) 2345-6789 or 022.2345.6789", "*** or ***"},
		{"mail a.b@example.com, 1234567", "mail ***, ***"},
		{"08-06-2024 16:27", "08-06-2024 16:27"},
		{"2024-06-08T16:27:00Z", "2024-06-08T16:27:00Z"},
		{"08.06.2024", "08.06.2024"},
		{"order 123456, 3 items, tat 0:1:29", "order 123456, 3 items, tat 0:1:29"},
		{"", ""},
	} {
		if got := MaskPersonal(tt.in, "***"); got != tt.want {
			t.Errorf("MaskPersonal(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
