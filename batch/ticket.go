package batch

// Code is one coded field of a ticket (its status, sub-status or queue) as
// Kapture showed it: the key and the name where the API says which is
// which (an update's success reply: substatus and substatusName), or the
// value as read where it does not (a Get Ticket read: a name on most
// tenants, a key on some).
type Code struct {
	Key, Name string // as the API labels them; "" when not given
	Value     string // as read, key or name unknown
	Given     bool   // the reply carried the field at all
}

// Ticket is what Kapture says a ticket holds: a Get Ticket read, or the
// ticket an update's success reply carries.
type Ticket struct {
	ID    string
	Found bool // false: a read's reply did not have this id, or see Unread
	// Unread, when not "", says why the ticket could not be read (the
	// API's reply for it alone is over the size bound): not "not found",
	// and nothing else of it is known.
	Unread string

	Status, SubStatus, Queue Code
	Disposition              string
	DispositionGiven         bool

	// Raw is the reply's element for this ticket, with customer data
	// masked (Config.KeepRaw).
	Raw []byte
}
