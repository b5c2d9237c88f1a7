// Package snapshot owns the snapshot file (SNAP.csv): what Kapture held
// for each ticket when it was read, one row per ticket, the first read of
// a ticket kept for good. `snapshot` writes one before a job; `run
// --backup` appends each ticket's pre-image before its first row leaves;
// `undo` reads one back.
//
// File format:
//
//   - UTF-8 without BOM, comma-separated, LF, RFC 4180 quoting; every row
//     is one physical line (CR and LF in a cell become spaces), so that a
//     crash can only tear the last line. Mode 0600.
//   - Header, exactly: ticket_id,found,status,status_name,sub_status,sub_status_name,queue,queue_name,disposition,fetched_at,api
//     and, only in a file opened with OpenRaw, a last column raw.
//   - found is true or false; the other cells of a ticket not found are
//     empty. A key cell holds the key where the read gave one or a known
//     pair gives it; a name cell holds the name as read (or, where no key
//     is known, the value as read); both are empty where the read had no
//     such field (or the ticket none: no queue).
//   - fetched_at is RFC 3339 in UTC with milliseconds; api is the API
//     root the read went to, the same on every row.
//   - A cell a spreadsheet would run as a formula gets a leading ' (as
//     reader.EscapeCell gives it), which Read takes off again.
//   - raw is the read's element for the ticket as JSON, with customer data
//     masked (by the engine, and again here).
//
// No column holds customer data: names, e-mails and phones of the read
// are in none of them.
package snapshot

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// Header is the first line of a snapshot, without its newline; a file
// opened with OpenRaw has RawColumn after it.
const Header = "ticket_id,found,status,status_name,sub_status,sub_status_name,queue,queue_name,disposition,fetched_at,api"

// RawColumn is the last column of a snapshot that keeps the raw reads.
const RawColumn = "raw"

// columns is the number of cells of a row without raw.
const columns = 11

// timeFormat is fetched_at's layout: fixed width, sorts as text.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// Errors of Open, wrapped with the path.
var (
	// ErrOtherAPI: the snapshot holds reads of another API (tenant).
	ErrOtherAPI = errors.New("holds the tickets of another API")
	// ErrNotSnapshot: the file is not a snapshot (its header is not
	// Header), or a row cannot be read.
	ErrNotSnapshot = errors.New("not a snapshot file")
	// ErrNoRaw: OpenRaw of a snapshot started without the raw column.
	ErrNoRaw = errors.New("was started without the raw column")
)

// Entry is one ticket of a snapshot.
type Entry struct {
	Ticket    batch.Ticket
	FetchedAt time.Time
	API       string
	// The keys the ticket's codes stand for, as resolved when it was
	// read (NewEntry); "" where unknown. A Code's own Key is used where
	// these are "".
	StatusKey, SubStatusKey, QueueKey string
	// Line is where Read found the entry (header = 1); 0 for a new one.
	Line int
}

// NewEntry is the entry of a ticket read at at from api, its keys
// resolved through b (nil: only the keys the read labelled).
func NewEntry(t batch.Ticket, at time.Time, api string, b *names.Book) Entry {
	e := Entry{Ticket: t, FetchedAt: at, API: api}
	resolve := func(k names.Kind, c batch.Code) string {
		if b == nil {
			return c.Key
		}
		key, _ := b.ResolveIn(k, t) // an unknown or ambiguous name keeps no key: never a guess
		return key
	}
	e.StatusKey = resolve(names.Status, t.Status)
	e.SubStatusKey = resolve(names.SubStatus, t.SubStatus)
	e.QueueKey = resolve(names.Queue, t.Queue)
	return e
}

// cell is a text cell as the file holds it: one line, valid UTF-8, and a
// formula-like value escaped so that Read gives it back.
func cell(s string) string { return writer.Inert(reader.EscapeCell(s)) }

// codeCells returns the key and name cells of c, whose key was resolved
// to key.
func codeCells(c batch.Code, key string) (string, string) {
	key = cmp.Or(key, c.Key)
	name := c.Name
	if name == "" && c.Value != key {
		name = c.Value // a name as read, or a value no pair explains
	}
	return cell(key), cell(name)
}

// record returns e's cells for a file with raw or without.
func (e *Entry) record(api string, raw bool) []string {
	t := &e.Ticket
	rec := make([]string, columns, columns+1)
	rec[0] = cell(t.ID)
	rec[1] = "false"
	if t.Found {
		rec[1] = "true"
		rec[2], rec[3] = codeCells(t.Status, e.StatusKey)
		rec[4], rec[5] = codeCells(t.SubStatus, e.SubStatusKey)
		rec[6], rec[7] = codeCells(t.Queue, e.QueueKey)
		rec[8] = cell(t.Disposition)
	}
	rec[9] = e.FetchedAt.UTC().Format(timeFormat)
	rec[10] = cell(api)
	if raw {
		rec = append(rec, cell(maskRaw(t.Raw)))
	}
	return rec
}

// parseRecord reads a row's cells (columns or columns+1 of them, taken
// off their escapes) into an entry.
func parseRecord(rec []string, line int) (Entry, error) {
	for i := range rec {
		rec[i] = reader.UnescapeCell(rec[i])
	}
	e := Entry{Line: line, API: rec[10]}
	t := &e.Ticket
	t.ID = strings.TrimSpace(rec[0])
	switch {
	case t.ID == "":
		return e, columnError(1, "ticket_id is empty")
	case reader.Scientific(t.ID):
		return e, columnError(1, fmt.Sprintf("ticket_id %q is no ticket id: a spreadsheet saved the file and rewrote it; use the copy kapture-bulk wrote", t.ID))
	}
	switch strings.ToLower(rec[1]) {
	case "true":
		t.Found = true
	case "false":
	default:
		return e, columnError(2, fmt.Sprintf("found is %q, want true or false", rec[1]))
	}
	t.Status, e.StatusKey = parseCode(rec[2], rec[3])
	t.SubStatus, e.SubStatusKey = parseCode(rec[4], rec[5])
	t.Queue, e.QueueKey = parseCode(rec[6], rec[7])
	t.Disposition = rec[8]
	t.DispositionGiven = rec[8] != ""
	at, err := time.Parse(time.RFC3339, rec[9])
	if err != nil {
		return e, columnError(10, fmt.Sprintf("fetched_at %q is not an RFC 3339 time (a spreadsheet that saved the file rewrites its times: use the copy kapture-bulk wrote)", rec[9]))
	}
	e.FetchedAt = at
	if len(rec) > columns {
		t.Raw = []byte(rec[columns])
	}
	return e, nil
}

// parseCode reads a key and a name cell back: a key with its name, or,
// without a key, the name as a value (it may be a key no pair explained
// when it was read).
func parseCode(key, name string) (batch.Code, string) {
	switch {
	case key != "":
		return batch.Code{Key: key, Name: name, Given: true}, key
	case name != "":
		return batch.Code{Value: name, Given: true}, ""
	}
	return batch.Code{}, ""
}

// cellError is a row's cell that cannot be read, in column col; the
// caller adds the file and line.
type cellError struct {
	col int
	msg string
}

func (e *cellError) Error() string { return e.msg }

func columnError(col int, msg string) error { return &cellError{col, msg} }
