package pkgs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrCommandNotFound is wrapped when a package has no such binary.
var ErrCommandNotFound = errors.New("command not found in package")

// DefaultBinlinkDir is where binlinks go on Linux, inside FS_ROOT.
const DefaultBinlinkDir = "/bin"

// FindBinary returns the path (inside the file-system root, not under
// FS_ROOT) of binary in the first of the package's PATH directories that
// holds a regular file of that name.
func (s *Store) FindBinary(p *Package, binary string) (string, error) {
	m, err := p.Metadata()
	if err != nil {
		return "", err
	}
	for _, dir := range m.BinDirs() {
		cand := filepath.Join(dir, binary)
		if fi, err := os.Stat(s.Rooted(cand)); err == nil && fi.Mode().IsRegular() {
			return cand, nil
		}
	}
	return "", fmt.Errorf("%w: `%s' was not found under any 'PATH' directories in the %s package", ErrCommandNotFound, binary, p.Ident)
}

// Binlink links binary from package p into destDir (a path inside the
// file-system root, such as /bin; it is created when missing). The link
// points at the binary's path inside the root (/hab/pkgs/...), as the
// original makes it, so it works in the chroot that FS_ROOT is. An
// existing link to another target is kept with a warning unless force is
// set; an existing file that is not a symlink is never replaced.
func (s *Store) Binlink(ctx context.Context, p *Package, binary, destDir string, force bool, r Reporter) error {
	r = reporter(r)
	if !filepath.IsAbs(destDir) {
		return fmt.Errorf("binlink %s: destination %q must be an absolute path", binary, destDir)
	}
	dst := s.Rooted(destDir)
	r.Begin(fmt.Sprintf("Binlinking %s from %s into %s", binary, p.Ident, dst))
	if err := ctx.Err(); err != nil {
		return err
	}
	src, err := s.FindBinary(p, binary)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
		r.Status(StatusCreating, "parent directory "+dst)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return fmt.Errorf("binlink %s: create %s: %w", binary, dst, err)
		}
	}
	link := filepath.Join(dst, filepath.Base(src))
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

// BinlinkAll links every file of the package's PATH directories into
// destDir, as `hab pkg binlink IDENT` and `hab pkg install --binlink` do.
func (s *Store) BinlinkAll(ctx context.Context, p *Package, destDir string, force bool, r Reporter) error {
	m, err := p.Metadata()
	if err != nil {
		return err
	}
	for _, dir := range m.BinDirs() {
		entries, err := os.ReadDir(s.Rooted(dir))
		if err != nil {
			return fmt.Errorf("binlink %s: %w", p.Ident, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			if err := s.Binlink(ctx, p, e.Name(), destDir, force, r); err != nil {
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
