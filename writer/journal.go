package writer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"

	"github.com/kapture-bulk/kapture-bulk/rowkey"
)

// The in-flight journal, PATH.inflight beside the results file PATH, lists
// the rows whose requests have left but whose results are not yet in the
// results file. A run killed with such rows in flight cannot know whether
// the API applied them; the journal lets the next resume record them as
// failed (outcome unknown) and send them again. Without it, an update
// applied in the last instant before a crash would be invisible, and a
// ticket could stay in that row's state when the row is later deleted from
// the input.
//
// Layout: a 64-byte header (journalMagic, the slot size and count), then
// one fixed-size slot per sender (a worker of the run). A slot is
//
//	crc32 (IEEE, of what follows) | since uint64 | n uint32 | n entries
//
// where since is the number of rows the results file held when the slot
// was written, and an entry is line uint32 | content uint64 | ticket uint64
// | occurrence uint32 | len uint8 | ticket id (at most 64 bytes, for
// people). A slot is rewritten in one write whenever its rows change; a
// torn write fails its CRC and is ignored, which is safe: a sender waits
// for its slot to be written before it sends, and the slot's previous rows
// all had their results written.
const (
	journalMagic    = "kapture-bulk in-flight journal 1\n"
	journalHeader   = 64
	slotHeader      = 4 + 8 + 4
	entryFixed      = 4 + 8 + 8 + 4 + 1
	maxJournalID    = 64
	maxEntry        = entryFixed + maxJournalID
	maxJournalBytes = 64 << 20 // refuse a layout that would need more
	maxSlotBytes    = 1 << 20  // a slot of more rows than the largest batch
	maxSlots        = 1 << 12  // more senders than any run has
)

// InFlight is a row whose request had left and whose result was not
// written when its journal slot was last written.
type InFlight struct {
	Line     int
	TicketID string // cut to 64 bytes
	Key      rowkey.Key
	// Since is the number of rows the results file held then: a result
	// for Key at that position or later is the outcome of that request.
	Since int
}

// JournalPath is where the in-flight journal of the results file at
// results is kept: beside it, a file a run writes too.
func JournalPath(results string) string { return results + ".inflight" }

// journal is the open in-flight journal of a Writer.
type journal struct {
	f        *os.File
	slotSize int
	slotRows int
	open     []map[inflightID]InFlight // per slot
	owner    map[inflightID]int        // which slot holds a row
	buf      []byte
}

// inflightID tells rows apart within a run: its input line (a run reads
// each line once, and a line is one row).
type inflightID = int

// openJournal creates (or empties) the journal at path for slots senders
// of at most rows rows each.
func openJournal(path string, slots, rows int) (*journal, error) {
	if slots < 1 || rows < 1 {
		return nil, fmt.Errorf("in-flight journal: %d slots of %d rows", slots, rows)
	}
	size := slotHeader + rows*maxEntry
	if int64(size)*int64(slots) > maxJournalBytes {
		return nil, fmt.Errorf("in-flight journal: %d senders of %d rows would need %d MiB", slots, rows, int64(size)*int64(slots)>>20)
	}
	// Whatever stands at path goes first, and the journal is created
	// anew, exclusively: a link there must never make the run write
	// into the file it points at.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("in-flight journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("in-flight journal: %w", err)
	}
	hdr := make([]byte, journalHeader)
	copy(hdr, journalMagic)
	binary.LittleEndian.PutUint32(hdr[48:], uint32(size))
	binary.LittleEndian.PutUint32(hdr[52:], uint32(slots))
	if _, err := f.WriteAt(hdr, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("in-flight journal %q: %w", path, err)
	}
	j := &journal{f: f, slotSize: size, slotRows: rows, open: make([]map[inflightID]InFlight, slots), owner: map[inflightID]int{}}
	for i := range j.open {
		j.open[i] = map[inflightID]InFlight{}
	}
	return j, nil
}

// add records rows as in flight in slot and writes the slot.
func (j *journal) add(slot int, rows []InFlight, since int) error {
	if slot < 0 || slot >= len(j.open) {
		return fmt.Errorf("in-flight journal: slot %d of %d", slot, len(j.open))
	}
	for _, r := range rows {
		id := r.Line
		if old, ok := j.owner[id]; ok && old != slot {
			delete(j.open[old], id)
		}
		j.owner[id] = slot
		j.open[slot][id] = r
	}
	return j.write(slot, since)
}

