package names_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kapture-bulk/kapture-bulk/batch"
	"github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/internal/names/namestest"
	"github.com/kapture-bulk/kapture-bulk/reader"
)

func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, content string
		line, col     int
		msg           string
	}{
		{"bad kind", "kind,key,name\nsub_status,P,Pending\nsubstate,CL,Closed\n", 3, 1, `kind "substate"`},
		{"empty key", "kind,key,name\nqueue, ,Escalations\n", 2, 2, "key is empty"},
		{"empty name", "kind,key,name\nqueue,ESC,\n", 2, 3, "name is empty"},
		{"pair twice", "kind,key,name\nsub_status,P,Pending\nqueue,P,Pending\nsub_status,P,Pending\n", 4, 2, "twice (line 2 too)"},
		{"key with two names", "kind,key,name\nsub_status,CL,Closed\nsub_status,CL,Shut\n", 3, 3, `named "Shut" here but "Closed" on line 2`},
		{"a key in two cases", "kind,key,name\nsub_status,CL,Closed\nsub_status,cl,Closed\n", 3, 2, "CL of line 2 in another case"},
		{"columns in another order", "name,kind,key\nClosed,sub_status,CL\nShut,sub_status,CL\n", 3, 1, `named "Shut"`},
		{"unknown column", "kind,key,name,note\n", 1, 4, `column "note"`},
		{"missing column", "kind,key\nqueue,ESC\n", 1, 0, "no name column"},
		{"column twice", "kind,key,name,Key\n", 1, 4, "column key twice"},
		{"too many cells", "kind,key,name\nqueue,ESC,Escalations,x\n", 2, 4, "4 cells"},
		{"two apis", "kind,key,name,api\nqueue,ESC,Escalations,https://a.example\nqueue,L1,L1 Support,https://b.example\n", 3, 4, "one API"},
		// Syntax errors, limits and binary files are said as an input's
		// are (reader.Records; before: Go's "bare \" in non-quoted-field",
		// and an 80 MB cell read whole).
		{"broken quote", "kind,key,name\nqueue,ESC,\"Esc\"alations\n", 2, 3, `CSV syntax error: a " inside quoted field column 3 (name), which starts here, is not doubled`},
		{"bare quote", "kind,key,name\nsub_status,VIP,Customer \"VIP\"\n", 2, 3, `CSV syntax error: a " inside unquoted field column 3 (name); quote the whole field`},
		{"a line over the limit", "kind,key,name\nsub_status,CL," + strings.Repeat("x", reader.MaxRecordBytes) + "\n", 2, 0, "longer than 1 MiB"},
		{"not text", "kind,key,name\x00\x01\x02\n", 0, 0, "not a text file"},
		{"empty file", "", 0, 0, "empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tempFile(t, "names.csv", tt.content)
			b := names.NewBook()
			err := b.Load(path)
			var fe *reader.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Load: %v, want a *reader.FileError", err)
			}
			if fe.Name != path || fe.Line != tt.line || fe.Column != tt.col || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("Load: %v; want %s:%d:%d …%s…", err, path, tt.line, tt.col, tt.msg)
			}
			if _, ok := b.Name(names.SubStatus, "P"); ok {
				t.Error("a refused file added pairs")
			}
		})
	}
}

