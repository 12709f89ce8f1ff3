//go:build !linux

package pkgs

import (
	"path"
	"path/filepath"
)

// resolveIn, without openat2, resolves ".." lexically only: symbolic
// links are followed as the host sees them.
func resolveIn(fsRoot, p string) (string, error) {
	real, err := filepath.EvalSymlinks(filepath.Join(fsRoot, path.Clean("/"+p)))
	if err != nil {
		return "", err
	}
	return real, nil
}
