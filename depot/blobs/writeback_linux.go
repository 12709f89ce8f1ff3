package blobs

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the range to disk
// without waiting (sync_file_range SYNC_FILE_RANGE_WRITE). It is only a
// head start for the fsync at Commit, which waits for the data and
// reports any write error, so its own error is not needed.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
