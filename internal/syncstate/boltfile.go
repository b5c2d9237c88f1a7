package syncstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkFile checks, in an existing state's file (one that is not bbolt's
// is ErrNotState), what bbolt reads as it
// opens it, before it does: a damaged free list panics inside bbolt's
// Open, which then returns no handle to close, and its mapping of the
// file keeps the file's lock until the process ends. It refuses
// (ErrDamaged):
//   - meta pages (bbolt's roots, written in turn by its commits) that are
//     not both whole and of consecutive commits: bbolt falls back silently
//     to the older one when the newer fails its checksum, taking the state
//     back by one commit, maybe the one that marked a request in flight;
//   - a file shorter than its pages (cut short);
//   - a free list page that is not one, or lists pages it cannot have.
//
// The layout is bbolt's (format version 2, internal/common), in the
// machine's byte order: a page starts with its id (8 bytes), flags (2),
// count (2) and overflow (4); a meta page's meta, after that header,
// holds magic, version, page size and flags (4 bytes each), the root
// bucket's page and sequence, the free list's page, the high-water mark
// and the transaction id (8 each), then the checksum: FNV-64a of the 56
// bytes before it. A free list page lists its count of page ids (or, when
// the count is 0xFFFF, the count first) as 8 bytes each.
func checkFile(f io.ReaderAt, size int64) error {
	const (
		header, metaLen = 16, 64
		magic           = 0xED0CDAED
		noFreelist      = ^uint64(0)
	)
	ne := binary.NativeEndian
	var metas [2][]byte
	pageSize := int64(0)
	for i := range metas {
		m := make([]byte, metaLen)
		n, err := f.ReadAt(m, int64(i)*pageSize+header)
		switch {
		case i == 0 && (n < 4 || ne.Uint32(m) != magic):
			return ErrNotState // not a bbolt file at all
		case err != nil:
			return fmt.Errorf("%w: meta page %d: %v", ErrDamaged, i, err)
		}
		h := fnv.New64a()
		h.Write(m[:56])
		if ne.Uint32(m) != magic || ne.Uint32(m[4:]) != 2 || ne.Uint64(m[56:]) != h.Sum64() {
			return fmt.Errorf("%w: meta page %d is not whole", ErrDamaged, i)
		}
		if i == 0 {
			pageSize = int64(ne.Uint32(m[8:]))
			if pageSize < 1024 || pageSize > 1<<20 {
				return fmt.Errorf("%w: a page size of %d", ErrDamaged, pageSize)
			}
		}
		metas[i] = m
	}
	t0, t1 := ne.Uint64(metas[0][48:]), ne.Uint64(metas[1][48:])
	if t0+1 != t1 && t1+1 != t0 {
		return fmt.Errorf("%w: its meta pages are of commits %d and %d: a commit between them was lost", ErrDamaged, t0, t1)
	}
	m := metas[0]
	if t1 > t0 {
		m = metas[1]
	}
	root, free, hwm := ne.Uint64(m[16:]), ne.Uint64(m[32:]), ne.Uint64(m[40:])
	switch {
	case hwm > uint64(size/pageSize):
		return fmt.Errorf("%w: its pages take %d bytes, the file has %d (cut short)", ErrDamaged, hwm*uint64(pageSize), size)
	case root < 2 || root >= hwm:
		return fmt.Errorf("%w: its root is page %d of %d", ErrDamaged, root, hwm)
	case free == noFreelist:
		return fmt.Errorf("%w: it records no free list", ErrDamaged)
	case free < 2 || free >= hwm:
		return fmt.Errorf("%w: its free list is page %d of %d", ErrDamaged, free, hwm)
	}
	return checkFreelist(f, pageSize, free, hwm)
}

// checkFreelist checks the free list page at id: a free list within the
// file, listing distinct pages in order, none of them a meta page or
// beyond the high-water mark hwm.
func checkFreelist(f io.ReaderAt, pageSize int64, id, hwm uint64) error {
	ne := binary.NativeEndian
	hdr := make([]byte, 24)
	if _, err := f.ReadAt(hdr, int64(id)*pageSize); err != nil {
		return fmt.Errorf("%w: free list page %d: %v", ErrDamaged, id, err)
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	const freelistFlag = 0x10
	if ne.Uint64(hdr) != id || ne.Uint16(hdr[8:]) != freelistFlag || id+overflow >= hwm {
		return fmt.Errorf("%w: page %d is not its free list", ErrDamaged, id)
	}
	first, count := int64(16), uint64(ne.Uint16(hdr[10:]))
	if count == 0xFFFF {
		first, count = 24, ne.Uint64(hdr[16:])
	}
	room := (int64(overflow)+1)*pageSize - first
	if count > uint64(room/8) {
		return fmt.Errorf("%w: its free list claims %d pages", ErrDamaged, count)
	}
	ids := make([]byte, count*8)
	if _, err := f.ReadAt(ids, int64(id)*pageSize+first); err != nil {
		return fmt.Errorf("%w: free list page %d: %v", ErrDamaged, id, err)
	}
	prev := uint64(1)
	for i := 0; i < len(ids); i += 8 {
		p := ne.Uint64(ids[i:])
		if p <= prev || p >= hwm {
			return fmt.Errorf("%w: its free list lists page %d", ErrDamaged, p)
		}
		prev = p
	}
	return nil
}

// checkPath is checkFile for the file at path, when it exists and is not
// empty (a new state's file is made by bbolt).
func checkPath(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	if err := checkFile(f, fi.Size()); err != nil {
		return fmt.Errorf("sync state %q: %w", path, err)
	}
	return nil
}
