package reader

import (
	"bytes"
	"fmt"
)

// kindPeek is how many bytes are waited for to recognise a file by its
// first bytes; more are looked at when already buffered.
const kindPeek = 16

const saveAsCSV = `save it from Excel as "CSV UTF-8 (Comma delimited)" and give that file`

// magic is a file format recognised by its first bytes.
type magic struct {
	prefix string
	what   string // what the file is, after "this is"
	todo   string // what to do instead
}

var magics = []magic{
	{"PK\x03\x04", "", ""}, // zip: told apart by zipKind
	{"PK\x05\x06", "an empty zip archive", "give the CSV file itself"},
	{"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "", ""}, // OLE2: told apart by oleKind
	{"\x1F\x8B", "a gzip-compressed file", "decompress it (gunzip) and give the CSV inside"},
	{"BZh", "", ""}, // checked with its block magic by compressedKind
	{"\xFD7zXZ\x00", "an xz-compressed file", "decompress it (unxz) and give the CSV inside"},
	{"\x28\xB5\x2F\xFD", "a zstd-compressed file", "decompress it (unzstd) and give the CSV inside"},
	{"7z\xBC\xAF\x27\x1C", "a 7-Zip archive", "extract it and give the CSV inside"},
	{"Rar!\x1A\x07", "a RAR archive", "extract it and give the CSV inside"},
	{"%PDF-", "a PDF document", "export the data as CSV from the system it came from"},
	{"\x89PNG\r\n\x1A\n", "a PNG image", "give the CSV export itself"},
	{"\xFF\xD8\xFF", "a JPEG image", "give the CSV export itself"},
	{"SQLite format 3\x00", "an SQLite database", "export the table as CSV (sqlite3 -csv -header) and give that file"},
}

// fileKind recognises a file that is not text by its first bytes (magic
// numbers, not the file name: stdin has none, and a renamed workbook is
// still a workbook). It returns what the file is and what to do, or ""
// for anything else.
func fileKind(head []byte) (what, todo string) {
	for _, m := range magics {
		if !bytes.HasPrefix(head, []byte(m.prefix)) {
			continue
		}
		switch m.prefix {
		case "PK\x03\x04":
			return zipKind(head)
		case "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1":
			return oleKind(head)
		case "BZh":
			// "BZh" could start a header; the block magic (pi) cannot.
			if len(head) >= 10 && head[3] >= '1' && head[3] <= '9' && string(head[4:10]) == "1AY&SY" {
				return "a bzip2-compressed file", "decompress it (bunzip2) and give the CSV inside"
			}
			return "", ""
		}
		return m.what, m.todo
	}
	return "", ""
}

// zipKind tells Office and OpenDocument files from other zip archives by
// the names of their parts (stored uncompressed in each local header).
func zipKind(head []byte) (what, todo string) {
	switch {
	case bytes.Contains(head, []byte("mimetypeapplication/vnd.oasis.opendocument.spreadsheet")):
		return "an OpenDocument spreadsheet (.ods)", `save it as "Text CSV" with UTF-8 and give that file`
	case bytes.Contains(head, []byte("xl/")):
		return "an Excel workbook (.xlsx)", saveAsCSV
	case bytes.Contains(head, []byte("word/")), bytes.Contains(head, []byte("ppt/")):
		return "a Word or PowerPoint document, not a spreadsheet", "give the CSV export of the ticket updates"
	}
	return "a zip archive (an Excel .xlsx workbook is one)", "if it is a workbook, " + saveAsCSV + "; if an archive, extract the CSV and give that"
}

// oleKind tells an Excel 97-2003 workbook from other legacy Office files
// by its "Workbook" stream name (UTF-16), when it is in the bytes seen.
func oleKind(head []byte) (what, todo string) {
	if bytes.Contains(head, []byte("W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00")) || bytes.Contains(head, []byte("B\x00o\x00o\x00k\x00")) {
		return "an Excel 97-2003 workbook (.xls)", saveAsCSV
	}
	return "a legacy Microsoft Office file (an Excel .xls workbook is one)", "if it is a workbook, " + saveAsCSV
}

// binaryLine says why the first line of the input (decoded) shows a file
// that is no text: it holds a control character (NUL included) that no
// header holds. "" when it does not, and for text in UTF-16 without its
// byte order mark (NUL every other byte), which the header check explains.
func binaryLine(line []byte, kind string) string {
	i := bytes.IndexFunc(line, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' && r != '\v'
	})
	if i < 0 || line[i] == 0 && utf16Like(line) {
		return ""
	}
	give := "the CSV export of the ticket updates"
	if kind != "" {
		give = kind
	}
	return fmt.Sprintf("this is not a text file (byte %d of the first line is the control character 0x%02X); give %s", i+1, line[i], give)
}

// NotText says why a file whose first bytes are head is no text, for a
// file that should be kind ("a results CSV", named in what to give
// instead of a binary file): it is a workbook, an
// archive, an image (by its first bytes), or its first line holds a
// control character; "" for text. Validate says the same of an input.
func NotText(head []byte, kind string) string {
	if what, _ := fileKind(head); what != "" {
		return "this is " + what
	}
	line, _ := firstLine(head)
	return binaryLine(line, kind)
}

// utf16Like reports text where every other byte is NUL: ASCII in UTF-16.
func utf16Like(b []byte) bool {
	b = b[:min(len(b), 512)]
	var zeros [2]int
	for i, c := range b {
		if c == 0 {
			zeros[i%2]++
		}
	}
	half := len(b) / 2
	return half > 0 && (zeros[0] >= half*9/10 && zeros[1] < half/10 || zeros[1] >= half*9/10 && zeros[0] < half/10)
}
