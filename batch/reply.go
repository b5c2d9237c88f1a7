package batch

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// kind sorts what one HTTP exchange means for its payload. Every answer
// lands in exactly one kind.
type kind int

const (
	// kindRows: the reply gave a result per item: an array, one entry per
	// item, or (outside ObjectWhole) one object about at most one item of
	// several, the others' entries unknown.
	kindRows kind = iota
	// kindSuccess: one object saying success for the whole payload (a
	// single item, or ObjectWhole).
	kindSuccess
	// kindRejected: one object saying failed for the whole payload (a
	// single item, or ObjectWhole), or an array that attributes nothing.
	// The server judged the content, so splitting the payload finds the
	// rows that cause it.
	kindRejected
	// kindFailed: the payload failed for a reason that is not about its
	// rows and will not change on retry (a 4xx without a JSON body, e.g. a
	// wrong URL). Recorded as failed; counts towards the breaker.
	kindFailed
	// kindRetry: network error, timeout, 429, 5xx (but a 500 whose body
	// is the API's failure reply), unreadable 2xx body.
	kindRetry
	// kindAuth: 401/403 or "Invalid Auth Key": nothing more may be sent.
	kindAuth
)

// outcome is the interpretation of one HTTP exchange.
type outcome struct {
	kind       kind
	form       form // of the body read as a reply; formNone for auth refusals
	httpStatus int  // 0 when no response arrived
	message    string
	retryAfter time.Duration // from a 429's Retry-After, 0 if none
	entries    []entry       // kindRows: one per row, in payload order
	// refused (kindRejected): the API stated that the payload failed, so
	// none of it was applied; not a reply that merely names the wrong
	// tickets or items, which may have been.
	refused bool
	// shown (kindSuccess) is the ticket the success object shows, nil if
	// none, and shownAt the row it answers.
	shown   *replyTicket
	shownAt int
	// fix and suggest (kindConfig) say what to change (ConfigError).
	fix     Fix
	suggest string
	// oversize (kindRetry) is the size bound the reply was over, 0 when
	// it was not: an update's such reply is retried (it may have been
	// applied), a read's is not (the same read gets the same reply).
	oversize int64
}

// entry is the reply's word on one item.
type entry struct {
	known   bool // false: the reply stated nothing about this item
	ok      bool
	message string
	// notApplied: the API said success, but the item's ticket holds
	// something else than its row sent (see checkApplied).
	notApplied bool
	ticket     *replyTicket // a success item's ticket, nil if it shows none
}

const authMessage = "invalid auth key"

// interpret turns a status code and body into an outcome for rows, reading
// a single object as mode says. Success or failure is read from the body's
// status whatever the HTTP code, as Kapture may answer failures with 200.
func interpret(status int, header http.Header, body []byte, rows []Row, mode ObjectReplies) outcome {
	trimmed := bytes.TrimSpace(body)
	out, decided := statusOutcome(status, header, trimmed)
	if decided {
		return out
	}
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return unreadable(out, status, trimmed)
	}
	items, f, err := decodeReply(trimmed, make([]replyItem, 0, len(rows)))
	if err != nil {
		return unreadable(out, status, trimmed)
	}
	for _, it := range items {
		if isAuthMessage(it.Message) {
			out.kind = kindAuth
			out.message = it.Message
			return out
		}
	}
	out.form = f
	if f == formObject {
		return objectOutcome(out, items[0], rows, mode)
	}
	return arrayOutcome(out, items, rows)
}

// statusOutcome reads what a reply's status decides whatever its body
// (trimmed) says, whatever the endpoint: an auth
// refusal, a 429, a server in trouble. decided is false for any other.
func statusOutcome(status int, header http.Header, trimmed []byte) (out outcome, decided bool) {
	out = outcome{httpStatus: status}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		out.kind = kindAuth
		out.message = fmt.Sprintf("HTTP %d", status)
		if m := objectMessage(trimmed); m != "" {
			out.message += ": " + m
		}
		return out, true
	case status == http.StatusTooManyRequests:
		out.kind = kindRetry
		out.retryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
		out.message = "HTTP 429: rate limited"
		return out, true
	case status >= 500 && !(status == http.StatusInternalServerError && apiFailure(trimmed)):
		out.kind = kindRetry
		out.message = fmt.Sprintf("HTTP %d: %s", status, snippet(trimmed))
		return out, true
	}
	return out, false
}

