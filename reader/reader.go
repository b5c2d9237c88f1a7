package reader

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// Reader streams the rows of one input. It is not safe for concurrent use.
// It reads records with encoding/csv and takes each column by its index in
// the header (gocsv did this by reflection, at twice the cost).
type Reader struct {
	src      *source
	hdr      *header
	pattern  *regexp.Regexp
	anchored *regexp.Regexp

	prevOff int64 // input offset where the previous row (or the header) ended
	prevEnd int   // parser line on which the previous row ended
	skipped int
	records int   // CSV records after the header, as Check counts them
	err     error // sticky: io.EOF or the FileError that stopped the stream
	keepRaw bool
	peeked  *peeked // what Peek read, for the next Next
}

// peeked is a row Peek read ahead.
type peeked struct {
	rec Record
	err error
}

// Open reads the header. It returns a *FileError when the input is refused
// as a whole, an error wrapping ErrOptions for options it cannot honour,
// and otherwise a read error.
func Open(r io.Reader, opts Options) (*Reader, error) {
	anchored, err := anchor(opts.TicketIDPattern)
	if err != nil {
		return nil, fmt.Errorf("ticket id pattern: %w: %w", err, ErrOptions)
	}
	src, err := newSource(r, opts)
	if err != nil {
		return nil, err
	}
	head, err := src.csv.Read()
	if err != nil {
		return nil, src.headerError(err)
	}
	line, _ := src.csv.FieldPos(0)
	hdr, err := analyseHeader(head, line+src.lineOffset, opts, src.name) // before the next Read reuses head
	if err != nil {
		return nil, err
	}
	rd := &Reader{src: src, hdr: hdr, pattern: opts.TicketIDPattern, anchored: anchored, keepRaw: opts.KeepRaw}
	rd.prevOff = src.csv.InputOffset()
	raw, _ := src.tee.held(0, rd.prevOff)
	rd.prevEnd = linesIn(raw)
	return rd, nil
}

// headerError explains why there is no header.
func (s *source) headerError(err error) error {
	var (
		pe *csv.ParseError
		le *limitError
	)
	switch {
	case errors.As(err, &le):
		return s.limitFileError(le, 0, nil)
	case errors.Is(err, io.EOF):
		msg := "the file is empty (no header line)"
		if s.lineOffset > 0 {
			msg = "the file is empty after its sep= line (no header line)"
		}
		return &FileError{Name: s.name, Msg: msg}
	case errors.As(err, &pe):
		return s.syntaxError(pe, 0, nil)
	}
	return fmt.Errorf("read %s: %w", s.name, err)
}

// RawHeader returns the header's cells as found, before normalisation.
func (r *Reader) RawHeader() []string { return append([]string(nil), r.hdr.raw...) }

// Delimiter returns the delimiter the input is read with: given in
// Options, or detected.
func (r *Reader) Delimiter() rune { return r.src.comma }

// LeftOut returns the extra columns present but not sent, in header order.
func (r *Reader) LeftOut() []string { return append([]string(nil), r.hdr.leftOut...) }

// Skipped returns how many blank lines and all-empty rows after the header
// have been skipped so far.
func (r *Reader) Skipped() int { return r.skipped }

// Records returns how many CSV records after the header have been read so
// far, all-empty rows included: at the end, what Check returns for the
// same bytes.
func (r *Reader) Records() int { return r.records }

