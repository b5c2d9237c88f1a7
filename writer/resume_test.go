package writer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// row formats one results row as Write would.
func row(ticket string, status Status, line int, fingerprint string) string {
	return fmt.Sprintf("%s,%s,msg,%d,200,1,2025-03-14T03:56:53.589Z,%s\n", ticket, status, line, fingerprint)
}

func TestLatestWins(t *testing.T) {
	tests := []struct {
		name      string
		rows      []string
		line      int
		fp        string
		wantSkip  bool
		wantLen   int
		wantRows  int
		wantMatch int
	}{
		{"success", []string{row("1", StatusSuccess, 2, fp(1))}, 2, fp(1), true, 1, 1, 1},
		{"success other fingerprint", []string{row("1", StatusSuccess, 2, fp(1))}, 2, fp(2), false, 1, 1, 0},
		{"success other line", []string{row("1", StatusSuccess, 2, fp(1))}, 3, fp(1), false, 1, 1, 0},
		{"failed", []string{row("1", StatusFailed, 2, fp(1))}, 2, fp(1), false, 0, 1, 1},
		{"failed then success", []string{row("1", StatusFailed, 2, fp(1)), row("1", StatusSuccess, 2, fp(1))}, 2, fp(1), true, 1, 2, 1},
		{"success then failed", []string{row("1", StatusSuccess, 2, fp(1)), row("1", StatusFailed, 2, fp(1))}, 2, fp(1), false, 0, 2, 1},
		{"success then invalid", []string{row("1", StatusSuccess, 2, fp(1)), row("1", StatusInvalid, 2, "")}, 2, fp(1), false, 0, 2, 0},
		{"invalid without fingerprint matches empty", []string{row("1", StatusInvalid, 2, "")}, 2, "", false, 0, 1, 1},
		{"success then success of an edited row", []string{row("1", StatusSuccess, 2, fp(1)), row("1", StatusSuccess, 2, fp(2))}, 2, fp(1), false, 1, 2, 0},
		{"other lines do not interfere", []string{row("1", StatusSuccess, 2, fp(1)), row("2", StatusFailed, 3, fp(1))}, 2, fp(1), true, 1, 2, 1},
		{"malformed query fingerprint", []string{row("1", StatusSuccess, 2, fp(1))}, 2, "XYZ", false, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			writeFile(t, path, Header+"\n"+strings.Join(tt.rows, ""))
			w := mustOpen(t, path, Resume)
			d := w.Done()
			if got := d.Skip(tt.line, tt.fp); got != tt.wantSkip {
				t.Errorf("Skip(%d, %q) = %v, want %v", tt.line, tt.fp, got, tt.wantSkip)
			}
			d.Skip(tt.line, tt.fp) // asking twice counts once
			if got := d.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
			if got := d.Rows(); got != tt.wantRows {
				t.Errorf("Rows() = %d, want %d", got, tt.wantRows)
			}
			if got := d.Matched(); got != tt.wantMatch {
				t.Errorf("Matched() = %d, want %d", got, tt.wantMatch)
			}
		})
	}
}

func TestNilDone(t *testing.T) {
	var d *Done
	if d.Skip(2, fp(1)) || d.Len() != 0 || d.Rows() != 0 || d.Matched() != 0 || d.TornBytes() != 0 {
		t.Error("a nil *Done must skip nothing and count nothing")
	}
}

