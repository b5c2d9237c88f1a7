package run

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/batch/kapturetest"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/resume"
	"github.com/kapture-bulk/kapture-bulk/internal/verify"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

// shown is a ticket's code as its reads show it: a key or a name.
func (h *readHistory) shown(key, name string) string {
	if h.shape.keys {
		return key
	}
	return name
}

// expectKey is the key a book gives for a value a read shows, as
// names' rules say (a key it knows that is no other key's name; else the
// one key of that name; for a sub-status read under a parent status, the
// one key of that name the book knows to sit under it, when no other key
// of that name may: one whose parent the book does not know may); ok false
// when it gives none.
func (h *readHistory) expectKey(b *names.Book, k names.Kind, shown string, parent kapturetest.Status) (key string, ok bool) {
	if shown == "" {
		return "", true
	}
	var keys, sure, maybe []string
	if k == names.SubStatus {
		for _, s := range h.cat.SubStatuses {
			keys = append(keys, s.Key)
		}
	} else {
		for _, q := range h.cat.Queues {
			keys = append(keys, q.Key)
		}
	}
	status := h.shown(parent.Key, parent.Name) // as the read shows it
	for _, key := range keys {
		if n, ok := b.Name(k, key); !ok || n != shown {
			continue
		}
		p, known := b.Parent(key)
		switch {
		case k != names.SubStatus || status == "":
			sure = append(sure, key)
		case !known:
			maybe = append(maybe, key)
			continue
		case h.isStatus(b, p, status):
			sure = append(sure, key)
		default:
			continue
		}
		maybe = append(maybe, key)
	}
	if _, known := b.Name(k, shown); known && h.shape.keys {
		return shown, len(slices.DeleteFunc(maybe, func(s string) bool { return s == shown })) == 0
	}
	if len(sure) == 1 && len(maybe) == 1 {
		return sure[0], true
	}
	return "", false
}

// isStatus reports whether the parent status the book gives a key (a
// key or a name) is the status a read showed, as far as the book's
// status pairs tell.
func (h *readHistory) isStatus(b *names.Book, parent, shown string) bool {
	if parent == shown {
		return true
	}
	if n, ok := b.Name(names.Status, parent); ok && n == shown {
		return true
	}
	n, ok := b.Name(names.Status, shown)
	return ok && n == parent
}

// checkBook checks that every pair the book holds for the tenant's keys
// is the tenant's own: what replies showed and the operator gave.
func (h *readHistory) checkBook(b *names.Book) {
	for _, s := range h.cat.SubStatuses {
		if n, ok := b.Name(names.SubStatus, s.Key); ok && n != s.Name {
			h.t.Errorf("the book names sub-status %s %q, the tenant %q", s.Key, n, s.Name)
		}
	}
	for _, q := range h.cat.Queues {
		if n, ok := b.Name(names.Queue, q.Key); ok && n != q.Name {
			h.t.Errorf("the book names queue %s %q, the tenant %q", q.Key, n, q.Name)
		}
	}
}

// homonym reports whether reads that show names show a sub-status name
// that several keys of the tenant share: a book that holds only one of
// them takes the name for that one (see readStrict).
func (h *readHistory) homonym(name string) bool {
	return !h.shape.keys && h.homonymName(name)
}

