package writer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Done is the resume state read from an existing results file: for each
// input line, the fingerprint and status of its latest result ("latest
// wins": a later row for a line supersedes every earlier one, so a failed
// retry after a success makes the line be sent again).
//
// Its methods are safe for concurrent use, and safe on a nil *Done (which
// skips nothing), so a caller need not tell a resumed run from a fresh one.
type Done struct {
	mu      sync.Mutex
	latest  lineTable // by input line
	success int       // lines whose latest result is success
	rows    int       // results rows read
	matched int       // distinct lines Skip matched
	torn    int64     // bytes of a torn last line cut off by Open
}

// entry is the latest result of one line. Memory is the budget here (an
// entry per input line of a run of millions): the fingerprint is kept as
// its value, not as a string, and in two halves so that the struct is
// 4-aligned: with a uint32 key a map slot is 16 bytes instead of 24.
type entry struct {
	fpHi, fpLo uint32
	flags      uint8
}

func (e entry) fp() uint64 { return uint64(e.fpHi)<<32 | uint64(e.fpLo) }

const (
	flagSuccess uint8 = 1 << iota
	flagHasFP
	flagMatched
	flagPresent // set on every stored entry: a zero dense slot is no entry
)

// lineTable holds the latest entry of each line. The lines of a results
// file are dense (every input line from 2 up, appended in about input
// order), so a slice indexed by line costs 12 bytes a line with no hashing
// and no map growth (a map of a million lines peaked near 100 MiB). A line
// far past those seen so far (a hand-edited or foreign file) goes to a map
// instead, so that one huge line number cannot allocate gigabytes.
type lineTable struct {
	dense  []entry
	sparse map[uint32]entry
}

// A line is in at most one of dense and sparse: set moves a sparse line
// to dense once dense has grown past it.
func (t *lineTable) get(line uint32) (entry, bool) {
	if int(line) < len(t.dense) {
		if e := t.dense[line]; e.flags&flagPresent != 0 {
			return e, true
		}
	}
	e, ok := t.sparse[line]
	return e, ok
}

func (t *lineTable) set(line uint32, e entry) {
	e.flags |= flagPresent
	switch n := int(line); {
	case n < len(t.dense), n <= 2*len(t.dense)+1<<16:
		if n >= len(t.dense) {
			t.dense = append(t.dense, make([]entry, n+1-len(t.dense))...)
		}
		t.dense[n] = e
		delete(t.sparse, line)
	default:
		if t.sparse == nil {
			t.sparse = map[uint32]entry{}
		}
		t.sparse[line] = e
	}
}

// each calls fn for every stored entry.
func (t *lineTable) each(fn func(entry)) {
	for _, e := range t.dense {
		if e.flags&flagPresent != 0 {
			fn(e)
		}
	}
	for _, e := range t.sparse {
		fn(e)
	}
}

