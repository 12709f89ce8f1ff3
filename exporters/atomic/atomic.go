// Package atomic writes the exporters' output files all or nothing: into
// a temporary file beside the final name, renamed over it only when
// complete, so that a failure (a full disk, a cancelled export) leaves
// nothing behind.
package atomic

import (
	"fmt"
	"os"
	"path/filepath"
)

// Create fills path through fill, with mode, all or nothing.
func Create(path string, mode os.FileMode, fill func(f *os.File) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}

// WriteFile writes data to path with mode, all or nothing.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	return Create(path, mode, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}
