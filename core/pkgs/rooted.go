package pkgs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrOutside is wrapped when a path that must stay inside a package (or
// inside FS_ROOT) leads out of it, through ".." or a symbolic link.
var ErrOutside = errors.New("path leads outside")

// inPackage resolves p (a path inside the file-system root, such as a
// PATH entry of p's metadata) as the root would, and returns its host path
// when it lies inside the package; otherwise the error wraps ErrOutside
// and names the package.
func (s *Store) inPackage(pkg *Package, p string) (string, error) {
	base, err := resolveIn(s.FSRoot, pkg.Prefix)
	if err != nil {
		return "", fmt.Errorf("package %s: %w", pkg.Ident, err)
	}
	real, err := resolveIn(s.FSRoot, p)
	if err != nil {
		return "", fmt.Errorf("package %s: %w", pkg.Ident, err)
	}
	if !isUnder(real, base) {
		return "", fmt.Errorf("%w of package %s: %s resolves to %s", ErrOutside, pkg.Ident, p, real)
	}
	return real, nil
}

// mkdirIn makes the directory dir (an absolute path inside the file-system
// root, ".." and links resolved within it) and its missing parents, and
// returns its host path, which always lies inside the root.
func (s *Store) mkdirIn(dir string) (string, error) {
	dir = path.Clean("/" + dir)
	cur, err := resolveIn(s.FSRoot, "/")
	if err != nil {
		return "", err
	}
	walked := "/"
	for _, c := range strings.Split(strings.TrimPrefix(dir, "/"), "/") {
		if c == "" {
			continue
		}
		walked = path.Join(walked, c)
		next, err := resolveIn(s.FSRoot, walked)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(filepath.Join(cur, c), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", err
			}
			next, err = resolveIn(s.FSRoot, walked)
		}
		if err != nil {
			return "", err
		}
		cur = next
	}
	if fi, err := os.Stat(cur); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s (%s) is not a directory", dir, cur)
	}
	return cur, nil
}
