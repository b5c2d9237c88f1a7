package batch

import (
	"fmt"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
)

// ObjectReplies says how the engine reads a reply that is one JSON object
// for a payload of several items. What Kapture answers to an array of
// several items is not documented: one object for the whole payload, or
// one object about the last item it processed (the others applied or
// refused without a word). An array reply (one result per item) is read
// the same way in every mode.
type ObjectReplies uint8

const (
	// ObjectAuto, the default, trusts an object only about the ticket it
	// names. On the first object reply to a payload of several items the
	// engine sends one item per payload for the rest of the run; the item
	// the object names (ticket.ticketId) gets the object's outcome, and
	// every other item of that payload is sent again on its own before its
	// worker takes another row.
	ObjectAuto ObjectReplies = iota
	// ObjectWhole takes one object as the outcome of every item of the
	// payload; a failed object splits the payload to find the rows that
	// cause it. For a tenant where a canary has shown that one object does
	// cover the whole payload.
	ObjectWhole
	// ObjectSingle sends one item per payload from the start, so every
	// reply is about exactly one row.
	ObjectSingle
)

// String returns the name ParseObjectReplies takes.
func (m ObjectReplies) String() string {
	switch m {
	case ObjectAuto:
		return "auto"
	case ObjectWhole:
		return "whole"
	case ObjectSingle:
		return "single"
	}
	return fmt.Sprintf("ObjectReplies(%d)", int(m))
}

// ParseObjectReplies parses "auto", "whole" or "single" (any case,
// surrounding space ignored).
func ParseObjectReplies(s string) (ObjectReplies, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto":
		return ObjectAuto, nil
	case "whole":
		return ObjectWhole, nil
	case "single":
		return ObjectSingle, nil
	}
	return 0, fmt.Errorf("object replies %q: want auto, whole or single", s)
}

// The reply forms Stats.ReplyForm names.
const (
	replyFormArray  = "array"
	replyFormObject = "object"
	replyFormMixed  = "mixed"
)

// form is the shape of a reply body that was read as a reply.
type form uint8

const (
	formNone   form = iota // no reply body read (network, 5xx, 429, auth, unreadable)
	formArray              // a JSON array, one result per item
	formObject             // one JSON object
)

// batchSize is the number of items a new payload may carry now.
func (e *Engine) batchSize() int { return int(e.size.Load()) }

// noteReply records the form of a reply to a payload of n items, and in
// ObjectAuto switches the engine to single-item payloads on the first
// object reply to several items.
func (e *Engine) noteReply(f form, n int) {
	switch f {
	case formArray:
		e.sawArray.Store(true)
	case formObject:
		e.sawObject.Store(true)
		if n > 1 && e.cfg.ObjectReplies == ObjectAuto && e.size.CompareAndSwap(int64(e.cfg.BatchSize), 1) {
			e.log.Warn("the API answered one object for a payload of several items, which states the outcome of one item at most: "+
				"sending one item per payload from now on, and sending again the items whose outcome it did not state",
				"reply_form", replyFormObject, "batch_size", 1)
		}
	}
}

// noteUnanswered says, the first time in a run, that an array reply left
// n items of its payload without one answer each (none, or several), so
// that they are sent again on their own: an item whose update was applied
// gets its comment posted twice. Later such replies are logged at debug
// level: an API that always answers so would fill the log.
func (e *Engine) noteUnanswered(n int) {
	say := e.log.Debug
	if e.unanswered.CompareAndSwap(false, true) {
		say = e.log.Warn
	}
	say("an array reply did not answer each item once: "+plural.Of(n, "item", "items")+" sent again (a comment may be posted twice)",
		"reply_form", replyFormArray, "items", n)
}

// replyForm names the forms of the replies seen so far.
func (e *Engine) replyForm() string {
	a, o := e.sawArray.Load(), e.sawObject.Load()
	switch {
	case a && o:
		return replyFormMixed
	case a:
		return replyFormArray
	case o:
		return replyFormObject
	}
	return ""
}
