package reader

import (
	"errors"
	"io"
)

// ErrChanged marks a read of an input file that found it other than an
// earlier read of the same file did (cut short, or rewritten in place,
// between the two): what the earlier read decided no longer holds, and
// a person must look (exit 3: once the file is whole, try again).
var ErrChanged = errors.New("the input changed while it was read")

// EndedShort reports whether r, at the input's end, has read fewer than
// records CSV records after the header: an earlier read of the same file
// (Check, or a Reader's Records) found that many, so the file was cut
// short or rewritten in place since. A reader not at the end makes no
// claim (false).
func (r *Reader) EndedShort(records int) bool {
	_, err := r.Peek()
	return errors.Is(err, io.EOF) && r.records < records
}
