package reader

import "strings"

// EscapeCell returns a cell as a failed rows file holds it: with a leading
// ' when it starts, after any number of 's, with = + - @, tab or CR, so
// that a spreadsheet shows it as text instead of running it as a formula
// (OWASP's CSV injection list). The reader takes that ' off again in an
// input with the ReportErrorColumn, so that running the file sends the
// original values; a cell that starts with ' for another reason is left
// as it is both ways.
func EscapeCell(s string) string {
	if formulaLike(s) {
		return "'" + s
	}
	return s
}

// UnescapeCell undoes EscapeCell, for a reader of another file whose
// cells went through it.
func UnescapeCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && formulaLike(s[1:]) {
		return s[1:]
	}
	return s
}

// formulaLike reports whether s, after any leading 's, starts with a
// character that makes a spreadsheet run the cell. The 's count, so that
// EscapeCell also marks a cell that would otherwise read back as escaped.
func formulaLike(s string) bool {
	s = strings.TrimLeft(s, "'")
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// unescape takes the ' of EscapeCell off the cells of a failed rows file;
// it leaves any other input's cells as they are.
func (h *header) unescape(cells []string) {
	if !h.escaped {
		return
	}
	for i, c := range cells {
		cells[i] = UnescapeCell(c)
	}
}
