//go:build unix

package hart

import (
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// noFollow makes opening a final symlink component fail.
const noFollow = syscall.O_NOFOLLOW

// lchtimes sets the mtime of a symlink itself.
func lchtimes(path string, mtime time.Time) error {
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "lutimes", Path: path, Err: err}
	}
	return nil
}

// inode identifies a file for hard link detection; ok is false for files
// with a single link.
func inode(fi fs.FileInfo) (key [2]uint64, ok bool) {
	st, isStat := fi.Sys().(*syscall.Stat_t)
	if !isStat || st.Nlink < 2 {
		return key, false
	}
	return [2]uint64{uint64(st.Dev), uint64(st.Ino)}, true
}

// openNonBlockingWriter opens a FIFO for writing without waiting for a
// reader (it fails when there is none).
func openNonBlockingWriter(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
}
