package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kapture-bulk/kapture-bulk/writer"
)

// file is one path a command reads or writes, named as its flag names it.
type file struct {
	role string // how messages name it: INPUT, --results, the in-flight journal of --results
	flag string // the flag that moves it: what to change when it clashes
	path string
	out  bool // the command writes it
	// secret: it holds the token, so it may be no other file of the
	// command either, read or written (read as a CSV, it would be quoted).
	secret bool
}

// input is a file the command only reads; none for an empty path (a flag
// not given) or stdin.
func input(role, path string) []file {
	if path == "" || path == "-" {
		return nil
	}
	return []file{{role: role, flag: role, path: path}}
}

// secretInput is a file that holds the token (--token-file); none for an
// empty path.
func secretInput(role, path string) []file {
	if path == "" {
		return nil
	}
	return []file{{role: role, flag: role, path: path, secret: true}}
}

// output is a file the command writes under flag, then the files it
// writes beside it (a journal, a temporary file), each with what it is;
// none for an empty path.
func output(flag, path string, beside ...sidecar) []file {
	if path == "" {
		return nil
	}
	files := []file{{role: flag, flag: flag, path: path, out: true}}
	for _, s := range beside {
		files = append(files, file{role: "the " + s.what + " of " + flag, flag: flag, path: s.path(path), out: true})
	}
	return files
}

// sidecar is a file a command writes beside one of its outputs.
type sidecar struct {
	what string
	path func(string) string
}

// tmpFile is the temporary file an atomicFile writes first.
var tmpFile = sidecar{"temporary file", func(p string) string { return tmpPath(linkTarget(p)) }}

// checkFiles refuses (exit 2, a *clashError) a command one of whose
// outputs, or its token file, is another of its files, inputs or
// outputs: the same file (a link or a hard link included) when both
// exist, else the same path once made absolute and its links followed.
// It reads nothing but the files' metadata, so it can run before
// anything is read or written.
func checkFiles(files []file) error {
	for i, a := range files {
		for _, b := range files[i+1:] {
			if (a.out || b.out || a.secret || b.secret) && sameFile(a.path, b.path) {
				if !b.out && (a.out || b.secret) { // the one written (or the token) is at stake
					a, b = b, a
				}
				return withCode(exitUsage, &clashError{written: b, other: a})
			}
		}
	}
	return nil
}

// clashError is an output of a command (or its token file) that is
// another of its files.
type clashError struct{ written, other file }

func (e *clashError) Error() string {
	if !e.written.out {
		return fmt.Sprintf("%s %s is also %s: the token file must be no other file of the command; check the paths", e.other.role, e.other.path, e.written.role)
	}
	return fmt.Sprintf("%s %s would overwrite %s %s: give %s another path", e.written.role, e.written.path, e.other.role, e.other.path, e.written.flag)
}

// involves reports whether the file that flag names, or one beside it,
// is one of the two.
func (e *clashError) involves(flag string) bool {
	return e.written.flag == flag || e.other.flag == flag
}

// sameFile reports whether paths a and b name one file: one that exists
// (os.SameFile), or one that would be created.
func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	return resolve(a) == resolve(b)
}

// maxLinks bounds the links resolve follows, as the OS bounds them.
const maxLinks = 40