// apiFailure reports whether body is the API's own statement of failure:
// an object, or an array of them, each with status "failed". The vendor
// lists 500 among the codes its failures come with, in that form: a 500
// with such a body is the API's answer, read as with any other code. A
// 500 with anything else (an HTML page, an empty body, any "success"),
// and any other 5xx (502, 503 and 504 are gateways and maintenance pages,
// which may well answer in the same shape), is a server in trouble, and
// retried.
func apiFailure(body []byte) bool {
	if len(body) == 0 || (body[0] != '{' && body[0] != '[') {
		return false
	}
	items, _, err := decodeReply(body, nil)
	return err == nil && len(items) > 0 && !slices.ContainsFunc(items, func(it replyItem) bool {
		return it.Status.twice || !strings.EqualFold(strings.TrimSpace(it.Status.word), "failed")
	})
}

// objectOutcome reads one reply object for rows. The object states the
// outcome of the ticket it names (ticket.ticketId, which success objects
// carry), or of the only item sent; whether it also covers the other
// items of a payload is what mode says. An object naming a ticket that
// was not sent states nothing about the items that were.
func objectOutcome(out outcome, it replyItem, rows []Row, mode ObjectReplies) outcome {
	ok, msg := itemResult(it)
	id := ticketID(it)
	at := -1
	for i, r := range rows {
		if id != "" && r.TicketID == id {
			at = i
			break
		}
	}
	if len(rows) == 1 || mode == ObjectWhole {
		switch {
		case id != "" && at < 0 && len(rows) == 1:
			// Unambiguous, and wrong: recorded as a failure, not re-sent.
			out.kind = kindRejected
			out.message = fmt.Sprintf("the reply names ticket %s, not the ticket sent (%s): %s", serverText(id), rows[0].TicketID, msg)
		case id != "" && at < 0:
			out.kind = kindRejected // split: single items get the message above
			out.message = fmt.Sprintf("the reply names ticket %s, which the payload does not carry: %s", serverText(id), msg)
		case ok:
			out.kind = kindSuccess
			out.message = msg
			if at < 0 && len(rows) == 1 {
				at = 0 // the only item sent, whose ticket the object does not name
			}
			if at >= 0 {
				out.shown, out.shownAt = it.Ticket, at
			}
		default:
			out.kind = kindRejected
			out.refused = true
			out.message = msg
		}
		return out
	}
	out.kind = kindRows
	out.message = msg
	out.entries = make([]entry, len(rows))
	if at >= 0 {
		out.entries[at] = entry{known: true, ok: ok, message: msg}
		if ok {
			out.entries[at].ticket = it.Ticket
		}
	}
	return out
}

// arrayOutcome reads an array reply: one result per item, in order, or
// matched by the ticket each item names (see answerOf).
func arrayOutcome(out outcome, items []replyItem, rows []Row) outcome {
	answer, byTicket := answerOf(items, rows)
	if !byTicket && len(items) != len(rows) {
		// Without one result per item nothing can be attributed;
		// splitting gets down to payloads whose replies can be.
		out.kind = kindRejected
		out.message = fmt.Sprintf("reply has %d results for %d items", len(items), len(rows))
		return out
	}
	out.entries = make([]entry, len(rows))
	failed, own := 0, 0
	for i, r := range rows {
		at := i
		if byTicket {
			if at = answer[i]; at < 0 {
				continue // answered by no item, or by several: unknown
			}
		}
		it := items[at]
		if !namesTicket(it, r.TicketID) {
			out.kind = kindRejected
			out.entries = nil
			out.message = fmt.Sprintf("reply item %d names ticket %s, sent %s", i+1, serverText(ticketID(it)), r.TicketID)
			return out
		}
		ok, msg := itemResult(it)
		out.entries[i] = entry{known: true, ok: ok, message: msg}
		if ok {
			out.entries[i].ticket = it.Ticket
		} else {
			failed++
		}
		if ticketID(it) != "" || mentions(msg, r.TicketID) {
			own++
		}
	}
	if failed == len(items) && len(items) > 1 && own < len(items) {
		// Every item failed, and not every answer is evidently about
		// its own item: an atomic API fails them all for one bad row
		// (the others saying only that they were not applied), so this
		// may say no more than a failed object would. Split to find the
		// rows that cause it. When each item names its ticket, each
		// answer stands: splitting would only ask again.
		out.kind = kindRejected
		out.refused = true
		out.message = out.entries[0].message
		out.entries = nil
		return out
	}
	out.kind = kindRows
	return out
}