func TestLoadReads(t *testing.T) {
	// A spreadsheet's file: BOM, semicolons, CRLF, a blank row, headers
	// spelt by a person, a ' before a formula-like name.
	path := tempFile(t, "names.csv", "\ufeffKind;Key;Name\r\nsub_status; PS ;Pending Seller\r\n;;\r\nqueue;ESC;'-Escalations\r\nStatus;P;Pending\r\n")
	b := names.NewBook()
	if err := b.Load(path); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		k         names.Kind
		key, name string
	}{{names.SubStatus, "PS", "Pending Seller"}, {names.Queue, "ESC", "-Escalations"}, {names.Status, "P", "Pending"}} {
		if got, ok := b.Name(tt.k, tt.key); !ok || got != tt.name {
			t.Errorf("Name(%s, %s) = %q, %v; want %q", tt.k, tt.key, got, ok, tt.name)
		}
	}
	// The same pairs in a second file are fine; another name for a key is
	// refused, naming where the first came from.
	if err := b.Load(tempFile(t, "again.csv", "kind,key,name\nsub_status,PS,Pending Seller\n")); err != nil {
		t.Errorf("the same pair in a second file: %v", err)
	}
	other := tempFile(t, "other.csv", "kind,key,name\nsub_status,PS,Seller pending\n")
	err := b.Load(other)
	if err == nil || !strings.Contains(err.Error(), other+":2:3:") || !strings.Contains(err.Error(), path+":2") {
		t.Errorf("a key named otherwise in a second file: %v", err)
	}
}

