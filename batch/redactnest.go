package batch

// A secret escaped more than once ("=" as %3D, then that as %253D; or
// percent-encoded, then entity-encoded: &#37;3D) is found by decoding
// the text one level at a time and searching each level as it is; spell
// reads through one more. Each level is one pass over a window of the
// text, and a window gets one only while an escape in it stands for the
// start of another.

const (
	// maxNesting is how many levels of escapes are decoded before
	// spell reads through its own one.
	maxNesting = 3
	// nestWindow and nestOverlap bound the memory a level takes: a text
	// is decoded in windows of nestWindow bytes, each overlapping the
	// next by nestOverlap, more than any spelling of a secret takes
	// (a 200-byte token escaped four times over takes 16 KB as %XX).
	nestWindow  = 256 << 10
	nestOverlap = 32 << 10
)

// level is a text decoded some levels down, and for each of its bytes
// the range of the original text it came from.
type level struct {
	text     []byte
	from, to []int32
}

// nestedSpans returns the ranges of s that spell a secret escaped more
// than once, in no particular order; they may overlap.
func nestedSpans[T string | []byte](rd *Redactor, s T) [][2]int {
	var spans [][2]int
	for start := 0; start < len(s); start += nestWindow - nestOverlap {
		end := min(len(s), start+nestWindow)
		spans = append(spans, windowSpans(rd, s[start:end], start)...)
		if end == len(s) {
			break
		}
	}
	return spans
}

// windowSpans searches each level of w, which starts at offset of the
// original text, down to maxNesting.
func windowSpans[T string | []byte](rd *Redactor, w T, offset int) [][2]int {
	if !nestedEscape(w) {
		return nil // most texts: no level to decode
	}
	lv := level{text: []byte(w), from: make([]int32, len(w)), to: make([]int32, len(w))}
	for i := range lv.from {
		lv.from[i], lv.to[i] = int32(offset+i), int32(offset+i+1)
	}
	var spans [][2]int
	for d := range maxNesting {
		if d > 0 && !nestedEscape(lv.text) {
			break
		}
		lv = lv.decoded()
		for _, sp := range findSecrets(rd, lv.text) {
			spans = append(spans, [2]int{int(lv.from[sp[0]]), int(lv.to[sp[1]-1])})
		}
	}
	return spans
}

// decoded is lv with every escape in it decoded, once.
func (lv level) decoded() level {
	n := len(lv.text)
	out := level{text: make([]byte, 0, n), from: make([]int32, 0, n), to: make([]int32, 0, n)}
	for i := 0; i < n; {
		if u, size := unescape(lv.text, i); size > 0 {
			for _, c := range u.bytes() {
				out.text = append(out.text, c)
				out.from = append(out.from, lv.from[i])
				out.to = append(out.to, lv.to[i+size-1])
			}
			i += size
			continue
		}
		out.text = append(out.text, lv.text[i])
		out.from = append(out.from, lv.from[i])
		out.to = append(out.to, lv.to[i])
		i++
	}
	return out
}

// nestedEscape reports whether s holds an escape that stands for the
// start of another (%25, &amp;, \\, ...): only then can decoding s find
// what spell, reading through one level, does not.
func nestedEscape[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%', '&', '\\', fullWidthLead:
			if u, n := unescape(s, i); n > 0 && u.n == 1 {
				switch u.b[0] {
				case '%', '&', '\\':
					return true
				}
			}
		}
	}
	return false
}