// done drops the rows of results from the in-flight set. Their slots are
// rewritten only at the sender's next add: until then the journal lists
// them with the number of results rows before them, and a resume sees
// their results after that number (ended). This costs no write per
// Write, and keeps the rows of the last Write in the journal until the
// Write is certainly whole: a sender adds its next rows only after the
// writer has written its previous results, so a crash can tear only a
// Write whose rows are still listed.
func (j *journal) done(results []Result) {
	for i := range results {
		id := results[i].Line // (an invalid row's line was never in flight)
		if slot, ok := j.owner[id]; ok {
			delete(j.open[slot], id)
			delete(j.owner, id)
		}
	}
}

// NotSent drops rows (by line) from the in-flight journal: their requests
// were refused or never left, so the API cannot have applied them. They
// have no result, and a journal that still listed them would pass them
// for rows of unknown outcome. It returns once the journal no longer lists
// them.
func (w *Writer) NotSent(lines []int) error {
	return w.withJournal(func(j *journal) error { return j.notSent(lines, w.rows) })
}

// withJournal calls fn with the started journal, w.mu held. A failure of
// fn makes every later call fail, as a failed write of results does.
func (w *Writer) withJournal(fn func(*journal) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if w.jnl == nil {
		return errors.New("in-flight journal not started")
	}
	if err := fn(w.jnl); err != nil {
		w.err = err
		return err
	}
	return nil
}

// InFlightRows returns how many rows the in-flight journal lists: sent,
// without a result yet, and not NotSent.
func (w *Writer) InFlightRows() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.jnl == nil {
		return 0
	}
	return len(w.jnl.owner)
}

// Unanswered returns the rows the in-flight journal lists, by line: once
// the run has stopped, those whose outcome is unknown.
func (w *Writer) Unanswered() []InFlight {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.jnl == nil {
		return nil
	}
	out := make([]InFlight, 0, len(w.jnl.owner))
	for id, slot := range w.jnl.owner {
		out = append(out, w.jnl.open[slot][id])
	}
	slices.SortFunc(out, func(a, b InFlight) int { return a.Line - b.Line })
	return out
}

// notSent drops from the in-flight set rows whose requests the API cannot
// have applied, and rewrites their slots at once: no result will tell a
// reader of the journal that they ended.
func (j *journal) notSent(lines []int, since int) error {
	var slots []int
	for _, id := range lines {
		slot, ok := j.owner[id]
		if !ok {
			continue
		}
		delete(j.open[slot], id)
		delete(j.owner, id)
		if !slices.Contains(slots, slot) {
			slots = append(slots, slot)
		}
	}
	for _, slot := range slots {
		if err := j.write(slot, since); err != nil {
			return err
		}
	}
	return nil
}

// empty reports whether no row is in flight.
func (j *journal) empty() bool { return len(j.owner) == 0 }

func (j *journal) write(slot, since int) error {
	b := append(j.buf[:0], make([]byte, slotHeader)...)
	for _, r := range j.open[slot] {
		b = appendEntry(b, r)
	}
	if len(j.open[slot]) > j.slotRows || len(b) > j.slotSize {
		return fmt.Errorf("in-flight journal: %d rows in flight for one sender, more than the %d it has room for", len(j.open[slot]), j.slotRows)
	}
	binary.LittleEndian.PutUint64(b[4:], uint64(since))
	binary.LittleEndian.PutUint32(b[12:], uint32(len(j.open[slot])))
	binary.LittleEndian.PutUint32(b[0:], crc32.ChecksumIEEE(b[4:]))
	j.buf = b
	off := int64(journalHeader) + int64(slot)*int64(j.slotSize)
	if _, err := j.f.WriteAt(b, off); err != nil {
		return fmt.Errorf("in-flight journal: %w", err)
	}
	return nil
}

