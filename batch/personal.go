// What in a Get Ticket reply is customer data, so that the engine's
// masking of a read and a raw snapshot's second masking follow one rule:
//
//   - the value of a member whose name says it is about a person (PersonalMember);
//   - in any other text, e-mail addresses and personalPhone-like numbers (MaskPersonal),
//     except in the members that hold the ticket's own id (TicketIDMember): the
//     ids a read asked for stay readable.
package batch

import (
	"regexp"
	"strings"
)

var (
	// personalEmail finds an e-mail address in free text (a history entry may
	// quote one).
	personalEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	// personalPhone finds a run of 7 digits or more, with + ( ) - . or spaces
	// between them: "+91 98765 43210", "(022) 2345-6789", "9812345678".
	personalPhone = regexp.MustCompile(`[+(]*\d(?:[ +().\-]*\d){6,}`)
	// personalDate is a personalPhone-like run that is a personalDate (and an hour) as replies
	// write them: 08-06-2024 16 (of 16:27), 2024-06-08, 08.06.2024.
	personalDate = regexp.MustCompile(`^\d{1,4}([-./])\d{1,2}[-./]\d{1,4}(?: \d{1,2})?$`)
)

// personalCodeNames are the members named like a person that hold a ticket's
// codes: the tenant's configuration, and what a person checks a read for.
var personalCodeNames = map[string]bool{
	"statusname": true, "status_name": true, "substatusname": true, "sub_status_name": true,
	"queuename": true, "queue_name": true, "dispositionname": true, "disposition_name": true,
}

// Member reports whether a member's name says its value is about a person
// (case-insensitive): a name (customerName, assignedToName, but not the
// names of the ticket's codes), an e-mail (personalEmail, mailId), a personalPhone
// (customerPhone, mobile, alternateNumber, contact), an address, the
// customer. A ticket's number (ticketNumber: TicketIDMember) is not.
func PersonalMember(name string) bool {
	n := strings.ToLower(name)
	if personalCodeNames[n] {
		return false
	}
	for _, s := range []string{"name", "mail", "personalPhone", "mobile", "customer", "contact", "address"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return strings.Contains(n, "number") && !TicketIDMember(n)
}

// IDMember reports whether a member holds a ticket's id or number
// (ticketId, ticket_id, id, mergeTicketId, ticketNumber, ticket_no): its
// value is kept as it is, digits and all.
func TicketIDMember(name string) bool {
	n := strings.ToLower(name)
	if n == "id" {
		return true
	}
	return strings.Contains(n, "ticket") &&
		(strings.HasSuffix(n, "id") || strings.HasSuffix(n, "number") || strings.HasSuffix(n, "no"))
}

// Text returns s with every e-mail address and every personalPhone-like run of
// digits replaced by mask. A personalDate (and the hour after it) is not a personalPhone.
func MaskPersonal(s, mask string) string {
	s = personalEmail.ReplaceAllLiteralString(s, mask)
	return personalPhone.ReplaceAllStringFunc(s, func(run string) string {
		if personalDate.MatchString(run) {
			return run
		}
		return mask
	})
}
