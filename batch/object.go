package batch

import (
	"slices"
	"unicode/utf8"

	"github.com/kapture-bulk/kapture-bulk/reader"
)

// Row is one input row ready for the wire: the JSON object sent for it,
// already encoded.
type Row struct {
	Line     int
	TicketID string
	Object   []byte
	// Fingerprint is the caller's name for the row (the results file's
	// key); the engine copies it into the row's Result and reads nothing
	// else of it.
	Fingerprint string
}

// NewRow encodes a valid record as the object the API receives (see
// AppendObject).
func NewRow(rec reader.Record) Row {
	return Row{Line: rec.Line, TicketID: rec.TicketID, Object: AppendObject(make([]byte, 0, objectSize(rec)), rec)}
}

// objectSize is about the length of rec's object, so that one allocation
// holds it.
func objectSize(rec reader.Record) int {
	n := 96 + len(rec.TicketID) + len(rec.SubStatus) + len(rec.Queue) +
		len(rec.Comment) + len(rec.CallbackTime) + len(rec.Disposition)
	for _, f := range rec.Extra {
		n += 6 + len(f.Name) + len(f.Value)
	}
	return n
}

// AppendObject appends to b the object the API receives for a valid
// record: the six documented keys in the documented example's spirit (""
// where unused), then the extra columns the user chose to send, in header
// order.
func AppendObject(b []byte, rec reader.Record) []byte {
	b = append(b, `{"ticket_id":`...)
	b = appendString(b, rec.TicketID)
	b = append(b, `,"sub_status":`...)
	b = appendString(b, rec.SubStatus)
	b = append(b, `,"queue":`...)
	b = appendString(b, rec.Queue)
	b = append(b, `,"comment":`...)
	b = appendString(b, rec.Comment)
	b = append(b, `,"callback_time":`...)
	b = appendString(b, rec.CallbackTime)
	b = append(b, `,"disposition":`...)
	b = appendString(b, rec.Disposition)
	for _, f := range rec.Extra {
		b = append(b, ',')
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendString(b, f.Value)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. It is hand-written because it
// runs for every cell of every row; it escapes what JSON requires plus
// U+2028/U+2029, and replaces invalid UTF-8 with U+FFFD (the reader makes
// such rows invalid before they get here, so that is only a backstop).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// payload appends to buf the JSON array that carries rows.
func payload(buf []byte, rows []Row) []byte {
	n := 2 + len(rows)
	for _, r := range rows {
		n += len(r.Object)
	}
	buf = slices.Grow(buf[:0], n)
	buf = append(buf, '[')
	for i, r := range rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, r.Object...)
	}
	return append(buf, ']')
}

// Payload returns the JSON array that carries rows, exactly as sent.
func Payload(rows []Row) []byte { return payload(nil, rows) }
