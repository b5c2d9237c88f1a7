// Package reader streams a CSV of ticket updates into Records: it decodes
// the bytes, finds the delimiter, normalises the header, tracks physical
// line numbers and validates every row. A bad row becomes an invalid Record;
// only a file that cannot be read as CSV at all is refused. Its memory is
// bounded whatever the input: see MaxRecordBytes, MaxColumns and
// MaxObjectBytes.
package reader

import (
	"fmt"
	"regexp"
)

// Options configure one read. The zero value reads UTF-8 (or UTF-16 with a
// BOM), detects the delimiter and sends no extra columns.
type Options struct {
	// Name names the input in messages: a path, or "stdin".
	Name string
	// Delimiter overrides detection when non-zero: ',', ';', '\t' or '|'.
	Delimiter rune
	// Encoding is "", "utf-8" or "windows-1252" (case-insensitive).
	Encoding string
	// ExtraColumns are normalised names of extra columns to send; AllExtra
	// sends every extra column.
	ExtraColumns []string
	AllExtra     bool
	// TicketIDPattern replaces the digits-only rule when non-nil; it must
	// match the whole trimmed ticket_id.
	TicketIDPattern *regexp.Regexp
	// KeepRaw keeps every row's cells as found in Record.Raw, for a
	// caller that writes rows back in the input's own columns.
	KeepRaw bool

	// kind is what a file OpenRecords reads should be ("a names file"),
	// for the messages that say what to give instead; "": an input.
	kind string
}

// Field is one extra column sent with a row.
type Field struct {
	Name, Value string
}

// Record is one data row of the input.
type Record struct {
	// Line is the physical line on which the row starts (header = 1).
	Line int
	// The documented columns, trimmed of spaces, tabs and NBSP, except
	// Comment, which is kept verbatim (newlines included).
	TicketID, SubStatus, Queue, Comment, CallbackTime, Disposition string
	// Extra holds the extra columns to send, in the order of their
	// names (so that the order of the columns changes no row's object).
	Extra []Field
	// Raw holds the row's cells as found (decoded, untrimmed, unquoted;
	// in a failed rows file, without the ' of EscapeCell), one per column
	// it has, when Options.KeepRaw is set; nil otherwise.
	Raw []string
	// Invalid is empty for a valid row; otherwise it says what is wrong,
	// naming the column, and the row must not be sent. A row whose request
	// object would be over MaxObjectBytes is invalid and keeps only Line,
	// Invalid and a TicketID of at most 128 bytes (else ""): no Record
	// holds much more than MaxObjectBytes of values.
	Invalid string
}

// FileError refuses a whole input: it is no text (a workbook, an archive,
// a binary file), it cannot be read as CSV, a record is over
// MaxRecordBytes or the header over MaxColumns, its header lacks a
// required column or repeats one, or it is empty. Nothing may be sent when
// Open or Next returns one.
type FileError struct {
	Name   string
	Line   int // 0 when not about a line
	Column int // 1-based; 0 when not about a column
	Msg    string
}

func (e *FileError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	}
}
