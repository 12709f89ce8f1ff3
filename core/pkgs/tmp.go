package pkgs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Temporaries live directly in the store directory, so that renaming a
// staged package into place never crosses a file system. Their names start
// with a dot, so listings skip them. Each is locked (flock) by the process
// that made it for as long as it works in it: a temporary nobody holds is
// left over from a crash and is removed by the next install or uninstall.
const (
	installTmpPrefix   = ".hab-pkg-install-"
	uninstallTmpPrefix = ".hab-pkg-uninstall-"
)

type tempDir struct {
	path string
	lock *os.File
}

// newTemp makes a locked temporary directory in the store.
func (s *Store) newTemp(prefix, label string) (*tempDir, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create package store %s: %w", s.Dir, err)
	}
	for range 10 {
		p, err := os.MkdirTemp(s.Dir, prefix+label+"-")
		if err != nil {
			return nil, fmt.Errorf("create temporary directory in %s: %w", s.Dir, err)
		}
		f, err := os.Open(p)
		if err != nil {
			// Removed by a concurrent cleanup between MkdirTemp and Open.
			continue
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			os.Remove(p)
			return nil, fmt.Errorf("lock temporary directory %s: %w", p, err)
		}
		// A cleanup may have taken the lock first and removed the
		// directory: make sure the locked directory is still the one at p.
		fi, err1 := os.Stat(p)
		fl, err2 := f.Stat()
		if err1 != nil || err2 != nil || !os.SameFile(fi, fl) {
			f.Close()
			continue
		}
		return &tempDir{path: p, lock: f}, nil
	}
	return nil, fmt.Errorf("create temporary directory in %s: lost it to concurrent cleanups", s.Dir)
}

// remove deletes the temporary directory and releases it.
func (t *tempDir) remove() error {
	if t == nil || t.lock == nil {
		return nil
	}
	err := removeTree(t.path)
	t.lock.Close()
	t.lock = nil
	return err
}

// release unlocks the temporary without removing it (used once it has been
// renamed away or emptied).
func (t *tempDir) release() {
	if t != nil && t.lock != nil {
		t.lock.Close()
		t.lock = nil
	}
}

// CleanStale removes temporaries left behind by installs and uninstalls
// that crashed, and returns their paths. Temporaries in use by running
// processes are left alone.
func (s *Store) CleanStale() ([]string, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for stale temporaries in %s: %w", s.Dir, err)
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !(strings.HasPrefix(name, installTmpPrefix) || strings.HasPrefix(name, uninstallTmpPrefix)) {
			continue
		}
		p := filepath.Join(s.Dir, name)
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close() // held by a running install
			continue
		}
		err = removeTree(p)
		f.Close()
		if err != nil {
			return removed, fmt.Errorf("remove stale temporary %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// removeTree removes a directory tree, making read-only directories
// writable first when that is what stops it (packages may ship 0555
// directories).
func removeTree(p string) error {
	err := os.RemoveAll(p)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o700 != 0o700 {
				_ = os.Chmod(q, fi.Mode().Perm()|0o700)
			}
		}
		return nil
	})
	return os.RemoveAll(p)
}