// answerOf matches items to rows by the ticket each item names, when
// every item names a ticket of the payload and the payload holds each
// ticket once: answer[i] is the index of the item answering rows[i], or
// -1 when no item or several answer it (their word is not the row's
// outcome: it is sent again on its own; an empty array answers none). byTicket is false, and the
// items are to be read in order, when any item names no ticket or one
// not sent, when the payload holds a ticket twice, or when a single row
// is not answered once (sent again, it would get the same reply).
// Matching by ticket keeps what the reply does state: splitting would
// send every row again, comments twice.
func answerOf(items []replyItem, rows []Row) (answer []int, byTicket bool) {
	at := make(map[string]int, len(rows)) // ticket → its row's index
	answer = make([]int, len(rows))
	for i, r := range rows {
		if _, twice := at[r.TicketID]; twice {
			return nil, false
		}
		at[r.TicketID] = i
		answer[i] = -1
	}
	unanswered := len(rows)
	for k, it := range items {
		i, ok := at[ticketID(it)]
		switch {
		case !ok:
			return nil, false
		case answer[i] == -1:
			answer[i] = k
			unanswered--
		case answer[i] >= 0:
			answer[i] = -2 // answered twice
			unanswered++
		}
	}
	if unanswered > 0 && len(rows) == 1 {
		return nil, false
	}
	for i := range answer {
		answer[i] = max(answer[i], -1)
	}
	return answer, true
}

// mentions reports whether msg names the ticket id as a word of its own
// (not inside a longer run of letters or digits).
func mentions(msg, id string) bool {
	if id == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(msg[i:], id)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(id)
		if !wordByte(msg, start-1) && !wordByte(msg, end) {
			return true
		}
		i = start + 1
	}
}

// wordByte reports whether s[i] is an ASCII letter or digit; false
// outside s.
func wordByte(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i] | 0x20
	return '0' <= s[i] && s[i] <= '9' || 'a' <= c && c <= 'z'
}

// unreadable classifies a body that is not the JSON we expect: retried on
// 2xx (a proxy's or a truncated answer), final on 4xx.
func unreadable(out outcome, status int, body []byte) outcome {
	if status >= 200 && status < 300 {
		out.kind = kindRetry
		out.message = fmt.Sprintf("unreadable reply (HTTP %d): %s", status, snippet(body))
		return out
	}
	out.kind = kindFailed
	out.message = fmt.Sprintf("HTTP %d: %s", status, snippet(body))
	return out
}

func itemResult(it replyItem) (bool, string) {
	msg := it.Message
	st := it.Status.word
	if it.Status.twice {
		if msg == "" {
			msg = "no message"
		}
		return false, fmt.Sprintf("the reply gives this item two statuses, the last %q: %s", st, msg)
	}
	switch strings.ToLower(strings.TrimSpace(st)) {
	case "success":
		return true, msg
	case "failed":
		if msg == "" {
			msg = "failed (the API gave no message)"
		}
		return false, msg
	default:
		if msg == "" {
			msg = "no message"
		}
		return false, fmt.Sprintf("unexpected reply status %q: %s", st, msg)
	}
}

// ticketID is the ticket the item names: ticket.ticketId as a string, a
// number's digits as written, "" when the item names none.
func ticketID(it replyItem) string {
	if it.Ticket == nil {
		return ""
	}
	return it.Ticket.TicketID.text
}

// namesTicket reports whether the item names no ticket or names id.
func namesTicket(it replyItem, id string) bool {
	got := ticketID(it)
	return got == "" || got == id
}

func isAuthMessage(m string) bool {
	return strings.EqualFold(strings.TrimSpace(m), authMessage)
}

func objectMessage(body []byte) string {
	if len(body) == 0 || body[0] != '{' {
		return ""
	}
	items, _, err := decodeReply(body, nil)
	if err != nil {
		return ""
	}
	return items[0].Message
}

// snippet gives a short, printable, one-line excerpt of a body for a
// message: the <title> of an HTML page, else its first characters, made
// safe by serverText.
func snippet(body []byte) string {
	if len(body) == 0 {
		return "empty body"
	}
	const max = 120
	s := string(body[:min(len(body), 64<<10)])
	if i := strings.Index(strings.ToLower(s), "<title>"); i >= 0 {
		rest := s[i+len("<title>"):]
		if j := strings.Index(strings.ToLower(rest), "</title>"); j >= 0 {
			s = rest[:j]
		}
	}
	// Cut long before the end (escape sequences may make it shorter),
	// then to max once made safe.
	s = strings.Join(strings.Fields(serverText(s[:min(len(s), 16*max)])), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if s == "" {
		return "unprintable body"
	}
	return s
}

// maxRetryAfter clamps a server-given delay: a typo'd or hostile header
// must not park the run for hours.
const maxRetryAfter = 5 * time.Minute

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if !(secs > 0) { // also NaN
			return 0
		}
		d = time.Duration(min(secs, maxRetryAfter.Seconds()) * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
