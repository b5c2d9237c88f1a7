package run

import (
	"github.com/kapture-bulk/kapture-bulk/internal/rowkey"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// Keyer gives the valid records of one read of an input their keys
// exactly as a run does (the same object, the same numbering of
// occurrences), so that a caller reading the input again, a report, finds
// each row's results by the key the results file records. Feed it every
// valid record of the input, in order, and no invalid one. It is not safe
// for concurrent use.
type Keyer struct{ k *keyer }

// NewKeyer returns a Keyer for one read of an input.
func NewKeyer() *Keyer { return &Keyer{k: newKeyer()} }

// Key returns the key of rec, the input's next valid record, and whether
// a row of its ticket came earlier (within a bounded window).
func (k *Keyer) Key(rec reader.Record) (key rowkey.Key, repeat bool) { return k.k.key(rec) }
