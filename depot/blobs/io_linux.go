package blobs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// setDirect turns O_DIRECT on or off for f's open file (fcntl F_SETFL):
// with it, writes go from the caller's memory to the disk without passing
// through the page cache. A file system without direct I/O refuses it.
func setDirect(f *os.File, on bool) error {
	fd := int(f.Fd())
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return fmt.Errorf("flags of %s: %w", f.Name(), err)
	}
	if on {
		fl |= unix.O_DIRECT
	} else {
		fl &^= unix.O_DIRECT
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl); err != nil {
		return fmt.Errorf("set O_DIRECT=%t on %s: %w", on, f.Name(), err)
	}
	return nil
}

// startWriteback asks the kernel to start writing the range to disk
// without waiting (sync_file_range SYNC_FILE_RANGE_WRITE). It is only a
// head start for the fsync at Commit, which waits for the data and
// reports any write error, so its own error is not needed.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
