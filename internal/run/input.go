package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/kapture-bulk/kapture-bulk/reader"
)

// An input file is read up to three times, each a separate step: one pass
// before anything is sent (the syntax check, or for Strict the listing of
// invalid rows, which checks the syntax as it goes), a resume's index (as
// far as it must, see resume.IndexInput) or a sync run's plan, and the
// main read. Each read before the main one counts
// the records it found (runner.counted): a main read that finds the file's
// end sooner ends the run with ErrInputChanged. Stdin is read once. Only
// the main read goes through input.

// input is the input opened for the main read.
type input struct {
	r     io.Reader // counts the bytes read into Stats
	file  *os.File  // the input file, for a sync run's plan; nil for stdin
	close func()
	abort func() // abandons a blocked read of stdin; for a file, nothing
}

// openInput opens the input for the main read. stdin is read through
// abortable, so that a stop need not wait for its writer.
func (r *runner) openInput() (*input, error) {
	if r.fromStdin {
		in, abort := abortable(r.cfg.Stdin)
		return &input{r: &countingReader{r: in, n: &r.stats.bytes}, close: func() {}, abort: abort}, nil
	}
	fh, err := openFile(r.cfg.Input)
	if err != nil {
		return nil, err
	}
	return &input{r: &countingReader{r: fh, n: &r.stats.bytes}, file: fh, close: func() { fh.Close() }, abort: func() {}}, nil
}

// openFile opens the input file, refusing up front anything but a
// regular file (reader.NotFileError): a FIFO would block the open or give
// its rows to the first of the reads only, a directory's read error
// would come later, and less clearly.
func openFile(path string) (*os.File, error) {
	fh, err := reader.OpenFile(path, true)
	var nf *reader.NotFileError
	switch {
	case errors.As(err, &nf):
		return nil, refuse(err)
	case err != nil:
		return nil, refuse(fmt.Errorf("input %w", err)) // cli prints "input x.csv: no such file or directory"
	}
	return fh, nil
}

// checkSyntax refuses a file that cannot be read as CSV, before anything
// is sent. Stdin can only be checked as it streams, and Strict's scan
// checks the syntax itself.
func (r *runner) checkSyntax() error {
	if r.fromStdin || r.cfg.Strict {
		return nil
	}
	fh, err := openFile(r.cfg.Input)
	if err != nil {
		return err
	}
	defer fh.Close()
	n, err := reader.Check(fh, r.cfg.Reader)
	r.counted(n)
	return refuse(err)
}

// ScanStats are what Validate found.
type ScanStats struct {
	Rows, Invalid int // data rows read, and of them invalid
	Blank         int // blank rows skipped
	LeftOut       []string
	records       int // CSV records read (reader.Reader.Records)
}

// Validate reads the input (a path, or "-" for stdin) as a run would,
// without sending anything, and lists its invalid rows on out as listing
// says, naming the input opts.Name. It stops after limit data rows (0:
// all). An input that cannot be opened is refused (ErrRefused); one that
// is not CSV gives the reader's *reader.FileError.
func Validate(input string, stdin io.Reader, opts reader.Options, limit int, out io.Writer, listing Listing) (ScanStats, error) {
	src := stdin
	if input != "-" {
		fh, err := openFile(input)
		if err != nil {
			return ScanStats{}, err
		}
		defer fh.Close()
		src = fh
	}
	list := newInvalidList(opts.Name, listing, out)
	st, err := scan(src, opts, limit, list)
	if err == nil {
		list.write("--all lists every invalid row with its own message")
	}
	return st, err
}

// scan reads every row of src and lists the invalid ones on list.
func scan(src io.Reader, opts reader.Options, limit int, list *invalidList) (ScanStats, error) {
	var st ScanStats
	rd, err := reader.Open(src, opts)
	if err != nil {
		return st, err
	}
	st.LeftOut = rd.LeftOut()
	for limit == 0 || st.Rows < limit {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		st.Rows++
		if rec.Invalid != "" {
			st.Invalid++
			list.add(rec.Line, rec.Invalid)
		}
	}
	st.Blank, st.records = rd.Skipped(), rd.Records()
	return st, nil
}

// listInvalid is scan over a file, for Strict: the invalid rows grouped
// on out.
func listInvalid(path string, opts reader.Options, limit int, out io.Writer) (ScanStats, error) {
	fh, err := openFile(path)
	if err != nil {
		return ScanStats{}, err
	}
	defer fh.Close()
	list := newInvalidList(opts.Name, Grouped, out)
	st, err := scan(fh, opts, limit, list)
	if err == nil {
		list.write(validateAll)
	}
	return st, refuse(err)
}

// validateAll says where every invalid row is listed with its message.
const validateAll = "kapture-bulk validate --all lists every invalid row with its own message"

// countingReader counts the bytes read through it, for progress by bytes
// without counting the rows in advance.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// errInputAborted ends a read of stdin that the run no longer wants.
var errInputAborted = errors.New("input abandoned")

// abortable reads r in a goroutine of its own and hands the bytes over a
// pipe, so that a read blocked on a pipe or a terminal can be abandoned:
// after abort, Read returns errInputAborted at once. (A blocked read of
// stdin cannot be cancelled in Go.) The goroutine ends when r ends, or at
// its first read after abort: for a stdin that never ends, with the
// process, which is what abandoning it means.
func abortable(r io.Reader) (io.Reader, func()) {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err) // nil: EOF for the reader
	}()
	var once sync.Once
	return abortedReader{pr}, func() { once.Do(func() { pr.Close() }) }
}

// abortedReader says errInputAborted, not io.ErrClosedPipe, once aborted.
type abortedReader struct{ pr *io.PipeReader }

func (r abortedReader) Read(p []byte) (int, error) {
	n, err := r.pr.Read(p)
	if errors.Is(err, io.ErrClosedPipe) {
		err = errInputAborted
	}
	return n, err
}
