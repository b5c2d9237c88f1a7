package reader

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zipOf is a zip archive holding the named parts, in order, as an office
// suite writes them (an OpenDocument mimetype part is stored first,
// uncompressed).
func zipOf(t *testing.T, parts ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, p := range parts {
		name, body, _ := strings.Cut(p, "=")
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate}
		if name == "mimetype" {
			hdr.Method = zip.Store
		}
		w, err := z.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body+strings.Repeat(" <x/>", 200))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	io.WriteString(z, s)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFileKinds(t *testing.T) {
	const csvText = "ticket_id,sub_status\n713517204455,CL\n"
	ole := "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + strings.Repeat("\x00", 500)
	tests := []struct {
		name string
		data []byte
		// has: fragments of the refusal; none: the file is read.
		has []string
	}{
		{"xlsx", zipOf(t, "[Content_Types].xml=<Types/>", "_rels/.rels=<Relationships/>", "xl/workbook.xml=<workbook/>"),
			[]string{"an Excel workbook (.xlsx)", `save it from Excel as "CSV UTF-8`}},
		{"xlsx from LibreOffice", zipOf(t, "_rels/.rels=<Relationships/>", "docProps/app.xml=<x/>", "xl/workbook.xml=<workbook/>"),
			[]string{"an Excel workbook (.xlsx)"}},
		{"ods", zipOf(t, "mimetype=application/vnd.oasis.opendocument.spreadsheet", "content.xml=<x/>"),
			[]string{"an OpenDocument spreadsheet (.ods)", "Text CSV"}},
		{"docx", zipOf(t, "[Content_Types].xml=<Types/>", "word/document.xml=<w/>"), []string{"a Word or PowerPoint document"}},
		{"other zip", zipOf(t, "export/tickets.csv="+csvText), []string{"a zip archive", "extract the CSV"}},
		{"xls", []byte(ole + "W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00" + strings.Repeat("\x00", 100)), []string{"an Excel 97-2003 workbook (.xls)", "CSV UTF-8"}},
		{"other OLE2 file", []byte(ole), []string{"a legacy Microsoft Office file", "CSV UTF-8"}},
		{"gzip", gzipOf(t, csvText), []string{"a gzip-compressed file", "gunzip"}},
		{"bzip2", []byte("BZh91AY&SY\x12\x34\x00\x00junk"), []string{"bzip2", "bunzip2"}},
		{"xz", []byte("\xFD7zXZ\x00\x00\x04junk"), []string{"xz-compressed"}},
		{"zstd", []byte("\x28\xB5\x2F\xFD\x00junk"), []string{"zstd-compressed"}},
		{"7z", []byte("7z\xBC\xAF\x27\x1C\x00\x04junk"), []string{"7-Zip"}},
		{"rar", []byte("Rar!\x1A\x07\x01\x00junk"), []string{"RAR archive"}},
		{"pdf", []byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), []string{"a PDF document"}},
		{"png", []byte("\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR"), []string{"a PNG image"}},
		{"jpeg", []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), []string{"a JPEG image"}},
		{"sqlite", []byte("SQLite format 3\x00\x10\x00\x01\x01"), []string{"an SQLite database", "sqlite3 -csv"}},
		{"zeros", make([]byte, 100_000), []string{"not a text file", "0x00"}},
		{"binary without NUL", []byte("\x13\x07ELF-ish\x01\x02,\x05\n"), []string{"not a text file", "0x13"}},
		// Text that only looks like a magic number is read.
		{"a header starting BZh", []byte("BZh,ticket_id,sub_status\nx,713517204455,CL\n"), nil},
		{"a header starting PK", []byte("PK,ticket_id,sub_status\nx,713517204455,CL\n"), nil},
		{"tabs and form feeds", []byte("ticket_id\tsub_status\f\n713517204455\tCL\n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "input.csv") // the name does not matter
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, how := range []string{"file", "one byte"} {
				_, err, checkErr := readPath(t, path, Options{Name: "input.csv"}, chunkings[how])
				if tt.has == nil {
					if err != nil || checkErr != nil {
						t.Errorf("%s: refused: %v / Check: %v", how, err, checkErr)
					}
					continue
				}
				has := tt.has
				if how == "one byte" {
					has = has[:1]
					if strings.HasPrefix(tt.name, "xls") || tt.name == "ods" || tt.name == "docx" {
						// a slow pipe gives only the first bytes: the kind of
						// container is still named
						has = nil
					}
				}
				wantRefusal(t, err, "input.csv", 0, 0, has...)
				sameRefusal(t, err, checkErr)
			}
		})
	}
}

// TestUTF16WithoutBOMIsNotBinary: its NULs are explained by the header
// check, which tells what to do about them.
func TestUTF16WithoutBOMIsNotBinary(t *testing.T) {
	var b []byte
	for _, c := range []byte("ticket_id,sub_status\n1,CL\n") {
		b = append(b, c, 0)
	}
	_, err := Open(bytes.NewReader(b), Options{Name: "x"})
	wantRefusal(t, err, "x", 1, 1, "UTF-16 without a byte order mark")
}

func TestFoundListIsCut(t *testing.T) {
	_, err := Open(strings.NewReader(columns(900, ";")[len("ticket_id;sub_status;"):]+"\n"), Options{Name: "x"})
	wantRefusal(t, err, "x", 1, 0, `"c3", "c4"`, "… and 886 more")
}
