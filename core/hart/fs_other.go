//go:build !unix

package hart

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

const noFollow = 0

func lchtimes(string, time.Time) error { return nil }

func inode(fs.FileInfo) (key [2]uint64, ok bool) { return key, false }

func openNonBlockingWriter(string) (*os.File, error) {
	return nil, errors.New("named pipes are not supported on this system")
}