// Next returns the next row. A row that breaks a rule comes back with
// Invalid set, never as an error. The error is io.EOF at the end, a
// *FileError for a CSV syntax error or a record over MaxRecordBytes (the
// stream stops there: what follows a broken quote cannot be trusted), or a
// read error.
func (r *Reader) Next() (Record, error) {
	if p := r.peeked; p != nil {
		r.peeked = nil
		return p.rec, p.err
	}
	if r.err != nil {
		return Record{}, r.err
	}
	for {
		r.src.tee.keep = r.prevOff
		fields, err := r.src.csv.Read()
		off := r.src.csv.InputOffset()
		raw, complete := r.src.tee.held(r.prevOff, off)
		from := r.prevOff
		if err != nil {
			var (
				pe *csv.ParseError
				le *limitError
			)
			switch {
			case errors.As(err, &le):
				r.err = r.src.limitFileError(le, from, r.hdr.names)
				return Record{}, r.err
			case errors.Is(err, io.EOF):
				r.skipped += linesIn(raw) // trailing blank lines
				r.err = io.EOF
				return Record{}, r.err
			case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
				r.records++
				r.advance(pe.StartLine, raw, off)
				rec, ok := r.ragged(pe.StartLine, raw, complete)
				if !ok {
					r.skipped++
					continue
				}
				r.keep(&rec, raw, complete)
				return rec, nil
			case errors.As(err, &pe):
				r.err = r.src.syntaxError(pe, from, r.hdr.names)
				return Record{}, r.err
			default:
				r.err = fmt.Errorf("read %s: %w", r.src.name, err)
				return Record{}, r.err
			}
		}
		r.records++
		line, _ := r.src.csv.FieldPos(0)
		r.advance(line, raw, off)
		r.hdr.unescape(fields)
		rec, ok := r.build(line, fields, off-from)
		if !ok {
			r.skipped++
			continue
		}
		r.keep(&rec, raw, complete)
		return rec, nil
	}
}

// Peek returns what the next call of Next will return, without consuming
// it: a caller can tell an input with no data rows (io.EOF) before it
// commits to anything.
func (r *Reader) Peek() (Record, error) {
	if r.peeked == nil {
		rec, err := r.Next()
		r.peeked = &peeked{rec, err}
	}
	return r.peeked.rec, r.peeked.err
}

// keep sets rec.Raw, with Options.KeepRaw, from the row's bytes. They are
// all held for any row within MaxRecordBytes (the tee holds more), so an
// incomplete raw only comes with a row the limits already refused.
func (r *Reader) keep(rec *Record, raw []byte, complete bool) {
	if r.keepRaw && complete {
		rec.Raw = splitRecord(raw, byte(r.src.comma))
		r.hdr.unescape(rec.Raw)
	}
}

// advance moves past a row that started on line and spans raw (with the
// blank lines before it), counting those blank lines as skipped.
func (r *Reader) advance(line int, raw []byte, off int64) {
	if blank := line - r.prevEnd - 1; blank > 0 {
		r.skipped += blank
	}
	end := r.prevEnd + linesIn(raw)
	if end < line {
		end = line // raw was not all held: at least the first line
	}
	r.prevEnd = end
	r.prevOff = off
}

// build trims and validates one row, fields (as many as the header has
// columns). ok is false for an all-empty row. size is the bytes of input
// the row came from (see bound).
func (r *Reader) build(line int, fields []string, size int64) (Record, bool) {
	ix := &r.hdr.doc
	rec := Record{
		Line:         line + r.src.lineOffset,
		TicketID:     trim(fields[ix.ticketID]),
		SubStatus:    trim(fields[ix.subStatus]),
		Queue:        trim(field(fields, ix.queue)),
		Comment:      field(fields, ix.comment), // verbatim: newlines and indentation are the agent's text
		CallbackTime: trim(field(fields, ix.callbackTime)),
		Disposition:  trim(field(fields, ix.disposition)),
	}
	if rec.TicketID == "" && rec.SubStatus == "" && rec.Queue == "" && rec.CallbackTime == "" &&
		rec.Disposition == "" && trim(rec.Comment) == "" && r.othersEmpty(fields) {
		return rec, false
	}
	var inv string
	inv = also(inv, ticketProblem(rec.TicketID, r.pattern, r.anchored))
	if rec.SubStatus == "" {
		inv = also(inv, "sub_status is empty")
	} else {
		inv = also(inv, cellProblem(colSubStatus, rec.SubStatus, false))
	}
	inv = also(inv, cellProblem(colQueue, rec.Queue, false))
	if nullMarker(trim(rec.Comment)) {
		inv = also(inv, cellProblem(colComment, trim(rec.Comment), true))
	} else {
		inv = also(inv, cellProblem(colComment, rec.Comment, true))
	}
	inv = also(inv, callbackProblem(rec.CallbackTime))
	inv = also(inv, cellProblem(colDisposition, rec.Disposition, false))
	if len(r.hdr.sent) > 0 {
		rec.Extra = make([]Field, 0, len(r.hdr.sent))
		for _, i := range r.hdr.sent {
			name := r.hdr.names[i]
			val := trim(fields[i])
			rec.Extra = append(rec.Extra, Field{Name: name, Value: val})
			inv = also(inv, cellProblem(name, val, true))
		}
	}
	// Extra columns that are not sent are not checked: a helper column
	// full of #N/A must not stop rows whose sent values are fine.
	for _, i := range r.hdr.unnamed {
		if val := trim(fields[i]); val != "" {
			inv = also(inv, fmt.Sprintf("column %d has no header but holds %s; name the column or clear it", i+1, quote(val)))
		}
	}
	rec.Invalid = inv
	bound(&rec, size)
	return rec, true
}

