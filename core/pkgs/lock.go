package pkgs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFile is the store's lock, in the store directory (a dot file, so
// listings skip it). Installs hold it shared from the moment they look at
// what is installed until their packages are in place, so that they run
// together; an uninstall holds it exclusively from building the
// dependency graph until its packages are gone. An uninstall therefore
// never removes a dependency that a running install has counted on, and
// an install never misses a package that an uninstall removes. Install
// hooks run after the lock is let go; uninstall hooks run under it, so an
// uninstall hook that itself installs or uninstalls waits until the
// context ends.
const LockFile = ".hab-pkgs.lock"

// lock takes the store lock, shared or exclusive, waiting for it until ctx
// ends, and returns the function that releases it.
func (s *Store) lock(ctx context.Context, exclusive bool) (func(), error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create package store %s: %w", s.Dir, err)
	}
	p := filepath.Join(s.Dir, LockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock package store: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	fd := int(f.Fd())
	if syscall.Flock(fd, how|syscall.LOCK_NB) == nil {
		return func() { f.Close() }, nil
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(fd, how) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock package store %s: %w", p, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		// The waiting flock ends when the holder lets go; the file is
		// closed then, which releases what it got.
		go func() {
			<-done
			f.Close()
		}()
		return nil, fmt.Errorf("wait for the package store lock %s: %w", p, ctx.Err())
	}
}