// Skip reports whether the input row on line, whose request object has
// the given fingerprint, is already done: the latest result for line is
// success with this fingerprint. A changed row (other fingerprint) is sent
// again.
//
// Skip also counts the line towards Matched when the fingerprint is that
// of the line's latest result, whatever its status (for a row without
// fingerprint, such as an invalid one, an empty fingerprint matches).
func (d *Done) Skip(line int, fingerprint string) bool {
	if d == nil {
		return false
	}
	var fp uint64
	hasFP := fingerprint != ""
	if hasFP {
		var ok bool
		if fp, ok = parseFingerprint(fingerprint); !ok {
			return false
		}
	}
	if line < 1 || uint64(line) > maxLine {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.latest.get(uint32(line))
	if !ok {
		return false
	}
	same := hasFP == (e.flags&flagHasFP != 0) && fp == e.fp()
	if !same {
		return false
	}
	if e.flags&flagMatched == 0 {
		e.flags |= flagMatched
		d.latest.set(uint32(line), e)
		d.matched++
	}
	return e.flags&flagSuccess != 0
}

// Recorded reports whether line has a result, whatever its status.
func (d *Done) Recorded(line int) bool {
	if d == nil || line < 1 || uint64(line) > maxLine {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.latest.get(uint32(line))
	return ok
}

// Len returns the number of lines whose latest result is success.
func (d *Done) Len() int {
	if d == nil {
		return 0
	}
	return d.success
}

// Rows returns the number of results rows read (header and torn last line
// not counted).
func (d *Done) Rows() int {
	if d == nil {
		return 0
	}
	return d.rows
}

// Matched returns the number of distinct lines Skip has been asked about
// with the fingerprint of their latest result, whether that result is a
// success or not. After the whole input has been offered to Skip,
// Rows() > 0 && Matched() == 0 means the results file belongs to another
// input. Counting failed rows too matters: a run whose rows all failed
// (the API was down) must still be resumable.
func (d *Done) Matched() int {
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.matched
}

// TornBytes returns how many bytes of a torn last line (a crash mid-write)
// Open cut off before appending; 0 when the file ended cleanly.
func (d *Done) TornBytes() int64 {
	if d == nil {
		return 0
	}
	return d.torn
}

// ReadDone reads the resume state of the results file at path without
// locking or changing it (a torn last line is left as it is, and not
// counted), for a dry run's look at what a resume would send. A missing
// file is an empty state.
func ReadDone(path string) (*Done, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Done{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("results file %q: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("results file %q: not a regular file", path)
	}
	d, _, err := load(f, path, fi.Size())
	return d, err
}

// load reads the results file f of the given size (locked by the caller)
// into a Done, and returns how many bytes of it to keep: everything up to
// its last newline, since a last line without one is torn. It streams the
// file through encoding/csv with ReuseRecord, so memory is the map only.
// It changes nothing; a malformed file is refused, naming file and line.
func load(f io.ReaderAt, path string, size int64) (*Done, int64, error) {
	d := &Done{}
	if size == 0 {
		return d, 0, nil
	}
	keep, err := lastNewline(f, size)
	if err != nil {
		return nil, 0, fmt.Errorf("read results file %q: %w", path, err)
	}
	if err := checkHeader(f, path, size); err != nil {
		return nil, 0, err
	}
	d.torn = size - keep
	if keep == 0 {
		return d, 0, nil // a torn header and nothing else
	}

	r := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(f, 0, keep), 1<<16))
	r.ReuseRecord = true
	r.FieldsPerRecord = columns
	if _, err := r.Read(); err != nil { // the header, checked above
		return nil, 0, rowErr(path, r, err)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, rowErr(path, r, err)
		}
		if err := d.add(rec); err != nil {
			line, _ := r.FieldPos(0)
			return nil, 0, &rowError{path: path, line: line, err: err}
		}
	}
	d.latest.each(func(e entry) {
		if e.flags&flagSuccess != 0 {
			d.success++
		}
	})
	return d, keep, nil
}

// add records one results row, latest wins.
func (d *Done) add(rec []string) error {
	var e entry
	switch Status(rec[1]) {
	case StatusSuccess:
		e.flags = flagSuccess
	case StatusFailed, StatusInvalid:
	default:
		return fmt.Errorf("status %q is not success, failed or invalid", rec[1])
	}
	line, ok := parseUint(rec[3])
	if !ok || line < 1 || line > maxLine {
		return fmt.Errorf("line %q is not a line number", rec[3])
	}
	if _, ok := parseUint(rec[4]); !ok && rec[4] != "" {
		return fmt.Errorf("http_status %q is not a number", rec[4])
	}
	if _, ok := parseUint(rec[5]); !ok {
		return fmt.Errorf("attempts %q is not a number", rec[5])
	}
	if fp := rec[7]; fp != "" {
		v, ok := parseFingerprint(fp)
		if !ok {
			return fmt.Errorf("fingerprint %q is not 16 lowercase hex digits", fp)
		}
		e.fpHi, e.fpLo = uint32(v>>32), uint32(v)
		e.flags |= flagHasFP
	} else if e.flags&flagSuccess != 0 {
		return errors.New("success row without a fingerprint")
	}
	d.latest.set(uint32(line), e)
	d.rows++
	return nil
}

// rowError is a malformed row of a results file: "path:line: what". It
// is an ErrNotResults, and also wraps the cause (such as a *csv.ParseError).
type rowError struct {
	path string
	line int
	err  error
}

func (e *rowError) Error() string { return fmt.Sprintf("%s:%d: %v", e.path, e.line, e.err) }

func (e *rowError) Unwrap() []error { return []error{ErrNotResults, e.err} }

// rowErr turns a csv reading error into a rowError on the line where the
// broken row starts.
func rowErr(path string, r *csv.Reader, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			msg = fmt.Sprintf("wrong number of cells, want %d", columns)
		}
		return &rowError{path: path, line: pe.StartLine, err: fmt.Errorf("%s: %w", msg, pe)}
	}
	line, _ := r.FieldPos(0)
	return fmt.Errorf("read results file %q near line %d: %w", path, line, err)
}

// lastNewline returns the offset just past the last '\n' of f (size bytes
// long), or 0 when there is none. It reads backwards in blocks, so a clean
// file costs one small read.
func lastNewline(f io.ReaderAt, size int64) (int64, error) {
	const block = 64 << 10
	buf := make([]byte, block)
	for end := size; end > 0; {
		start := max(end-block, 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// parseFingerprint parses exactly 16 lowercase hex digits: the form Write
// accepts, so that one fingerprint has one spelling.
func parseFingerprint(s string) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// parseUint parses a non-empty run of at most 19 ASCII digits (so that it
// cannot overflow).
func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
