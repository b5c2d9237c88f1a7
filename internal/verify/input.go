package verify

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"math"
	"os"

	"github.com/kapture-bulk/kapture-bulk/internal/plural"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// input is the input file, opened once: every pass reads it from its
// start through this one file, so that a new file renamed over the path
// (tonight's export) changes nothing. The passes must see the same bytes,
// or the verdicts would be of rows other than those FIX.csv holds: each
// pass's bytes are digested, and a file rewritten in place between two
// passes is reader.ErrChanged, as it is for run.
type input struct {
	f       *os.File
	name    string
	records int    // CSV records after the header, as the first pass found
	sum     []byte // digest of the first pass's bytes; nil before it ends
}

func openInput(path, name string) (*input, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	return &input{f: f, name: name}, nil
}

func (in *input) close() { in.f.Close() }

// pass is one read of the input from its start, digested as it goes.
type pass struct {
	in *input
	r  io.Reader
	h  hash.Hash
}

func (in *input) pass() *pass {
	h := sha256.New()
	return &pass{in: in, r: io.TeeReader(io.NewSectionReader(in.f, 0, math.MaxInt64), h), h: h}
}

func (p *pass) Read(b []byte) (int, error) { return p.r.Read(b) }

// end reads what the pass left of the file and holds its digest, and rd's
// count of records when rd is not nil, against the first pass's; the first
// pass keeps them. The error wraps reader.ErrChanged.
func (p *pass) end(rd *reader.Reader) error {
	if _, err := io.Copy(io.Discard, p.r); err != nil {
		return fmt.Errorf("read %s: %w", p.in.name, err)
	}
	sum := p.h.Sum(nil)
	in := p.in
	if in.sum == nil {
		in.sum, in.records = sum, rd.Records()
		return nil
	}
	if rd != nil && rd.EndedShort(in.records) {
		return fmt.Errorf("%s: %w: read again, it ended after %s, where the first read found %d: verify it again once the file is whole",
			in.name, reader.ErrChanged, plural.Of(rd.Records(), "row", "rows"), in.records)
	}
	if !bytes.Equal(sum, in.sum) {
		return fmt.Errorf("%s: %w: it was rewritten between two reads, so the tickets read back are not of the rows it holds now: verify it again once the file is whole",
			in.name, reader.ErrChanged)
	}
	return nil
}