// resolve returns path absolute and clean, with the links among its
// folders followed, and a link at its end followed even when what it
// points at does not exist yet (writing through it creates that).
func resolve(path string) string {
	p, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	for range maxLinks {
		dir, base := filepath.Split(p)
		if d, err := filepath.EvalSymlinks(dir); err == nil {
			dir = d
		}
		p = filepath.Join(dir, base)
		target, err := os.Readlink(p)
		if err != nil {
			return p
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		p = filepath.Clean(target)
	}
	return p
}

// tmpPath is where an atomicFile writes path's content first.
func tmpPath(path string) string { return path + ".tmp" }

// checkOutput refuses (exit 2) an output of flag that checkWritable
// refuses, and an existing file there (through a link, its target) that
// is not empty and does not start as this output starts (first: its
// header and newline, asked for only then): the output replaces only a
// file it wrote, never a results CSV, a journal, a snapshot or an input
// named by mistake, which would be lost. None for an empty path.
func checkOutput(flag, path string, first func() ([]byte, error)) error {
	return checkOwned(flag, path, func() (owner, error) {
		want, err := first()
		if err != nil {
			return owner{}, err
		}
		return startsWith("its header, "+strings.TrimSpace(strings.TrimPrefix(string(want), "\ufeff")), want), nil
	})
}

// owner tells a file an output wrote by its start: is reads the file
// from its first byte (a few KiB at most); start says, for the refusal,
// what such a file starts with.
type owner struct {
	start string
	is    func(r io.Reader) bool
}

// startsWith is the owner of an output whose files start with the bytes
// want, which start names.
func startsWith(start string, want []byte) owner {
	return owner{start: start, is: func(r io.Reader) bool {
		got := make([]byte, len(want))
		_, err := io.ReadFull(r, got)
		return err == nil && bytes.Equal(got, want)
	}}
}

// checkOwned is checkOutput for an output that mine tells (asked for
// only when a non-empty file is there): --summary-json and
// --metrics-file, whose files have no header, use it directly.
func checkOwned(flag, path string, mine func() (owner, error)) error {
	if path == "" {
		return nil
	}
	if err := checkWritable(path); err != nil {
		return usagef("%s %w", flag, err)
	}
	f, err := os.Open(linkTarget(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("%s %s: %w", flag, path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		return nil
	}
	o, err := mine()
	if err != nil {
		return withCode(exitUsage, err)
	}
	if o.is(f) {
		return nil
	}
	return usagef("%s %s exists and is not a file %s writes (it does not start with %s): it is not replaced; move it aside or give %s another path",
		flag, path, flag, o.start, flag)
}

// checkReadable refuses (exit 2) a file a command will read that is
// missing, is no regular file or may not be opened, before anything is
// read or written, in one line naming it as its flag does ("--snapshot
// s.csv: permission denied"): a file to mend, not a time to try again
// (exit 3). Every command checks its input files through it.
func checkReadable(files ...[]file) error {
	for _, f := range slices.Concat(files...) {
		if err := readable(f.path); err != nil {
			return fileError(f.role, f.path, err)
		}
	}
	return nil
}

// fileError is err, a failure to read the file role names at path, as
// checkReadable words it: the role and the path, then the reason without
// the system call; exit 2.
func fileError(role, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return usagef("%s %s: %w", role, path, err)
}

// pipeWait is how long a command waits for what writes a token or
// certificate file that is a pipe (--token-file <(pass show acme)).
const pipeWait = 10 * time.Second

// readWritten is read(path), but when path is not a regular file (a pipe
// from a secrets agent, whose open and read wait for a writer), at most
// wait: then it is an error saying so. The goroutine that reads is left
// to the process's end in that case: an open of a FIFO cannot be
// cancelled.
func readWritten[T any](path string, wait time.Duration, read func(string) (T, error)) (T, error) {
	if fi, err := os.Stat(path); err != nil || fi.Mode().IsRegular() {
		return read(path)
	}
	type answer struct {
		v   T
		err error
	}
	got := make(chan answer, 1) // the reader never blocks on it
	go func() {
		v, err := read(path)
		got <- answer{v, err}
	}()
	select {
	case a := <-got:
		return a.v, a.err
	case <-time.After(wait):
		var zero T
		return zero, fmt.Errorf("nothing was written to it within %v (a pipe: start what writes it first)", wait)
	}
}

// readable is why the file at path cannot be read: nil when it is a
// regular file it may open. Anything else is refused before it is opened,
// so that a FIFO cannot block.
func readable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return writer.NotRegular(fi)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// removeEarlier removes the file an earlier command left at the output
// of flag (through a link, what it points to), once the checks let this
// one replace it: a command that then fails or is interrupted leaves
// none, so that no one takes an earlier file for this one's. None for an
// empty path.
func removeEarlier(flag, path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(linkTarget(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return usagef("%s: cannot remove the earlier %s: %w", flag, path, err)
	}
	return nil
}

// header is the start of an output whose header is h, for checkOutput.
func header(h string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(h + "\n"), nil }
}