// ragged builds the record of a row whose field count differs from the
// header's from its bytes, parsed again (rare: only for such rows), to fill
// the record as far as possible for the results.
func (r *Reader) ragged(line int, raw []byte, complete bool) (Record, bool) {
	var fields []string
	if complete {
		fields = splitRecord(raw, byte(r.src.comma))
		r.hdr.unescape(fields)
	}
	empty := complete
	for _, f := range fields {
		if trim(f) != "" {
			empty = false
			break
		}
	}
	if empty {
		return Record{}, false
	}
	rec := Record{Line: line + r.src.lineOffset}
	for _, i := range r.hdr.sent {
		if i < len(fields) {
			rec.Extra = append(rec.Extra, Field{Name: r.hdr.names[i], Value: trim(fields[i])})
		}
	}
	for i, name := range r.hdr.names {
		if i >= len(fields) {
			break
		}
		v := trim(fields[i])
		switch name {
		case colTicketID:
			rec.TicketID = v
		case colSubStatus:
			rec.SubStatus = v
		case colQueue:
			rec.Queue = v
		case colComment:
			rec.Comment = fields[i]
		case colCallbackTime:
			rec.CallbackTime = v
		case colDisposition:
			rec.Disposition = v
		}
	}
	got := "?"
	if complete {
		got = strconv.Itoa(len(fields))
	}
	rec.Invalid = fmt.Sprintf("line %d has %s fields but the header has %d; a delimiter or quote is missing or extra in this row", rec.Line, got, len(r.hdr.names))
	bound(&rec, 0) // splitRecord's fields pin nothing bigger
	return rec, true
}

// othersEmpty reports whether every column other than the documented ones
// is empty (after trimming) in fields.
func (r *Reader) othersEmpty(fields []string) bool {
	for _, i := range r.hdr.others {
		if trim(fields[i]) != "" {
			return false
		}
	}
	return true
}

// also appends one more problem to a row's message.
func also(inv, p string) string {
	switch {
	case p == "":
		return inv
	case inv == "":
		return p
	}
	return inv + "; " + p
}

// Check reads the whole input with bare encoding/csv, decoded and split
// exactly as Open does, and returns the first *FileError (not text, header
// refused, CSV syntax error, a record over the limits) or nil, and how
// many records it read after the header (as Reader.Records counts them).
// Row-level problems are left to Next. It is meant to run before anything
// is sent, so a broken file is refused whole.
func Check(r io.Reader, opts Options) (records int, err error) {
	if _, err := anchor(opts.TicketIDPattern); err != nil {
		return 0, fmt.Errorf("ticket id pattern: %w: %w", err, ErrOptions)
	}
	src, err := newSource(r, opts)
	if err != nil {
		return 0, err
	}
	head, err := src.csv.Read()
	if err != nil {
		return 0, src.headerError(err)
	}
	line, _ := src.csv.FieldPos(0)
	hdr, err := analyseHeader(head, line+src.lineOffset, opts, src.name)
	if err != nil {
		return 0, err
	}
	prev := src.csv.InputOffset()
	for ; ; records++ {
		src.tee.keep = prev
		_, err := src.csv.Read()
		if err != nil {
			var (
				pe *csv.ParseError
				le *limitError
			)
			switch {
			case errors.As(err, &le):
				return records, src.limitFileError(le, prev, hdr.names)
			case errors.Is(err, io.EOF):
				return records, nil
			case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
				// a row-level problem: Next reports it
			case errors.As(err, &pe):
				return records, src.syntaxError(pe, prev, hdr.names)
			default:
				return records, fmt.Errorf("read %s: %w", src.name, err)
			}
		}
		prev = src.csv.InputOffset()
	}
}
