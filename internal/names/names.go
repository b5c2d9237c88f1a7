// Package names keeps a tenant's key↔name pairs: the keys an update sends
// (sub-status "CL", queue "ESC") and the names Kapture shows for them
// ("Closed", "Escalations"). Update replies show both for the ticket they
// changed, so a run learns pairs as it goes (Learn); an operator gives the
// rest in a names file (Load). A Get Ticket read shows a name on most
// tenants, so the read side translates names back to keys with a Book
// (Resolve), and never guesses: a name no pair has, or that several keys
// share, is an error that says so.
package names

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kapture-bulk/kapture-bulk/batch"
)

// Kind is the field a pair is of, as a names file spells it.
type Kind string

const (
	SubStatus Kind = "sub_status"
	Queue     Kind = "queue"
	Status    Kind = "status" // the parent status an update reply shows
)

// kinds are the kinds a names file may hold, in the order Save writes them.
var kinds = []Kind{Status, SubStatus, Queue}

func (k Kind) valid() bool { return slices.Contains(kinds, k) }

// ErrUnknownName: no pair has the name (errors.Is; the error is an
// *UnknownError).
var ErrUnknownName = errors.New("no known key has this name")

// UnknownError says that a value a read showed is no known key, and no
// known key's name; or, for a sub-status read under a parent status, the
// name of no key known to sit under that status.
type UnknownError struct {
	Kind  Kind
	Value string
	// Status is the parent status the read showed the ticket in (for a
	// sub-status; "" none): the line to add to a names file names it as
	// the pair's parent.
	Status string
	// Known are the keys of that name the book holds, none of them known
	// to sit under Status: under another, or under one not known (a
	// names file's pair without a parent).
	Known []string
}

func (e *UnknownError) Error() string {
	file := "a names file"
	if e.Status != "" {
		file += " (header kind,key,name,parent)"
	}
	if len(e.Known) > 0 {
		return fmt.Sprintf("%s %q under status %q: no key of that name is known to sit under it (%s: under another status, or under one no pair names: a parent given as a status key needs a status,KEY,NAME line): add the line %s to %s, KEY being the key Kapture uses for it",
			e.Kind, e.Value, e.Status, strings.Join(e.Known, ", "), e.Add(), file)
	}
	return fmt.Sprintf("%s %q is neither a known key nor the name of one: add the line %s to %s, KEY being the key Kapture uses for it",
		e.Kind, e.Value, e.Add(), file)
}

// Add returns the line a names file needs for the value: the key left
// as KEY, the parent status as the read showed it (the file's columns
// kind,key,name,parent).
func (e *UnknownError) Add() string { return Line(e.Kind, "KEY", e.Value, e.Status) }

func (e *UnknownError) Is(target error) bool { return target == ErrUnknownName }

// AmbiguousError says that a value a read showed stands for several keys:
// their shared name (or one's key and another's name). Names are free
// text per tenant, and need not be unique.
type AmbiguousError struct {
	Kind  Kind
	Value string
	Keys  []string // sorted
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s %q stands for several keys (%s): a read that shows it cannot say which",
		e.Kind, e.Value, strings.Join(e.Keys, ", "))
}

// Rename is a key a reply showed with another name than the Book had: the
// tenant renamed it, and the newer name is kept.
type Rename struct {
	Kind          Kind
	Key, Old, New string
}

// pair is a key's name and where it came from, for messages: "FILE:LINE",
// or "" for a pair a reply showed; for a sub-status, its parent status
// (its key, or as a names file gives it) when known.
type pair struct{ name, from, parent string }

// table is one kind's pairs, both ways.
type table struct {
	byKey  map[string]pair
	byName map[string][]string // name → its keys, sorted
}

// MaxKeys bounds the keys a Book holds of one kind: a tenant has a few
// dozen sub-statuses and queues, while a hostile or broken API could show
// a new pair in every reply of a long run. Learn keeps no new key past it
// (Full says so); a read that shows such a key's name is then not
// resolved, never guessed.
const MaxKeys = 4096

