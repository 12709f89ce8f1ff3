package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// LockPath is the lock file of the studio at root: beside the root
// (.NAME.lock), where nothing run inside the studio can reach it.
func LockPath(root string) string {
	root = filepath.Clean(root)
	return filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+".lock")
}

// Use is how a command uses a studio.
type Use int

const (
	// Shared use runs commands in a studio as it is (enter, run,
	// build -R of hab studio, new): several may at once.
	Shared Use = iota
	// Exclusive use removes, recreates or builds in a studio
	// (hab studio rm, hab pkg build): no one else may use it meanwhile.
	Exclusive
)

// BusyError is a studio in use by another hab.
type BusyError struct {
	Root string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("studio %s is in use by another hab (a run, enter or build in it); retry when it has finished", e.Root)
}

// Lock is a held studio lock; Unlock releases it (the kernel releases it
// too when the process ends, however it ends).
type Lock struct{ f *os.File }

// Unlock releases the lock, and removes the lock file when no one else
// holds or waits for it (whoever opened it meanwhile finds it gone, and
// opens the new one).
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	fd := int(l.f.Fd())
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil {
		_ = os.Remove(l.f.Name())
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// current reports whether fd is still the file at p (not one removed by
// the holder before).
func current(fd int, p string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(fd, &a) != nil || unix.Lstat(p, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// lockPoll is how often a waiting Acquire tries again (flock cannot be
// interrupted by a context).
const lockPoll = 50 * time.Millisecond

// Acquire locks the studio at root for use (flock on LockPath). When
// another hab holds it in a conflicting way: with waiting nil it returns a
// *BusyError at once; otherwise it calls waiting once (to say so) and
// waits until the lock is free or ctx ends.
func Acquire(ctx context.Context, root string, use Use, waiting func()) (*Lock, error) {
	p := LockPath(root)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("lock studio %s: %w", root, err)
	}
	how := unix.LOCK_SH
	if use == Exclusive {
		how = unix.LOCK_EX
	}
	told := false
	var f *os.File
	for {
		if f == nil {
			fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
			if err != nil {
				return nil, fmt.Errorf("lock studio %s: open %s: %w", root, p, err)
			}
			f = os.NewFile(uintptr(fd), p)
		}
		fd := int(f.Fd())
		err := unix.Flock(fd, how|unix.LOCK_NB)
		if err == nil {
			if current(fd, p) {
				return &Lock{f: f}, nil
			}
			// The holder removed the file as it let go: take the new one.
			f.Close()
			f = nil
			continue
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock studio %s: %w", root, err)
		}
		if waiting == nil {
			f.Close()
			return nil, &BusyError{Root: root}
		}
		if !told {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for studio %s: %w", root, context.Cause(ctx))
		case <-time.After(lockPoll):
		}
	}
}
