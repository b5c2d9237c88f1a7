package resume

import (
	"cmp"
	"math"
	"slices"
)

// invalidRec is an invalid result: the input line it was for, its
// position in the file (with fixedBit once Build found a later result of
// a key on that line: the row was fixed and sent since), and where its
// results row starts. 16 bytes a line, where a map took about 80: an
// input of millions of invalid rows must not take a resume past its
// memory bound.
type invalidRec struct {
	line uint32
	pos  uint32
	at   int64
}

// fixedBit marks an invalidRec a later keyed result replaced; positions
// take 30 bits (posMask).
const fixedBit = 1 << 31

// maxInvalidLine is the highest input line an invalid result is kept for:
// a line cell beyond it is no line of any input, and counts unattributed.
const maxInvalidLine = math.MaxUint32

// latestInvalid sorts recs by line and position and keeps the latest of
// each line, in place; it returns them and how many it dropped.
func latestInvalid(recs []invalidRec) ([]invalidRec, int) {
	slices.SortFunc(recs, func(a, b invalidRec) int {
		if c := cmp.Compare(a.line, b.line); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	n := 0
	for i := range recs {
		if i+1 < len(recs) && recs[i+1].line == recs[i].line {
			continue // a later result of the same line
		}
		recs[n] = recs[i]
		n++
	}
	return recs[:n], len(recs) - n
}

// addInvalid records the invalid result at pos for the input line; when
// the results fill their array, it keeps each line's latest first (as
// Builder.compact does for keys).
func (b *Builder) addInvalid(line int, pos uint32, at int64) {
	if len(b.invalid) == cap(b.invalid) && len(b.invalid) >= compactAt {
		var dropped int
		b.invalid, dropped = latestInvalid(b.invalid)
		b.stats.Superseded += dropped
		if len(b.invalid) > cap(b.invalid)/2 {
			b.invalid = slices.Grow(b.invalid, cap(b.invalid))
		}
	}
	b.invalid = append(b.invalid, invalidRec{line: uint32(line), pos: pos, at: at})
}

// buildInvalid returns the latest invalid result of each line, sorted by
// line, in an array of their size, each marked fixed when one of entries
// (the keys' latest results) came later on its line.
func (b *Builder) buildInvalid(entries []entry) []invalidRec {
	inv, dropped := latestInvalid(b.invalid)
	b.stats.Superseded += dropped
	b.invalid = nil
	if cap(inv) > len(inv)+len(inv)/4 {
		inv = slices.Clone(inv)
	}
	for _, e := range entries {
		if i := findInvalid(inv, int(e.line)); i >= 0 && !e.unknown() && e.pos() > inv[i].pos&^fixedBit {
			inv[i].pos |= fixedBit
		}
	}
	return slices.Clip(inv)
}

// findInvalid returns the index of line's result in inv (sorted by line),
// or -1.
func findInvalid(inv []invalidRec, line int) int {
	if line <= 0 || line > maxInvalidLine {
		return -1
	}
	i, found := slices.BinarySearchFunc(inv, uint32(line), func(r invalidRec, l uint32) int { return cmp.Compare(r.line, l) })
	if !found {
		return -1
	}
	return i
}