// Book holds key↔name pairs by kind. It is safe for concurrent use: a
// run's workers Learn from replies while others Resolve.
type Book struct {
	mu      sync.Mutex
	tables  map[Kind]*table
	learned map[Kind]map[string]string // the pairs replies showed, for Save
	parents map[string]string          // sub-status key → parent status key, as replies showed
	renamed []Rename
	full    []Kind // the kinds Learn found holding MaxKeys keys, in the order found
}

// NewBook returns an empty Book.
func NewBook() *Book {
	b := &Book{tables: map[Kind]*table{}, learned: map[Kind]map[string]string{}, parents: map[string]string{}}
	for _, k := range kinds {
		b.tables[k] = &table{byKey: map[string]pair{}, byName: map[string][]string{}}
		b.learned[k] = map[string]string{}
	}
	return b
}

// set pairs key with name in t, replacing the key's former name.
func (t *table) set(key string, p pair) {
	if old, ok := t.byKey[key]; ok {
		keys := slices.DeleteFunc(t.byName[old.name], func(k string) bool { return k == key })
		if len(keys) == 0 {
			delete(t.byName, old.name)
		} else {
			t.byName[old.name] = keys
		}
	}
	t.byKey[key] = p
	keys := t.byName[p.name]
	if i, found := slices.BinarySearch(keys, key); !found {
		t.byName[p.name] = slices.Insert(keys, i, key)
	}
}

// Learn adds a pair a reply showed. It reports a conflict when the key had
// another name: the newer one wins, and Renamed lists the key once. An
// empty key or name, or an unknown kind, adds nothing.
func (b *Book) Learn(k Kind, key, name string) (conflict bool) {
	key, name = strings.TrimSpace(key), strings.TrimSpace(name)
	if !k.valid() || key == "" || name == "" {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tables[k]
	old, ok := t.byKey[key]
	if !ok && len(t.byKey) >= MaxKeys {
		if !slices.Contains(b.full, k) {
			b.full = append(b.full, k)
		}
		return false
	}
	b.learned[k][key] = name
	if ok && old.name == name {
		return false
	}
	t.set(key, pair{name: name, parent: old.parent})
	if !ok {
		return false
	}
	if !slices.ContainsFunc(b.renamed, func(r Rename) bool { return r.Kind == k && r.Key == key }) {
		b.renamed = append(b.renamed, Rename{Kind: k, Key: key, Old: old.name, New: name})
	}
	return true
}

// LearnTicket learns the pairs of an update reply's ticket: its status,
// sub-status and queue, where the reply shows both key and name. It suits
// batch.Config.Observe.
func (b *Book) LearnTicket(t batch.Ticket) {
	for _, f := range []struct {
		k Kind
		c batch.Code
	}{{Status, t.Status}, {SubStatus, t.SubStatus}, {Queue, t.Queue}} {
		if f.c.Key != "" && f.c.Name != "" {
			b.Learn(f.k, f.c.Key, f.c.Name)
		}
	}
	if sub, parent := strings.TrimSpace(t.SubStatus.Key), strings.TrimSpace(t.Status.Key); sub != "" && parent != "" {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.parents[sub]; ok || len(b.parents) < MaxKeys {
			b.parents[sub] = parent
		}
		if p, ok := b.tables[SubStatus].byKey[sub]; ok {
			p.parent = parent
			b.tables[SubStatus].byKey[sub] = p
		}
	}
}

// Renamed returns the keys Learn saw renamed, each once, in the order
// seen.
func (b *Book) Renamed() []Rename {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.renamed)
}

// Full returns the kinds whose new keys Learn did not keep, the Book
// holding MaxKeys keys of them already, in the order found.
func (b *Book) Full() []Kind {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.full)
}

// Resolve says which key c stands for: its Key when the API labelled one;
// else its Value when that is a known key and no other key's name; else
// the one key whose name the Value is (a Code with only a Name is taken by
// its name alone). An empty Code stands for no key: "" and no error (a
// ticket in no queue). Otherwise it returns an *UnknownError (no pair has
// the value) or an *AmbiguousError (several keys have that name).
func (b *Book) Resolve(k Kind, c batch.Code) (string, error) {
	return b.resolve(k, c, batch.Code{})
}

