package writer

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// A results file is the record of runs against one API: RESULTS.api,
// beside it, names that API (batch.APIRoot's spelling), so that a resume
// against another one (a rehearsal's results, then the real tenant) is
// refused rather than taken for done.

// ErrOtherAPI refuses a results file that records runs against another
// API than the one a run sends to.
var ErrOtherAPI = errors.New("records runs against another API")

// APIPath is where the API a results file records runs against is kept:
// RESULTS without a .csv ending, plus .api.
func APIPath(results string) string {
	return strings.TrimSuffix(results, ".csv") + ".api"
}

// ClaimAPI makes the results file at results the record of runs against
// api: it writes APIPath(results) when it is missing (a new file, or one
// an older version wrote), and returns an error wrapping ErrOtherAPI,
// changing nothing, when it names another API. The file is replaced
// through a new file, never written through a link.
func ClaimAPI(results, api string) error {
	path := APIPath(results)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if got := strings.TrimSpace(string(b)); got != api {
			return fmt.Errorf("results file %q %w: %s (%s says so), not %s", results, ErrOtherAPI, got, path, api)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("results file %q: %w", results, err)
	}
	return writeNew(path, []byte(api+"\n"))
}

// APIOf returns the API the results file at results records runs against;
// "" when it records none (a file of an older version).
func APIOf(results string) (string, error) {
	b, err := os.ReadFile(APIPath(results))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("results file %q: %w", results, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ForgetAPI removes what APIPath(results) says, for a results file
// started afresh (Create, Overwrite).
func ForgetAPI(results string) error {
	if err := os.Remove(APIPath(results)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("results file %q: %w", results, err)
	}
	return nil
}

// writeNew creates path anew with data: whatever stands there (a link
// included) is removed first, and the file is created exclusively, so
// that nothing is ever written through a link.
func writeNew(path string, data []byte) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}
