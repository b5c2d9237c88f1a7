package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	keynames "github.com/kapture-bulk/kapture-bulk/internal/names"
	"github.com/kapture-bulk/kapture-bulk/reader"
	"github.com/kapture-bulk/kapture-bulk/writer"
)

// namesFlag is --names: names files of key-name pairs, the flag given
// more than once or with a comma-separated list.
type namesFlag []string

func (n *namesFlag) String() string {
	if n == nil {
		return ""
	}
	return strings.Join(*n, ",")
}

func (n *namesFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*n = append(*n, p)
		}
	}
	return nil
}

// registerNames adds --names to fs.
func registerNames(fs *flag.FlagSet, n *namesFlag, what string) {
	fs.Var(n, "names", "a names `FILE` of key-name pairs, CSV kind,key,name,parent (kind sub_status, queue or status; parent, for a sub_status, the status it sits under: "+
		"a name read under a status stands only for a key known to sit under it, so a pair without a parent translates only a read that shows no status; "+
		"a run keeps the pairs its replies show in RESULTS.names.csv, which is one): "+what+"; give the flag again, or a comma-separated list, for several")
}

// files are the names files, for checkFiles.
func (n namesFlag) files() []file {
	var fs []file
	for _, p := range n {
		fs = append(fs, input("--names", p)...)
	}
	return fs
}

// resultsInputs are the files a command reads given --results: RESULTS,
// its in-flight journal and the key-name pairs beside it; none for "".
func resultsInputs(results string) []file {
	if results == "" {
		return nil
	}
	return slices.Concat(input("--results", results), input("the in-flight journal of --results", writer.JournalPath(results)),
		input("the key-name pairs of --results", keynames.ResultsPath(results)))
}

// checkResults refuses (exit 2) a --results whose first line is not the
// results header: an input or another CSV given by mistake would pass
// for the results of a run that recorded no pairs. An empty file passes,
// as a run that read no row leaves one.
func checkResults(path string) error {
	f, _, err := writer.OpenRead(path)
	if err != nil {
		return fileError("--results", path, err)
	}
	defer f.Close()
	err = writer.ReadRows(f, path, func(writer.Row) error { return errFirstEntry })
	if err != nil && !errors.Is(err, errFirstEntry) {
		return usagef("--results: %w", err)
	}
	return nil
}

// noPairsNote says that no key-name pairs were recorded beside results
// (the run kept none, or RESULTS.names.csv was not copied with it),
// naming the path looked for; "" when they were, or results is "".
func noPairsNote(results string) string {
	if results == "" {
		return ""
	}
	p := keynames.ResultsPath(results)
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		return ""
	}
	return fmt.Sprintf("--results %s: no key-name pairs were recorded beside it (looked for %s): the names the reads show are translated only with --names", results, p)
}

// loadBook is the book of key-name pairs a command translates with: the
// pairs a run kept beside results (keynames.ResultsPath; none when results is
// "" or the run kept none), then those of the names files. A names file
// that cannot be read, that holds a pair twice or a key with two names
// (in it or against a file before it), or that was saved for another API
// than api (when api is known) is refused, exit 2, naming file, line and
// column where there is one.
func loadBook(results string, files namesFlag, api string) (*keynames.Book, error) {
	if err := checkReadable(files.files()); err != nil {
		return nil, err
	}
	b := keynames.NewBook()
	var paths []string
	if results != "" {
		p := keynames.ResultsPath(results)
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	for _, p := range append(paths, files...) {
		if err := checkNamesAPI(p, api); err != nil {
			return nil, err
		}
		if err := b.Load(p); err != nil {
			var fe *reader.FileError
			if errors.As(err, &fe) {
				return nil, withCode(exitUsage, fmt.Errorf("names file %w", err))
			}
			return nil, withCode(exitUsage, err)
		}
	}
	return b, nil
}

// checkNamesAPI refuses the names file at path when it was saved for
// another API than api (a tenant's names are no other's).
func checkNamesAPI(path, api string) error {
	if api == "" {
		return nil
	}
	other, err := keynames.APIOf(path)
	if err != nil || other == "" || other == api {
		return nil // a file that cannot be read is Load's to say
	}
	return usagef("names file %s holds the names of another API, %s, not of %s: give the names of this tenant", path, other, api)
}
