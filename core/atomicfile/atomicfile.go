// Package atomicfile writes files all or nothing: into a hidden temporary
// file beside the final name, renamed (or linked) over it only when
// complete, so that a failure (a full disk, a cancelled export, a crash)
// leaves either the old file or the new one, and no temporary behind.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Option changes how Create writes.
type Option func(*config)

type config struct {
	sync      bool
	noReplace bool
}

// Durable flushes the file to disk before it takes the final name and the
// directory after, so that the new file survives a crash once Create
// returns (for keys, specs, pins, configuration).
func Durable() Option { return func(c *config) { c.sync = true } }

// NoReplace refuses to replace an existing file: the complete file is
// hard-linked to its name, which fails if the name exists, and the error
// then wraps fs.ErrExist. On a file system without hard links it checks
// that the name is free and renames, which another writer racing for the
// same name could still overwrite.
func NoReplace() Option { return func(c *config) { c.noReplace = true } }

// tempPattern is the os.CreateTemp pattern of the temporary file written
// beside path: hidden, named after the final name.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// Create fills path through fill and gives it mode, all or nothing,
// creating its directory (0755) if missing. fill's error is returned as
// is; on any error the temporary file is removed and path is untouched.
func Create(path string, mode os.FileMode, fill func(f *os.File) error, opts ...Option) (err error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	// The temporary name never outlives Create: after a rename it is gone,
	// after a link it is the second name of the file now at path.
	defer os.Remove(tmp)
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if c.sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if c.noReplace {
		err = place(tmp, path)
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	if c.sync {
		return SyncDir(dir)
	}
	return nil
}

// WriteFile writes data to path with mode, all or nothing.
func WriteFile(path string, data []byte, mode os.FileMode, opts ...Option) error {
	return Create(path, mode, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	}, opts...)
}

// place gives the complete temporary file tmp the name path unless path
// exists.
func place(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// No hard links here: check, then rename.
	if _, lerr := os.Lstat(path); lerr == nil {
		return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	}
	return os.Rename(tmp, path)
}

// SyncDir flushes directory dir, so that a name just given in it (a
// rename, a link) survives a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
