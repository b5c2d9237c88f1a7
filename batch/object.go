package batch

import (
	"slices"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// Row is one input row ready for the wire: the JSON object sent for it,
// already encoded (reader.AppendObject).
type Row struct {
	Line     int
	TicketID string
	Object   []byte
	// SubStatus and Queue are what the object sets them to: a success
	// reply's ticket is held against them (Config.AcceptMoved). "": not
	// known, not checked.
	SubStatus, Queue string
	// Key is the row's key (the results file's name for it); the engine
	// copies it into the row's Result and reads nothing of it.
	Key rowkey.Key
}

// NewRow encodes a valid record as the object the API receives.
func NewRow(rec reader.Record) Row {
	return Row{Line: rec.Line, TicketID: rec.TicketID, SubStatus: rec.SubStatus, Queue: rec.Queue,
		Object: reader.AppendObject(make([]byte, 0, reader.ObjectSize(rec)), rec)}
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
