package pkgs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrCommandNotFound is wrapped when a package has no such binary.
var ErrCommandNotFound = errors.New("command not found in package")

// DefaultBinlinkDir is where binlinks go on Linux, inside FS_ROOT.
const DefaultBinlinkDir = "/bin"

// FindBinary returns the path (inside the file-system root, not under
// FS_ROOT) of binary in the first of the package's PATH directories that
// holds a regular file of that name. binary is a file name, not a path;
// a PATH directory or a binary that resolves outside the package (through
// ".." or a symbolic link) is never used.
func (s *Store) FindBinary(p *Package, binary string) (string, error) {
	if binary == "" || binary == "." || binary == ".." || strings.ContainsAny(binary, "/\x00") {
		return "", fmt.Errorf("binlink %q from %s: %w: a binary is named by its file name, without a directory", binary, p.Ident, ErrCommandNotFound)
	}
	m, err := p.Metadata()
	if err != nil {
		return "", err
	}
	for _, dir := range m.BinDirs() {
		cand := path.Join(dir, binary)
		real, err := s.inPackage(p, cand)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(real); err == nil && fi.Mode().IsRegular() {
			return cand, nil
		}
	}
	return "", fmt.Errorf("%w: `%s' was not found under any 'PATH' directories in the %s package", ErrCommandNotFound, binary, p.Ident)
}

// Binlink links binary from package p into destDir (a path inside the
// file-system root, such as /bin; it is created when missing). The link
// points at the binary's path inside the root (/hab/pkgs/...), as the
// original makes it, so it works in the chroot that FS_ROOT is. destDir is
// resolved inside FS_ROOT (".." and symbolic links never lead out of it).
// An existing link to another target is kept with a warning unless force
// is set; an existing file that is not a symlink is never replaced.
func (s *Store) Binlink(ctx context.Context, p *Package, binary, destDir string, force bool, r Reporter) error {
	r = reporter(r)
	if !filepath.IsAbs(destDir) {
		return fmt.Errorf("binlink %s: destination %q must be an absolute path", binary, destDir)
	}
	r.Begin(fmt.Sprintf("Binlinking %s from %s into %s", binary, p.Ident, s.Rooted(destDir)))
	if err := ctx.Err(); err != nil {
		return err
	}
	src, err := s.FindBinary(p, binary)
	if err != nil {
		return err
	}
	dst, err := s.resolveDest(destDir, r)
	if err != nil {
		return fmt.Errorf("binlink %s: %w", binary, err)
	}
	link := filepath.Join(dst, path.Base(src))
	done := fmt.Sprintf("Binlinked %s from %s to %s", binary, p.Ident, link)
	fi, err := os.Lstat(link)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("binlink %s: %w", binary, err)
	case fi.Mode()&fs.ModeSymlink == 0:
		return fmt.Errorf("binlink %s: %s already exists and is not a symlink; not replacing it", binary, link)
	default:
		old, err := os.Readlink(link)
		if err != nil {
			return fmt.Errorf("binlink %s: %w", binary, err)
		}
		if old == src {
			r.End(done)
			return nil
		}
		if !force {
			r.Warn(fmt.Sprintf("Skipping binlink because %s already exists at %s. Use --force to overwrite", binary, link))
			return nil
		}
	}
	if err := replaceSymlink(src, link); err != nil {
		return fmt.Errorf("binlink %s: %w", binary, err)
	}
	r.End(done)
	return nil
}

// resolveDest returns the host path of the binlink directory destDir,
// created inside FS_ROOT when missing.
func (s *Store) resolveDest(destDir string, r Reporter) (string, error) {
	if real, err := resolveIn(s.FSRoot, destDir); err == nil {
		if fi, err := os.Stat(real); err == nil && fi.IsDir() {
			return real, nil
		}
	}
	r.Status(StatusCreating, "parent directory "+s.Rooted(destDir))
	real, err := s.mkdirIn(destDir)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", s.Rooted(destDir), err)
	}
	return real, nil
}

// BinlinkAll links every file of the package's PATH directories into
// destDir, as `hab pkg binlink IDENT` and `hab pkg install --binlink` do.
// A PATH directory that resolves outside the package is refused; an entry
// that does not resolve to a file inside the package is skipped with a
// warning.
func (s *Store) BinlinkAll(ctx context.Context, p *Package, destDir string, force bool, r Reporter) error {
	m, err := p.Metadata()
	if err != nil {
		return err
	}
	for _, dir := range m.BinDirs() {
		real, err := s.inPackage(p, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("binlink %s: %w", p.Ident, err)
		}
		entries, err := os.ReadDir(real)
		if err != nil {
			return fmt.Errorf("binlink %s: %w", p.Ident, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			err := s.Binlink(ctx, p, e.Name(), destDir, force, r)
			if errors.Is(err, ErrCommandNotFound) {
				// A link that leads out of the package, or to no file.
				reporter(r).Warn(fmt.Sprintf("Skipping %s: it is not a file inside %s", e.Name(), p.Ident))
				continue
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// replaceSymlink makes link point at target, atomically replacing what
// is there.
func replaceSymlink(target, link string) error {
	tmp := filepath.Join(filepath.Dir(link), ".tmp-binlink-"+filepath.Base(link))
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// isUnder reports whether p lies inside dir.
func isUnder(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}