func TestResolve(t *testing.T) {
	b := namestest.Catalogue()
	b.Learn(names.Queue, "Escalations", "Escalations") // a tenant whose key is its name
	b.Learn(names.Queue, "VIP", "ESC")                 // a name that is another key
	for _, tt := range []struct {
		name    string
		k       names.Kind
		c       batch.Code
		want    string
		unknown bool
		keys    string // ambiguous: the keys named
	}{
		{"the reply's key", names.SubStatus, batch.Code{Key: "ZZ", Name: "Whatever", Given: true}, "ZZ", false, ""},
		{"a read's name", names.SubStatus, batch.Code{Value: "Pending Seller", Given: true}, "PS", false, ""},
		{"a read's key", names.SubStatus, batch.Code{Value: "PS", Given: true}, "PS", false, ""},
		{"spaces around", names.SubStatus, batch.Code{Value: " Closed ", Given: true}, "CL", false, ""},
		{"a name two keys share", names.SubStatus, batch.Code{Value: "Others", Given: true}, "", false, "CO, PO"},
		{"a key that is another's name", names.Queue, batch.Code{Value: "ESC", Given: true}, "", false, "ESC, VIP"},
		{"a key named as itself", names.Queue, batch.Code{Value: "Escalations", Given: true}, "", false, "ESC, Escalations"},
		{"a name no pair has", names.SubStatus, batch.Code{Value: "Pending Review", Given: true}, "", true, ""},
		{"case differs: no guess", names.SubStatus, batch.Code{Value: "closed", Given: true}, "", true, ""},
		{"a name only, that is a key", names.SubStatus, batch.Code{Name: "CL", Given: true}, "", true, ""},
		{"a name only", names.SubStatus, batch.Code{Name: "Closed", Given: true}, "CL", false, ""},
		{"the kinds apart", names.Status, batch.Code{Value: "Pending", Given: true}, "P", false, ""},
		{"no queue", names.Queue, batch.Code{Given: true}, "", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.Resolve(tt.k, tt.c)
			var amb *names.AmbiguousError
			switch {
			case tt.unknown:
				if !errors.Is(err, names.ErrUnknownName) || !strings.Contains(err.Error(), "add the line "+string(tt.k)+",KEY,") {
					t.Errorf("Resolve = %q, %v; want names.ErrUnknownName saying the line to add", got, err)
				}
			case tt.keys != "":
				if !errors.As(err, &amb) || strings.Join(amb.Keys, ", ") != tt.keys {
					t.Errorf("Resolve = %q, %v; want ambiguous between %s", got, err, tt.keys)
				}
			case err != nil || got != tt.want:
				t.Errorf("Resolve = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLearn(t *testing.T) {
	b := names.NewBook()
	if b.Learn(names.SubStatus, "CL", "Closed") {
		t.Error("a new pair is a conflict")
	}
	if b.Learn(names.SubStatus, "CL", "Closed") {
		t.Error("the same pair again is a conflict")
	}
	if b.Learn(names.SubStatus, "", "Closed") || b.Learn("colour", "R", "Red") || b.Learned() != 1 {
		t.Errorf("an empty key or an unknown kind was learnt: %d pairs", b.Learned())
	}
	if !b.Learn(names.SubStatus, "CL", "Shut") || !b.Learn(names.SubStatus, "CL", "Closed") {
		t.Error("a rename is a conflict")
	}
	want := []names.Rename{{names.SubStatus, "CL", "Closed", "Shut"}}
	if got := b.Renamed(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Renamed = %v, want %v (once per key)", got, want)
	}
	if got, _ := b.Resolve(names.SubStatus, batch.Code{Value: "Closed"}); got != "CL" {
		t.Errorf("the newer name resolves to %q", got)
	}
	if _, err := b.Resolve(names.SubStatus, batch.Code{Value: "Shut"}); !errors.Is(err, names.ErrUnknownName) {
		t.Errorf("the older name still resolves: %v", err)
	}

	// A reply's pair wins over a names file's.
	if err := b.Load(tempFile(t, "names.csv", "kind,key,name\nsub_status,CL,Shut\nqueue,ESC,Escalations\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Name(names.SubStatus, "CL"); got != "Closed" {
		t.Errorf("CL is named %q after a names file, want the reply's Closed", got)
	}

	tk := batch.Ticket{ID: "1", Found: true,
		Status:    batch.Code{Key: "P", Name: "Pending", Given: true},
		SubStatus: batch.Code{Key: "PS", Name: "Pending Seller", Given: true},
		Queue:     batch.Code{Value: "L2 Billing", Given: true}} // a read: no pair
	b.LearnTicket(tk)
	if got, _ := b.Name(names.Status, "P"); got != "Pending" {
		t.Errorf("status P: %q", got)
	}
	if _, err := b.Resolve(names.Queue, batch.Code{Value: "L2 Billing"}); !errors.Is(err, names.ErrUnknownName) {
		t.Errorf("a value alone taught a pair: %v", err)
	}
}

// TestConcurrent: workers learn while others resolve (run with -race).
func TestConcurrent(t *testing.T) {
	b := names.NewBook()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				key := fmt.Sprintf("K%d", j%20)
				b.Learn(names.SubStatus, key, fmt.Sprintf("Name %d", (j+i)%25))
				b.Resolve(names.SubStatus, batch.Code{Value: key})
				b.Name(names.SubStatus, key)
			}
		})
	}
	wg.Wait()
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := names.ResultsPath(filepath.Join(dir, "night.results.csv"))
	if want := filepath.Join(dir, "night.results.names.csv"); path != want {
		t.Fatalf("names.ResultsPath = %s, want %s", path, want)
	}
	const api = "https://acme.kapturecrm.com"
	b := names.NewBook()
	if err := b.Load(tempFile(t, "ops.csv", "kind,key,name\nqueue,VIP,VIP desk\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(path, api); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("nothing learned, yet a file was written: %v", err)
	}

	b.Learn(names.SubStatus, "CL", "Closed")
	b.Learn(names.SubStatus, "-X", "=cmd") // formula-like: escaped, and read back as they were
	b.Learn(names.Queue, "ESC", "Escalations")
	if err := b.Save(path, api); err != nil {
		t.Fatal(err)
	}
	// A second run learns more, and a rename: merged with the file.
	b2 := names.NewBook()
	b2.Learn(names.SubStatus, "CL", "Shut")
	b2.Learn(names.Status, "C", "Complete")
	if err := b2.Save(path, api); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "kind,key,name,parent,api\n" +
		"status,C,Complete,," + api + "\n" +
		"sub_status,'-X,'=cmd,," + api + "\n" +
		"sub_status,CL,Shut,," + api + "\n" +
		"queue,ESC,Escalations,," + api + "\n"
	if string(got) != want {
		t.Errorf("saved:\n%s\nwant:\n%s", got, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if got, err := names.APIOf(path); got != api || err != nil {
		t.Errorf("names.APIOf = %q, %v", got, err)
	}
	back := names.NewBook()
	if err := back.Load(path); err != nil {
		t.Fatal(err)
	}
	if name, _ := back.Name(names.SubStatus, "-X"); name != "=cmd" {
		t.Errorf("a formula-like pair read back as %q", name)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Error("the .tmp file is left")
	}

	err = b2.Save(path, "https://other.kapturecrm.com")
	if !errors.Is(err, names.ErrOtherAPI) {
		t.Errorf("Save for another API: %v, want names.ErrOtherAPI", err)
	}
	if again, _ := os.ReadFile(path); string(again) != want {
		t.Error("a refused Save changed the file")
	}
	if got, err := names.APIOf(filepath.Join(dir, "missing.csv")); got != "" || err != nil {
		t.Errorf("names.APIOf a missing file = %q, %v", got, err)
	}
}

// TestResolveUnderItsParent: a name two statuses each give a sub-status
// ("Others") is not taken for the one key the book knows when the read
// shows the ticket under the other status: never a guess. The parent a
// reply showed is kept by Save and read back by Load.
func TestResolveUnderItsParent(t *testing.T) {
	b := names.NewBook()
	b.LearnTicket(batch.Ticket{Status: batch.Code{Key: "C", Name: "Complete"}, SubStatus: batch.Code{Key: "CO", Name: "Others"}})
	b.LearnTicket(batch.Ticket{Status: batch.Code{Key: "P", Name: "Pending"}, SubStatus: batch.Code{Key: "PS", Name: "Pending Seller"}})
	read := func(status, sub string) batch.Ticket {
		return batch.Ticket{Found: true, Status: batch.Code{Value: status, Given: true}, SubStatus: batch.Code{Value: sub, Given: true}}
	}
	for _, tt := range []struct {
		t       batch.Ticket
		want    string
		unknown bool
	}{
		{read("Complete", "Others"), "CO", false},
		{read("C", "Others"), "CO", false},
		{read("Pending", "Others"), "", true}, // PO: not known, and CO sits under Complete
		{read("Pending", "Pending Seller"), "PS", false},
		{read("", "Others"), "CO", false}, // no parent shown: the known pair
	} {
		got, err := b.ResolveIn(names.SubStatus, tt.t)
		if got != tt.want || errors.Is(err, names.ErrUnknownName) != tt.unknown {
			t.Errorf("%+v: %q, %v; want %q (unknown %v)", tt.t, got, err, tt.want, tt.unknown)
		}
	}
	path := filepath.Join(t.TempDir(), "r.names.csv")
	if err := b.Save(path, "https://acme.kapturecrm.com"); err != nil {
		t.Fatal(err)
	}
	back := names.NewBook()
	if err := back.Load(path); err != nil {
		t.Fatal(err)
	}
	if got, err := back.ResolveIn(names.SubStatus, read("Pending", "Others")); got != "" || !errors.Is(err, names.ErrUnknownName) {
		t.Errorf("read back: %q, %v; want the parent kept, and no guess", got, err)
	}
}

// TestSaveNeverWritesThroughALink: a link planted where Save writes its
// temporary file is replaced, not written through.
// TestSaveOneKeyInOneCase: a reply that shows a key the names file holds
// in another case replaces it, so that the file Save writes is one Load
// takes (a file with CL and cl is refused: keys are compared without
// regard to case).
func TestSaveOneKeyInOneCase(t *testing.T) {
	const api = "https://acme.kapturecrm.com"
	path := tempFile(t, "night.results.names.csv", "kind,key,name,api\nsub_status,CL,Closed,"+api+"\n")
	b := names.NewBook()
	b.Learn(names.SubStatus, "cl", "Closed")
	if err := b.Save(path, api); err != nil {
		t.Fatal(err)
	}
	if err := names.NewBook().Load(path); err != nil {
		t.Errorf("Load of what Save wrote: %v", err)
	}
}

func TestSaveNeverWritesThroughALink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim.txt")
	if err := os.WriteFile(victim, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "r.names.csv")
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Skip(err)
	}
	b := names.NewBook()
	b.Learn(names.SubStatus, "CL", "Closed")
	if err := b.Save(path, "https://acme.kapturecrm.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep me\n" {
		t.Errorf("the link's target was written: %q", got)
	}
}

// TestParentlessPairUnderAStatus: a names file's sub_status pair without
// a parent ("sub_status,CO,Others", which undo once advised) translates a
// read under a status only once the book knows the key sits under it (a
// reply showed it there, or another file's pair gives the parent); a
// read that shows no status takes it as before. The advice names the
// status read as the parent. (F14: the pair restored a Pending/Others
// ticket to CO, Complete/Others.)
func TestParentlessPairUnderAStatus(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bare := write("bare.csv", "kind,key,name\nsub_status,CO,Others\n")
	parented := write("parented.csv", "kind,key,name,parent\nsub_status,CO,Others,Complete\n")
	read := func(status, sub string) batch.Ticket {
		return batch.Ticket{Found: true, Status: batch.Code{Value: status, Given: true}, SubStatus: batch.Code{Value: sub, Given: true}}
	}
	type want struct {
		key  string
		line string // the advice's line, for an unknown name
	}
	for _, tt := range []struct {
		name  string
		files []string
		learn bool // a reply shows CO under C (Complete)
		cases map[string]want
	}{
		{"no parent", []string{bare}, false, map[string]want{
			"Pending": {line: "sub_status,KEY,Others,Pending"}, "Complete": {line: "sub_status,KEY,Others,Complete"}, "": {key: "CO"}}},
		{"a reply shows the parent", []string{bare}, true, map[string]want{
			"Pending": {line: "sub_status,KEY,Others,Pending"}, "Complete": {key: "CO"}, "C": {key: "CO"}, "": {key: "CO"}}},
		{"the file gives it", []string{parented}, false, map[string]want{
			"Pending": {line: "sub_status,KEY,Others,Pending"}, "Complete": {key: "CO"}, "": {key: "CO"}}},
		{"a later file gives it", []string{bare, parented}, false, map[string]want{
			"Pending": {line: "sub_status,KEY,Others,Pending"}, "Complete": {key: "CO"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := names.NewBook()
			for _, f := range tt.files {
				if err := b.Load(f); err != nil {
					t.Fatal(err)
				}
			}
			if tt.learn {
				b.LearnTicket(batch.Ticket{Status: batch.Code{Key: "C", Name: "Complete"}, SubStatus: batch.Code{Key: "CO", Name: "Others"}})
			}
			for status, w := range tt.cases {
				got, err := b.ResolveIn(names.SubStatus, read(status, "Others"))
				var unknown *names.UnknownError
				switch {
				case w.key != "" && (got != w.key || err != nil):
					t.Errorf("Others under %q: %q, %v; want %s", status, got, err, w.key)
				case w.key == "" && (got != "" || !errors.As(err, &unknown)):
					t.Errorf("Others under %q: %q, %v; want no key, unknown", status, got, err)
				case w.key == "" && (unknown.Add() != w.line || !strings.Contains(err.Error(), w.line)):
					t.Errorf("Others under %q: advice %q in %q; want %s", status, unknown.Add(), err, w.line)
				}
			}
		})
	}
	// A key of the name whose parent is not known may sit under the
	// status read: the name is ambiguous, not the known one's.
	b := names.NewBook()
	if err := b.Load(write("both.csv", "kind,key,name,parent\nsub_status,PO,Others,Pending\nsub_status,XO,Others,\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.ResolveIn(names.SubStatus, read("Pending", "Others")); got != "" || err == nil || errors.Is(err, names.ErrUnknownName) {
		t.Errorf("Others under Pending with PO there and XO's parent not known: %q, %v; want ambiguous", got, err)
	}
}