func TestDoneConcurrentSkip(t *testing.T) {
	var b strings.Builder
	b.WriteString(Header + "\n")
	for line := 2; line < 1002; line++ {
		b.WriteString(row("1", StatusSuccess, line, fp(uint64(line))))
	}
	path := tempPath(t)
	writeFile(t, path, b.String())
	d := mustOpen(t, path, Resume).Done()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for line := 2; line < 1002; line++ {
				if !d.Skip(line, fp(uint64(line))) {
					t.Errorf("Skip(%d) = false", line)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := d.Matched(); got != 1000 {
		t.Errorf("Matched() = %d, want 1000", got)
	}
}

func TestTornLastLine(t *testing.T) {
	full := row("1", StatusSuccess, 2, fp(1))
	next := Result{TicketID: "2", Status: StatusSuccess, Message: "msg", Line: 3, HTTPStatus: 200, Attempts: 1, FinishedAt: t0, Fingerprint: fp(2)}
	nextRow := row("2", StatusSuccess, 3, fp(2))
	tests := []struct {
		name      string
		content   string
		wantKept  string // the file before the appended row
		wantRows  int
		wantSkip1 bool
	}{
		{"clean", Header + "\n" + full, Header + "\n" + full, 1, true},
		{"torn row", Header + "\n" + full + "3,succ", Header + "\n" + full, 1, true},
		{"torn row cut inside fingerprint", Header + "\n" + full + full[:len(full)-3], Header + "\n" + full, 1, true},
		{"row missing only its newline", Header + "\n" + full[:len(full)-1], Header + "\n", 0, false},
		{"torn quoted cell", Header + "\n" + full + `4,failed,"a, b`, Header + "\n" + full, 1, true},
		{"torn header", "ticket_id,status,mes", "", 0, false},
		{"header without newline", Header, "", 0, false},
		{"header and CR", Header + "\r", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			writeFile(t, path, tt.content)
			w := mustOpen(t, path, Resume)
			d := w.Done()
			if got, want := d.TornBytes(), int64(len(tt.content)-len(tt.wantKept)); got != want {
				t.Errorf("TornBytes() = %d, want %d", got, want)
			}
			if got := d.Rows(); got != tt.wantRows {
				t.Errorf("Rows() = %d, want %d", got, tt.wantRows)
			}
			if got := d.Skip(2, fp(1)); got != tt.wantSkip1 {
				t.Errorf("Skip(2) = %v, want %v", got, tt.wantSkip1)
			}
			mustWrite(t, w, next)
			mustClose(t, w)
			want := tt.wantKept
			if want == "" {
				want = Header + "\n"
			}
			want += nextRow
			if got := readFile(t, path); got != want {
				t.Errorf("file:\n%q\nwant:\n%q", got, want)
			}
			readCSV(t, path) // still parses
		})
	}
}

func TestResumeRefusesMalformed(t *testing.T) {
	good := row("1", StatusSuccess, 2, fp(1))
	tests := []struct {
		name     string
		content  string
		wantLine int // 0: a header error, no line
		wantText string
	}{
		{"input file", "ticket_id,sub_status\n1,CL\n", 0, "first line is"},
		{"header reordered", "status,ticket_id,message,line,http_status,attempts,finished_at,fingerprint\n", 0, "first line is"},
		{"header with extra column", Header + ",x\n", 0, "first line is"},
		{"not a header prefix, no newline", "hello", 0, "first line is"},
		{"bad status", Header + "\n" + good + row("1", "done", 3, fp(1)), 3, `status "done"`},
		{"bad line", Header + "\n" + good + "1,failed,m,x7,,1,t,\n", 3, `line "x7"`},
		{"line zero", Header + "\n" + "1,failed,m,0,,1,t,\n", 2, `line "0"`},
		{"bad http status", Header + "\n" + "1,failed,m,2,OK,1,t,\n", 2, "http_status"},
		{"bad attempts", Header + "\n" + "1,failed,m,2,,,t,\n", 2, "attempts"},
		{"bad fingerprint", Header + "\n" + row("1", StatusFailed, 2, "1.23457E+15"), 2, "fingerprint"},
		{"success without fingerprint", Header + "\n" + row("1", StatusSuccess, 2, ""), 2, "without a fingerprint"},
		{"too few cells", Header + "\n" + good + "1,failed,m\n", 3, "wrong number of cells"},
		{"bad quote", Header + "\n" + good + good + "1,failed,a\"b,4,,1,t,\n", 4, "bare \""},
		{"multi-line row then bad", Header + "\n" + "1,failed,\"a\nb\",2,,1,t,\n" + "1,x,m,4,,1,t,\n", 4, `status "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			writeFile(t, path, tt.content)
			_, err := Open(path, Resume)
			if !errors.Is(err, ErrNotResults) {
				t.Fatalf("Open: err = %v, want ErrNotResults", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q: want the path and %q", msg, tt.wantText)
			}
			if tt.wantLine > 0 {
				if prefix := fmt.Sprintf("%s:%d: ", path, tt.wantLine); !strings.HasPrefix(msg, prefix) {
					t.Errorf("error %q: want prefix %q", msg, prefix)
				}
			}
			if got := readFile(t, path); got != tt.content {
				t.Errorf("a refused file was changed:\n%q", got)
			}
			// The refusal released the lock.
			if tt.wantLine > 0 {
				w := mustOpen(t, path, Overwrite)
				mustClose(t, w)
			}
		})
	}
}

func TestResumeReadsMultiLineCells(t *testing.T) {
	// Write never splits a row over lines, but a file saved by another
	// tool may: it still loads.
	path := tempPath(t)
	content := Header + "\n" + "1,failed,\"a\nb\",2,,1,t," + fp(1) + "\n" + row("2", StatusSuccess, 3, fp(2))
	writeFile(t, path, content)
	d := mustOpen(t, path, Resume).Done()
	if d.Rows() != 2 || !d.Skip(3, fp(2)) || d.Skip(2, fp(1)) {
		t.Errorf("Rows() = %d, Skip(3) or Skip(2) wrong", d.Rows())
	}
}

func TestResumeBOM(t *testing.T) {
	path := tempPath(t)
	content := "\ufeff" + Header + "\n" + row("1", StatusSuccess, 2, fp(1))
	writeFile(t, path, content)
	d := mustOpen(t, path, Resume).Done()
	if !d.Skip(2, fp(1)) {
		t.Error("a BOM before the header breaks resume")
	}
}

func TestParseFingerprint(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0000000000000000", 0, true},
		{"00000000deadbeef", 0xdeadbeef, true},
		{"ffffffffffffffff", ^uint64(0), true},
		{"0123456789abcdef", 0x0123456789abcdef, true},
		{"", 0, false},
		{"deadbeef", 0, false},
		{"00000000DEADBEEF", 0, false},
		{"0x000000deadbeef", 0, false},
		{"00000000deadbeef0", 0, false},
		{"00000000deadbeeg", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseFingerprint(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseFingerprint(%q) = %#x, %v; want %#x, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDoneRecorded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.csv")
	content := Header + "\n" +
		"711,success,ok,2,200,1,2026-01-01T00:00:00.000Z,00000000000000aa\n" +
		"712,failed,no,3,200,1,2026-01-01T00:00:00.000Z,00000000000000bb\n" +
		"x,invalid,bad,4,,0,2026-01-01T00:00:00.000Z,\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Open(path, Resume)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	d := w.Done()
	for line, want := range map[int]bool{1: false, 2: true, 3: true, 4: true, 5: false, -1: false} {
		if got := d.Recorded(line); got != want {
			t.Errorf("Recorded(%d) = %v, want %v", line, got, want)
		}
	}
	var none *Done
	if none.Recorded(2) {
		t.Error("a nil Done recorded a line")
	}
}

func TestLineTableDenseAndSparse(t *testing.T) {
	var tb lineTable
	want := map[uint32]uint32{}
	put := func(line, v uint32) {
		tb.set(line, entry{fpLo: v})
		want[line] = v
	}
	put(2, 1)
	put(4_000_000_000, 2) // far away: sparse
	put(3, 3)
	put(200_000, 4) // sparse at first...
	for l := uint32(5); l < 150_000; l++ {
		put(l, l) // ...until dense grows past it
	}
	put(200_000, 5)
	put(2, 6)
	for line, v := range want {
		e, ok := tb.get(line)
		if !ok || e.fpLo != v {
			t.Errorf("get(%d) = %v, %v; want %d", line, e, ok, v)
		}
	}
	if _, ok := tb.get(4); ok {
		t.Error("get(4) found a line never set")
	}
	n := 0
	tb.each(func(entry) { n++ })
	if n != len(want) {
		t.Errorf("each visited %d entries, want %d", n, len(want))
	}
	if len(tb.dense) > 1<<20 {
		t.Errorf("dense grew to %d for a stray huge line", len(tb.dense))
	}
}
