package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// removeBeneath removes path and everything under it, but only when it
// lies strictly beneath dir once both are made absolute, cleaned and
// their symbolic links resolved (path's own last element is not
// followed: a link there is removed, not its target). Anything else
// (dir itself, a parent of it, a path through a link that leads out) is
// refused with an error naming both, and nothing is removed. A path that
// does not exist is not an error.
func removeBeneath(dir, path string) error {
	target, err := resolveBeneath(dir, path)
	if err != nil {
		return err
	}
	if target == "" {
		return nil
	}
	if err := os.RemoveAll(target); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// resolveBeneath is where removeBeneath would remove path: "" when path
// does not exist, an error when it does not lie strictly beneath dir.
func resolveBeneath(dir, path string) (string, error) {
	refuse := func(why string) (string, error) {
		return "", fmt.Errorf("refusing to remove %s: %s %s", path, why, dir)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("remove %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("remove %s: %w", path, err)
	}
	if base := filepath.Base(abs); abs == "/" || base == "." || base == ".." {
		return refuse("it is not beneath")
	}
	realDir, err := filepath.EvalSymlinks(absDir)
	if errors.Is(err, fs.ErrNotExist) {
		// Nothing can exist beneath a directory that does not.
		if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return refuse("it is not beneath")
	}
	if err != nil {
		return "", fmt.Errorf("remove %s: resolve %s: %w", path, dir, err)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("remove %s: resolve %s: %w", path, filepath.Dir(abs), err)
	}
	target := filepath.Join(parent, filepath.Base(abs))
	if realDir != "/" && !strings.HasPrefix(target, realDir+"/") || target == realDir {
		return refuse("it does not resolve beneath")
	}
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return target, nil
}
