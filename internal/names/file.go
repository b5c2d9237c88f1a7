package names

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// ErrOtherAPI refuses to merge a run's pairs into a names file of another
// tenant's API.
var ErrOtherAPI = errors.New("holds the names of another API")

// The columns of a names file. parent and api are optional: parent is,
// for a sub_status, the status it sits under (its key or name), which
// tells apart sub-statuses of one name under different statuses; Save
// writes both, an operator's file need not have them.
const (
	colKind   = "kind"
	colKey    = "key"
	colName   = "name"
	colParent = "parent"
	colAPI    = "api"
)

// ResultsPath is where the pairs a run learned are kept beside its results
// file: RESULTS without a .csv ending, plus .names.csv.
func ResultsPath(results string) string {
	base := results
	if strings.EqualFold(filepath.Ext(base), ".csv") {
		base = base[:len(base)-len(".csv")]
	}
	return base + ".names.csv"
}

// Line returns a names file's line (without its newline) pairing key with
// name, and for a sub-status with its parent status when not "" (the
// columns kind,key,name,parent), quoted as CSV needs.
func Line(k Kind, key, name, parent string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	cells := []string{string(k), key, name}
	if parent != "" {
		cells = append(cells, parent)
	}
	w.Write(cells)
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// entry is one pair of a names file.
type entry struct {
	kind      Kind
	key, name string
	parent    string
	line      int
	keyCol    int // 1-based, for messages
	nameCol   int
}

// file is a names file as read.
type file struct {
	path    string
	api     string
	entries []entry
}

// Load adds the pairs of the names file at path: CSV with a header kind,
// key, name (and parent, api, as Save writes them), in any order, comma-,
// semicolon- or tab-separated, UTF-8 with or without a BOM; kind is
// sub_status, queue or status; a cell's ' before a formula-like value is
// taken off, as a spreadsheet means it. A sub_status pair's parent is the
// file's, or the one a reply showed for the key (which wins); a pair that
// another file gave without a parent takes it. A file with a bad kind, an
// empty key or name, a pair twice, a key with two names (in the file, or
// here and in a file loaded before), or rows of several APIs is refused
// whole with a *reader.FileError naming the file, line and column; the
// Book is then as it was. Pairs a reply showed (Learn) win over the
// file's.
func (b *Book) Load(path string) error {
	f, err := readFile(path)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range f.entries {
		t := b.tables[e.kind]
		if p, ok := t.byKey[e.key]; ok && p.name != e.name && p.from != "" {
			return &reader.FileError{Name: path, Line: e.line, Column: e.nameCol,
				Msg: fmt.Sprintf("%s %s is named %q here but %q in %s", e.kind, e.key, e.name, p.name, p.from)}
		}
	}
	for _, e := range f.entries {
		t := b.tables[e.kind]
		parent := e.parent
		if p, ok := b.parents[e.key]; ok && e.kind == SubStatus {
			parent = p // a reply showed the key under it
		}
		if p, ok := t.byKey[e.key]; ok && p.name == e.name {
			if p.parent == "" { // the parent the pair lacked where it came first
				p.parent = parent
				t.byKey[e.key] = p
			}
			continue // messages name where it came first
		}
		if _, ok := b.learned[e.kind][e.key]; ok {
			continue // a reply showed it: the tenant's own, and newer
		}
		t.set(e.key, pair{name: e.name, from: fmt.Sprintf("%s:%d", path, e.line), parent: parent})
	}
	return nil
}

// APIOf returns the API the names file at path was saved for: "" when the
// file does not exist or has no api column.
func APIOf(path string) (string, error) {
	f, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return f.api, nil
}

// readFile reads and checks the names file at path.
func readFile(path string) (*file, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("names file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("names file %q: %w", path, writer.NotRegular(fi))
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("names file: %w", err)
	}
	defer fh.Close()
	return parse(path, fh)
}

// parse reads a names file from r, as an input is read (reader.Records:
// its decoding, delimiters, limits and wording of a broken file).
func parse(path string, r io.Reader) (*file, error) {
	ferr := func(line, col int, format string, args ...any) error {
		return &reader.FileError{Name: path, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	cr, err := reader.OpenRecords(r, reader.Options{Name: path}, "a names file (CSV kind,key,name)")
	if err != nil {
		return nil, err
	}
	head, _, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, ferr(0, 0, "the file is empty: a names file starts with the header kind,key,name")
	}
	if err != nil {
		return nil, err
	}
	cols, err := columns(head, ferr)
	if err != nil {
		return nil, err
	}
	f := &file{path: path}
	apiLine := 0
	seen := map[Kind]map[string]entry{}
	for {
		rec, line, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		e, api, err := row(rec, line, cols, ferr)
		if err != nil || e.kind == "" {
			if err != nil {
				return nil, err
			}
			continue // an empty row
		}
		if api != "" && f.api != "" && api != f.api {
			return nil, ferr(line, cols[colAPI]+1, "api %q differs from %q on line %d: a names file holds one API's names", api, f.api, apiLine)
		}
		if api != "" && f.api == "" {
			f.api, apiLine = api, line
		}
		if err := f.add(seen, e, ferr); err != nil {
			return nil, err
		}
	}
}

// add adds e, refusing a pair twice and a key with two names. Keys are
// told apart without regard to case, as the reply check compares them:
// CL and cl are one key, and a file with both is refused.
func (f *file) add(seen map[Kind]map[string]entry, e entry, ferr func(int, int, string, ...any) error) error {
	if seen[e.kind] == nil {
		seen[e.kind] = map[string]entry{}
	}
	fold := strings.ToLower(e.key)
	if prev, ok := seen[e.kind][fold]; ok {
		if prev.key != e.key {
			return ferr(e.line, e.keyCol, "%s %s is %s of line %d in another case: keys are compared without regard to case (as replies are checked), so they are one key: keep one line", e.kind, e.key, prev.key, prev.line)
		}
		if prev.name == e.name {
			return ferr(e.line, e.keyCol, "%s %s paired with %q twice (line %d too)", e.kind, e.key, e.name, prev.line)
		}
		return ferr(e.line, e.nameCol, "%s %s is named %q here but %q on line %d: one key has one name", e.kind, e.key, e.name, prev.name, prev.line)
	}
	seen[e.kind][fold] = e
	f.entries = append(f.entries, e)
	return nil
}

// columns finds the columns of a names file's header: kind, key and name
// required, api optional, nothing else.
func columns(head []string, ferr func(int, int, string, ...any) error) (map[string]int, error) {
	cols := map[string]int{}
	for i, h := range head {
		n := reader.NormalizeName(h)
		switch n {
		case colKind, colKey, colName, colParent, colAPI:
		default:
			return nil, ferr(1, i+1, "column %q: a names file has the columns kind, key, name (and parent, api)", h)
		}
		if _, dup := cols[n]; dup {
			return nil, ferr(1, i+1, "column %s twice", n)
		}
		cols[n] = i
	}
	for _, n := range []string{colKind, colKey, colName} {
		if _, ok := cols[n]; !ok {
			return nil, ferr(1, 0, "no %s column: a names file starts with the header kind,key,name", n)
		}
	}
	return cols, nil
}

// row reads one data row on line; an all-empty row comes back with no
// kind and no error.
func row(rec []string, line int, cols map[string]int, ferr func(int, int, string, ...any) error) (entry, string, error) {
	cell := func(col string) string {
		i, ok := cols[col]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(reader.UnescapeCell(rec[i]))
	}
	if !slices.ContainsFunc(rec, func(c string) bool { return strings.TrimSpace(c) != "" }) {
		return entry{}, "", nil
	}
	if len(rec) > len(cols) {
		return entry{}, "", ferr(line, len(cols)+1, "%d cells, but the header has %d columns", len(rec), len(cols))
	}
	e := entry{kind: Kind(reader.NormalizeName(cell(colKind))), key: cell(colKey), name: cell(colName),
		parent: cell(colParent), line: line, keyCol: cols[colKey] + 1, nameCol: cols[colName] + 1}
	switch {
	case !e.kind.valid():
		return entry{}, "", ferr(line, cols[colKind]+1, "kind %q: want sub_status, queue or status", cell(colKind))
	case e.key == "":
		return entry{}, "", ferr(line, e.keyCol, "the key is empty")
	case e.name == "":
		return entry{}, "", ferr(line, e.nameCol, "the name is empty")
	}
	return e, cell(colAPI), nil
}

// Save writes the pairs replies showed (Learn) to the names file at path,
// for the API api, merged with the pairs the file holds (a key a reply
// showed takes the reply's name): sorted by kind and key, with the api
// column, mode 0600, through path.tmp renamed into place, so that a crash
// leaves the old file or the new one. It writes nothing when no reply
// showed a pair. A file of another API is refused (ErrOtherAPI).
func (b *Book) Save(path, api string) error {
	b.mu.Lock()
	learned := map[Kind]map[string]string{}
	n := 0
	for k, m := range b.learned {
		learned[k] = maps.Clone(m)
		n += len(m)
	}
	parents := maps.Clone(b.parents)
	b.mu.Unlock()
	if n == 0 {
		return nil
	}
	old, err := readFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		old = &file{}
	case err != nil:
		return err
	case old.api != "" && old.api != api:
		return fmt.Errorf("names file %q: %w (%s, not %s)", path, ErrOtherAPI, old.api, api)
	}
	shown := map[Kind]map[string]bool{} // the keys replies showed, in lower case
	for k, m := range learned {
		shown[k] = map[string]bool{}
		for key := range m {
			shown[k][strings.ToLower(key)] = true
		}
	}
	for _, e := range old.entries {
		if !shown[e.kind][strings.ToLower(e.key)] { // a key a reply showed, in any case, is the reply's
			learned[e.kind][e.key] = e.name
		}
		if _, ok := parents[e.key]; !ok && e.kind == SubStatus && e.parent != "" {
			parents[e.key] = e.parent
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{colKind, colKey, colName, colParent, colAPI})
	for _, k := range kinds {
		keys := make([]string, 0, len(learned[k]))
		for key := range learned[k] {
			keys = append(keys, key)
		}
		slices.SortFunc(keys, cmp.Compare)
		for _, key := range keys {
			parent := ""
			if k == SubStatus {
				parent = parents[key]
			}
			w.Write([]string{string(k), reader.EscapeCell(key), reader.EscapeCell(learned[k][key]), reader.EscapeCell(parent), reader.EscapeCell(api)})
		}
	}
	w.Flush()
	return writeFile(path, buf.Bytes())
}

// writeFile writes data to path through path.tmp, mode 0600. Whatever
// stands at path.tmp (a crash's leftover, a link someone planted) is
// removed and the file made anew, exclusively: nothing is written
// through a link.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("save names: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("save names: %w", err)
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save names %q: %w", path, err)
	}
	return nil
}