// readEngine is an engine for the commands that only read (verify).
func (h *readHistory) readEngine() *batch.Engine {
	eng, err := batch.New(batch.Config{BaseURL: h.api.URL, Token: kapturetest.DefaultToken, ReadBatch: 1 + h.rng.IntN(4),
		MaxRetries: 6, Timeout: modelTimeout, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	if err != nil {
		h.t.Fatal(err)
	}
	return eng
}

// verify verifies the input against the fake and checks each ticket's
// verdict against what the fake holds; differs, when not "", gets the
// rows to fix, which must be the last rows of the tickets that differ.
func (h *readHistory) verify(name, differs string) {
	t := h.t
	book := h.operatorBook(h.results)
	h.checkBook(book)
	var out bytes.Buffer
	opts := verify.Options{Input: h.input, Reader: reader.Options{Name: h.input}, Book: book, Read: h.readEngine().Read,
		Batch: 1 + h.rng.IntN(8), Out: &out, TempDir: h.dir}
	var fix *os.File
	if differs != "" {
		var err error
		if fix, err = os.Create(differs); err != nil {
			t.Fatal(err)
		}
		defer fix.Close()
		opts.Differs = fix
	}
	res, err := verify.Check(context.Background(), opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	h.log = append(h.log, fmt.Sprintf("%s: %d match, %d differ, %d unknown, %d not found", name, res.Match, res.Differs, res.Unknown, res.NotFound))
	got := map[string][]string{}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		got[rec[0]] = rec
	}
	wantDiffer := map[string]bool{}
	last := map[string]resume.Row{}
	for _, r := range h.inputRows(h.input) {
		last[r.TicketID] = r
	}
	guesses := map[string]bool{}
	for id, r := range last {
		want, why, guessed := h.verdict(book, r)
		if guessed && !*readStrict {
			guesses[id] = true // see readStrict
			continue
		}
		if want == verify.Differs {
			wantDiffer[id] = true
		}
		if g := got[id]; g == nil || g[1] != string(want) {
			t.Errorf("%s: ticket %s: verdict %q, want %s (%s)\n%s", name, id, g, want, why, h.story(id))
		}
	}
	if len(got) != len(last) {
		t.Errorf("%s: %d verdicts for %d tickets", name, len(got), len(last))
	}
	if differs != "" {
		fix.Close()
		for _, r := range h.inputRows(differs) {
			if guesses[r.TicketID] {
				continue
			}
			if l := last[r.TicketID]; !wantDiffer[r.TicketID] || l.Key.Content != r.Key.Content {
				t.Errorf("%s: the rows to fix hold %+v, which does not differ or is not its ticket's last row %+v", name, r.Record, l.Record)
			}
			delete(wantDiffer, r.TicketID)
		}
		for id := range wantDiffer {
			t.Errorf("%s: ticket %s differs, but the rows to fix lack it", name, id)
		}
	}
}

// verdict is what verify must say of ticket r.TicketID, whose last valid
// row is r, and why: from what the fake holds, and whether the book can
// translate what the reads show.
func (h *readHistory) verdict(book *names.Book, r resume.Row) (v verify.Verdict, why string, guessed bool) {
	kt, ok := h.api.Ticket(r.TicketID)
	if !ok {
		return verify.NotFound, "the tenant has no such ticket", false
	}
	var differ, unknown []string
	code := func(k names.Kind, key, name, want string) {
		shown := h.shown(key, name)
		got, ok := h.expectKey(book, k, shown, kt.SubStatus.Status)
		switch {
		case !ok:
			unknown = append(unknown, fmt.Sprintf("%s %q has no one key in the book", k, shown))
			return
		case got != key:
			// The book holds one of two keys that share the name, and
			// takes the name for it: the verdict stays held to the truth.
			guessed = true
			h.log = append(h.log, fmt.Sprintf("the book takes %s %q of ticket %s for %s; it holds %s", k, shown, r.TicketID, got, key))
		}
		if key != want {
			differ = append(differ, fmt.Sprintf("%s holds %s, wants %s", k, key, want))
		}
	}
	code(names.SubStatus, kt.SubStatus.Key, kt.SubStatus.Name, r.SubStatus)
	if r.Queue != "" && h.shape.queue {
		code(names.Queue, kt.Queue.Key, kt.Queue.Name, r.Queue)
	}
	if r.Disposition != "" && kt.Disposition != r.Disposition {
		differ = append(differ, fmt.Sprintf("disposition holds %q, wants %q", kt.Disposition, r.Disposition))
	}
	switch {
	case len(differ) > 0:
		return verify.Differs, strings.Join(differ, "; "), guessed
	case len(unknown) > 0:
		return verify.Unknown, strings.Join(unknown, "; "), guessed
	}
	return verify.Match, fmt.Sprintf("holds %+v", kt.Holding()), guessed
}
