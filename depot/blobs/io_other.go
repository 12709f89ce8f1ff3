//go:build !linux

package blobs

import (
	"errors"
	"os"
)

// setDirect refuses: direct I/O is only used on Linux; blobs are written
// through the page cache elsewhere.
func setDirect(*os.File, bool) error { return errors.ErrUnsupported }

// startWriteback does nothing where sync_file_range is missing: the
// fsync at Commit writes everything.
func startWriteback(*os.File, int64, int64) {}
