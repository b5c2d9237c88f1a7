package tokenfile

import (
	"os"
	"strings"
)

// Read returns the token the file at path holds: its text without the
// white space around it (a line end, CRLF) nor a UTF-8 byte order mark
// before it (Notepad's "UTF-8 with BOM" writes one, and the API refuses
// the token with it: 401). "" for a file of white space only. Its error
// is os.ReadFile's.
func Read(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimPrefix(string(b), "\ufeff")), nil
}
