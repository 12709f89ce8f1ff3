//go:build !unix

package hart

import (
	"io/fs"
	"time"
)

const noFollow = 0

func lchtimes(string, time.Time) error { return nil }

func inode(fs.FileInfo) (key [2]uint64, ok bool) { return key, false }
