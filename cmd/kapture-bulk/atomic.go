package main

import (
	"bufio"
	"errors"
	"os"
)

// atomicFile is a file written under PATH.tmp and renamed to PATH when
// whole, so that no one (a scheduler, a spreadsheet, a collector) ever
// reads half of it, and a failed write leaves PATH as it was.
type atomicFile struct {
	*bufio.Writer
	f    *os.File
	path string
	done bool // committed or aborted
}

// createAtomic starts writing the file at path: through a symbolic link,
// at what it points to (linkTarget).
func createAtomic(path string, perm os.FileMode) (*atomicFile, error) {
	path = linkTarget(path)
	f, err := os.OpenFile(tmpPath(path), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return nil, err
	}
	if perm&0o077 == 0 { // private, though a crash left the temporary file wider
		if err := f.Chmod(perm); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &atomicFile{Writer: bufio.NewWriterSize(f, 64<<10), f: f, path: path}, nil
}

// commit ends the file and puts it in place; on failure it removes it.
func (a *atomicFile) commit() error {
	a.done = true
	err := errors.Join(a.Flush(), a.f.Sync(), a.f.Close())
	if err == nil {
		err = os.Rename(a.f.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.f.Name())
	}
	return err
}

// abort drops the file, unless committed; PATH stays as it was.
func (a *atomicFile) abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	os.Remove(a.f.Name())
}

// writeAtomic writes b to path as an atomicFile.
func writeAtomic(path string, b []byte, perm os.FileMode) error {
	a, err := createAtomic(path, perm)
	if err != nil {
		return err
	}
	if _, err := a.Write(b); err != nil {
		a.abort()
		return err
	}
	return a.commit()
}

// linkTarget is where writing path lands: path itself, or for a symbolic
// link what it points to, followed to the end (it need not exist yet).
// An atomicFile writes there, as a plain write through the link would, so
// that a link an operator made (summary.json -> /shared/job/summary.json)
// stays a link, and a link into a missing folder is refused as that
// folder is (checkWritable).
func linkTarget(path string) string {
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return path
	}
	return resolve(path)
}