// ResolveIn says which key field k of ticket t stands for, as Resolve
// does; for a sub-status read under a parent status (t.Status), a name
// stands only for a key known to sit under that status: a reply showed
// the key with it, or a names file's pair gives it as the parent. Names
// are free text per tenant and two statuses may each have a sub-status of
// one name ("Others"): a pair without a parent could be either. A key of
// that name whose parent is not known still makes the name ambiguous.
func (b *Book) ResolveIn(k Kind, t batch.Ticket) (string, error) {
	switch k {
	case SubStatus:
		return b.resolve(k, t.SubStatus, t.Status)
	case Queue:
		return b.resolve(k, t.Queue, batch.Code{})
	}
	return b.resolve(k, t.Status, batch.Code{})
}

// resolve is Resolve, for a sub-status under the parent status as read
// (an empty Code: none shown).
func (b *Book) resolve(k Kind, c batch.Code, parent batch.Code) (string, error) {
	if c.Key != "" {
		return c.Key, nil
	}
	v, byName := strings.TrimSpace(c.Value), false
	if v == "" {
		v, byName = strings.TrimSpace(c.Name), true
	}
	if v == "" {
		return "", nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tables[k]
	if t == nil {
		return "", fmt.Errorf("names: unknown kind %q", k)
	}
	named := t.byName[v]
	sure, maybe, status := named, named, ""
	if shown := shownStatus(parent); k == SubStatus && len(shown) > 0 {
		status = shown[0]
		sure, maybe = b.underStatus(t, named, shown)
	}
	if _, isKey := t.byKey[v]; isKey && !byName {
		if others := slices.DeleteFunc(slices.Clone(maybe), func(s string) bool { return s == v }); len(others) > 0 {
			keys := append(others, v)
			slices.Sort(keys)
			return "", &AmbiguousError{Kind: k, Value: v, Keys: keys}
		}
		return v, nil
	}
	switch {
	case len(maybe) > 1:
		return "", &AmbiguousError{Kind: k, Value: v, Keys: slices.Clone(maybe)}
	case len(sure) == 1:
		return sure[0], nil
	}
	return "", &UnknownError{Kind: k, Value: v, Status: status, Known: slices.Clone(named)}
}

// shownStatus returns how a read showed a ticket's status, name first
// (for messages), then key; none when it showed none.
func shownStatus(c batch.Code) []string {
	var s []string
	for _, v := range []string{c.Name, c.Value, c.Key} {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

// underStatus splits the sub-status keys into those known to sit under
// the status shown (sure) and those that may (maybe: sure, and those whose
// parent is not known). b.mu is held.
func (b *Book) underStatus(t *table, keys []string, shown []string) (sure, maybe []string) {
	for _, key := range keys {
		p := t.byKey[key]
		switch {
		case p.parent == "":
			maybe = append(maybe, key)
		case slices.ContainsFunc(shown, func(s string) bool { return b.isStatus(p.parent, s) }):
			sure = append(sure, key)
			maybe = append(maybe, key)
		}
	}
	return sure, maybe
}

// isStatus reports whether the parent status a pair gives (a key or a
// name) is the status s a read showed (a key or a name). b.mu is held.
func (b *Book) isStatus(parent, s string) bool {
	if parent == s {
		return true
	}
	if p, ok := b.tables[Status].byKey[parent]; ok && p.name == s {
		return true
	}
	p, ok := b.tables[Status].byKey[s]
	return ok && p.name == parent
}

// Parent returns the parent status of the sub-status key, as a reply
// showed it (or a names file gave it), when known.
func (b *Book) Parent(key string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.tables[SubStatus].byKey[key]
	return p.parent, ok && p.parent != ""
}

// Name returns the name of key, when a pair has it.
func (b *Book) Name(k Kind, key string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tables[k]
	if t == nil {
		return "", false
	}
	p, ok := t.byKey[key]
	return p.name, ok
}

// Learned reports how many pairs replies showed.
func (b *Book) Learned() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.learned {
		n += len(m)
	}
	return n
}
