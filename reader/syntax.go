package reader

import (
	"bytes"
	"encoding/csv"
	"fmt"
)

// syntaxError turns an encoding/csv syntax error into a FileError naming
// the line where the broken field starts and its column. csv.ParseError
// gives the record's first line and the line of the offending quote; for an
// unclosed quote that is the end of the file, useless to a person. So the
// record's bytes (from the tee) are scanned again with the same rules to
// find the field.
func (s *source) syntaxError(pe *csv.ParseError, from int64, names []string) *FileError {
	raw, _ := s.tee.held(from, s.tee.off)
	f, ok := locate(raw, byte(s.comma), pe.StartLine)
	if !ok {
		// Not found again (the row was too long to hold): fall back to
		// what encoding/csv says.
		return &FileError{Name: s.name, Line: pe.StartLine + s.lineOffset, Msg: fmt.Sprintf("CSV syntax error: %v", pe.Err)}
	}
	col := fmt.Sprintf("column %d", f.field)
	if f.field <= len(names) && names[f.field-1] != "" {
		col += " (" + names[f.field-1] + ")"
	}
	var msg string
	switch f.kind {
	case kindBare:
		msg = fmt.Sprintf(`a " inside unquoted field %s; quote the whole field and double the quotes inside ("")`, col)
	case kindUnclosed:
		msg = fmt.Sprintf(`quoted field %s starts here and its quote is never closed`, col)
	default:
		msg = fmt.Sprintf(`a " inside quoted field %s, which starts here, is not doubled ("")`, col)
	}
	if f.backslash {
		msg += `; it looks like MySQL-style backslash-escaped quotes (\"): export with quotes doubled ("") instead`
	}
	return &FileError{Name: s.name, Line: f.line + s.lineOffset, Column: f.field, Msg: "CSV syntax error: " + msg}
}

type brokenKind int

const (
	kindBare brokenKind = iota + 1
	kindQuote
	kindUnclosed
)

type brokenField struct {
	kind      brokenKind
	field     int // 1-based
	line      int // where the field starts
	backslash bool
}

// locate scans one record the way encoding/csv (LazyQuotes off) does and
// returns the first field it would refuse. raw may start with blank lines,
// which encoding/csv skips; line is the record's first line.
func locate(raw []byte, comma byte, line int) (brokenField, bool) {
	raw = skipBlankLines(raw)
	field := 1
	i := 0
	for {
		start := line
		if i < len(raw) && raw[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(raw[i:], '"')
				if j < 0 {
					return brokenField{kind: kindUnclosed, field: field, line: start, backslash: bytes.Contains(raw[i:], []byte(`\"`))}, true
				}
				line += bytes.Count(raw[i:i+j], []byte{'\n'})
				q := i + j
				i = q + 1
				switch {
				case i < len(raw) && raw[i] == '"':
					i++
					continue
				case i == len(raw):
					return brokenField{}, false
				case raw[i] == comma:
					i++
					field++
				case raw[i] == '\n' || (raw[i] == '\r' && i+1 < len(raw) && raw[i+1] == '\n'):
					return brokenField{}, false
				case raw[i] == '\r' && i+1 == len(raw):
					return brokenField{}, false
				default:
					return brokenField{kind: kindQuote, field: field, line: start, backslash: q > 0 && raw[q-1] == '\\'}, true
				}
				break
			}
			continue
		}
		k := bytes.IndexAny(raw[i:], string([]byte{comma, '\n'}))
		end := len(raw)
		if k >= 0 {
			end = i + k
		}
		if q := bytes.IndexByte(raw[i:end], '"'); q >= 0 {
			return brokenField{kind: kindBare, field: field, line: start, backslash: i+q > 0 && raw[i+q-1] == '\\'}, true
		}
		if k < 0 || raw[end] == '\n' {
			return brokenField{}, false
		}
		i = end + 1
		field++
	}
}

// skipBlankLines drops the empty lines encoding/csv skips before a record.
func skipBlankLines(raw []byte) []byte {
	for {
		switch {
		case bytes.HasPrefix(raw, []byte("\n")):
			raw = raw[1:]
		case bytes.HasPrefix(raw, []byte("\r\n")):
			raw = raw[2:]
		default:
			return raw
		}
	}
}

// splitRecord splits the bytes of one record that encoding/csv has already
// accepted (apart from its field count) into fields, with encoding/csv's
// rules: "" inside quotes is ", CRLF inside quotes is LF, a CRLF ending the
// line is dropped. It is much cheaper than a new csv.Reader per ragged row.
func splitRecord(raw []byte, comma byte) []string {
	raw = skipBlankLines(raw)
	var fields []string
	i := 0
	for {
		if i < len(raw) && raw[i] == '"' {
			i++
			var f []byte
			for i < len(raw) {
				if raw[i] == '"' {
					if i+1 < len(raw) && raw[i+1] == '"' {
						f = append(f, '"')
						i += 2
						continue
					}
					i++
					break
				}
				f = append(f, raw[i])
				i++
			}
			fields = append(fields, string(bytes.ReplaceAll(f, []byte("\r\n"), []byte("\n"))))
		} else {
			j := i
			for j < len(raw) && raw[j] != comma && raw[j] != '\n' {
				j++
			}
			f := raw[i:j]
			if j == len(raw) || raw[j] == '\n' {
				f = bytes.TrimSuffix(f, []byte("\r"))
			}
			fields = append(fields, string(f))
			i = j
		}
		if i < len(raw) && raw[i] == comma {
			i++
			continue
		}
		return fields
	}
}
