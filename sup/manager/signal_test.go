package manager

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/habgo/hab/core/paths"
)

// TestFlockHolder reads the holder of a file's flock out of /proc/locks'
// text: the holder's line, never a waiter's ("->") or another file's.
func TestFlockHolder(t *testing.T) {
	dev := unix.Mkdev(0xfd, 0x01)
	locks := "1: POSIX  ADVISORY  WRITE 77 fd:01:5678 0 EOF\n" +
		"2: FLOCK  ADVISORY  WRITE 1234 fd:01:999 0 EOF\n" +
		"3: FLOCK  ADVISORY  WRITE 4321 fd:01:5678 0 EOF\n" +
		"3: -> FLOCK  ADVISORY  WRITE 555 fd:01:5678 0 EOF\n"
	for _, tt := range []struct {
		ino      uint64
		pid      int
		held     bool
		dev      uint64
		describe string
	}{
		{5678, 4321, true, dev, "the flock holder, not the POSIX lock nor the waiter"},
		{999, 1234, true, dev, "another file's holder"},
		{42, 0, false, dev, "a file nobody locks"},
		{5678, 0, false, unix.Mkdev(8, 1), "the same inode on another device"},
	} {
		pid, held := flockHolder(locks, tt.dev, tt.ino)
		if pid != tt.pid || held != tt.held {
			t.Errorf("%s: got %d, %v; want %d, %v", tt.describe, pid, held, tt.pid, tt.held)
		}
	}
}

// TestSignalTrustsTheLockNotTheFile: the PID written in LOCK is never
// signalled by itself. A LOCK nobody holds (a stale file, or one naming a
// PID of another namespace) means no supervisor runs; a held LOCK is
// signalled at its real holder.
func TestSignalTrustsTheLockNotTheFile(t *testing.T) {
	root := paths.At(t.TempDir())
	lockPath := LockFile(root)
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		t.Fatal(err)
	}
	// A stale LOCK naming this test's own PID: signalling it would kill
	// the test (SIGTERM), so reaching the next line proves it was not.
	if err := os.WriteFile(lockPath, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, found, err := Signal(root, syscall.SIGTERM); err != nil || found || pid != 0 {
		t.Fatalf("stale LOCK: pid %d, found %v, err %v; want nothing signalled", pid, found, err)
	}

	// A held LOCK: its holder is found (SIGCONT harms nobody), though the
	// file names PID 1.
	f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.WriteFile(lockPath, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	pid, held, err := lockHolder(lockPath)
	if err != nil || !held {
		t.Fatalf("held LOCK: held %v, err %v", held, err)
	}
	if pid != os.Getpid() && pid != 0 {
		t.Fatalf("held LOCK: holder %d, want this process %d", pid, os.Getpid())
	}
	if pid == os.Getpid() {
		if got, found, err := Signal(root, syscall.SIGCONT); err != nil || !found || got != os.Getpid() {
			t.Fatalf("held LOCK: Signal gave %d, %v, %v; want this process", got, found, err)
		}
	}

	if _, found, err := Signal(paths.At(t.TempDir()), syscall.SIGTERM); err != nil || found {
		t.Fatalf("no LOCK: found %v, err %v", found, err)
	}
}