func appendEntry(b []byte, r InFlight) []byte {
	id := r.TicketID
	if len(id) > maxJournalID {
		id = id[:maxJournalID]
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Line))
	b = binary.LittleEndian.AppendUint64(b, r.Key.Content)
	b = binary.LittleEndian.AppendUint64(b, r.Key.Ticket)
	b = binary.LittleEndian.AppendUint32(b, r.Key.Occurrence)
	b = append(b, byte(len(id)))
	return append(b, id...)
}

func (j *journal) close() error { return j.f.Close() }

// errJournal marks a journal that cannot be read: it is ignored, with a
// warning, since a torn or foreign file tells nothing reliable.
var errJournal = errors.New("not an in-flight journal")

// readJournal returns the rows a journal file lists as in flight. A
// missing file lists none.
func readJournal(path string) ([]InFlight, error) {
	f, size, err := openRegular(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hdr := make([]byte, journalHeader)
	if _, err := io.ReadFull(f, hdr); err != nil || string(hdr[:len(journalMagic)]) != journalMagic {
		return nil, fmt.Errorf("%s: %w", path, errJournal)
	}
	slotSize := int(binary.LittleEndian.Uint32(hdr[48:]))
	slots := int(binary.LittleEndian.Uint32(hdr[52:]))
	if slotSize < slotHeader || slotSize > maxSlotBytes || slots > maxSlots {
		return nil, fmt.Errorf("%s: %w", path, errJournal)
	}
	var out []InFlight
	buf := make([]byte, slotSize)
	for s := 0; s < slots; s++ {
		off := int64(journalHeader) + int64(s)*int64(slotSize)
		if off >= size {
			break // slots never written: nothing in flight there
		}
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("in-flight journal: %w", err)
		}
		out = append(out, parseSlot(buf[:n])...)
	}
	return out, nil
}

// openRegular opens path for reading if it is a regular file (not a link,
// a FIFO or a device, which a run must not follow or block on) and returns
// its size. Anything else is an errJournal.
func openRegular(path string) (*os.File, int64, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: %w (a %s, not a file)", path, errJournal, fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("in-flight journal: %w", err)
	}
	// The path may have been swapped between Lstat and Open.
	if got, err := f.Stat(); err != nil || !os.SameFile(fi, got) {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %w (it changed while opened)", path, errJournal)
	}
	return f, fi.Size(), nil
}

// parseSlot returns the entries of one slot, none when it is short, torn
// or never written.
func parseSlot(b []byte) []InFlight {
	if len(b) < slotHeader || binary.LittleEndian.Uint32(b) != crc32.ChecksumIEEE(slotBody(b)) {
		return nil
	}
	since := int(binary.LittleEndian.Uint64(b[4:]))
	n := int(binary.LittleEndian.Uint32(b[12:]))
	var out []InFlight
	p := b[slotHeader:]
	for i := 0; i < n; i++ {
		if len(p) < entryFixed || len(p) < entryFixed+int(p[entryFixed-1]) {
			return nil
		}
		idLen := int(p[entryFixed-1])
		r := InFlight{
			Line: int(binary.LittleEndian.Uint32(p)),
			Key: rowkey.Key{
				Content:    binary.LittleEndian.Uint64(p[4:]),
				Ticket:     binary.LittleEndian.Uint64(p[12:]),
				Occurrence: binary.LittleEndian.Uint32(p[20:]),
			},
			TicketID: string(p[entryFixed : entryFixed+idLen]),
			Since:    since,
		}
		// What a run writes has a line, a ticket hash and a count of
		// results rows below 2^31: a slot with anything else is not ours.
		if r.Line < 1 || r.Line > maxLine || r.Key.Ticket == 0 || since < 0 || since > maxLine {
			return nil
		}
		out = append(out, r)
		p = p[entryFixed+idLen:]
	}
	return out
}

// slotBody is what a slot's CRC covers: everything after the CRC up to the
// end of its entries (a slot read back is the whole fixed-size region).
func slotBody(b []byte) []byte {
	n := int(binary.LittleEndian.Uint32(b[12:]))
	end := slotHeader
	for i := 0; i < n && end+entryFixed <= len(b); i++ {
		end += entryFixed + int(b[end+entryFixed-1])
	}
	return b[4:min(end, len(b))]
}
