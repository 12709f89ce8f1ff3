package pkgs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
)

// ErrNotInstalled is wrapped when no installed package satisfies an ident.
var ErrNotInstalled = errors.New("package not installed")

// Store is the installed package store of one file-system root, seen from
// one active target: packages built for other targets are invisible, as in
// the original.
type Store struct {
	// FSRoot is the file-system root (FS_ROOT, "/" when unset).
	FSRoot string
	// Dir is FSRoot/hab/pkgs.
	Dir string
	// Target is the active package target.
	Target ident.Target
}

// New returns the store under root for the active target.
func New(root paths.Root, target ident.Target) *Store {
	return &Store{FSRoot: root.FS, Dir: root.Pkgs(), Target: target}
}

// Package is an installed package.
type Package struct {
	Ident ident.Ident // fully qualified
	// Path is the package directory on this machine (under FS_ROOT).
	Path string
	// Prefix is the package's path inside its file-system root:
	// /hab/pkgs/ORIGIN/NAME/VERSION/RELEASE.
	Prefix string
}

func (p *Package) String() string { return p.Ident.String() }

// Metadata reads and parses the package's metadata files. Errors name the
// package and the file.
func (p *Package) Metadata() (*pkgmeta.Metadata, error) {
	files, err := pkgmeta.ReadDir(p.Path)
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w", p.Ident, err)
	}
	return pkgmeta.Parse(p.Ident, files)
}

// DefaultConfig returns the content of the package's default.toml, or nil
// when it has none.
func (p *Package) DefaultConfig() ([]byte, error) {
	data, err := pkgmeta.ReadFile(p.Path, pkgmeta.FileDefaultConfig) // bounded
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read default configuration of %s: %w", p.Ident, err)
	}
	return data, nil
}

// HooksDir is the package's hooks directory.
func (p *Package) HooksDir() string { return filepath.Join(p.Path, "hooks") }

// ConfigDir is the package's configuration templates directory.
func (p *Package) ConfigDir() string { return filepath.Join(p.Path, "config") }

// PathFor is the directory a fully qualified package has in the store.
func (s *Store) PathFor(id ident.Ident) string {
	return filepath.Join(s.Dir, id.Origin, id.Name, id.Version, id.Release)
}

// Rooted maps an absolute path inside the file-system root (such as a
// /hab/pkgs/... path from metadata) to the path on this machine, ".."
// cleaned away first so that it cannot climb out of FS_ROOT (symbolic
// links are not resolved: see resolveIn).
func (s *Store) Rooted(p string) string {
	return filepath.Join(s.FSRoot, path.Clean("/"+p))
}

func (s *Store) pkg(id ident.Ident) *Package {
	return &Package{Ident: id, Path: s.PathFor(id), Prefix: pkgmeta.InstallPrefix(id)}
}

// installedTarget reads the TARGET of a release directory. A package
// without TARGET is taken as x86_64-linux, as hart.Metadata reads harts
// that lack it (the original hides such packages); one with an unreadable
// or unknown TARGET is not a package of any target.
func installedTarget(dir string) (ident.Target, bool) {
	data, err := readSmall(filepath.Join(dir, pkgmeta.FileTarget))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, pkgmeta.FileIdent)); err != nil {
			return "", false
		}
		return ident.X86_64Linux, true
	}
	if err != nil {
		return "", false
	}
	t, err := ident.ParseTarget(strings.TrimSpace(string(data)))
	if err != nil {
		return "", false
	}
	return t, true
}

// readSmall reads a file of at most a few hundred bytes (TARGET): more is
// an error, never read whole (every listing of the store reads TARGET).
func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 1024)
	n, err := io.ReadFull(f, buf)
	if err == nil {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, len(buf)-1)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

// subdirs lists the directories in dir, skipping hidden entries (install
// and uninstall temporaries start with a dot). A missing dir is empty.
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if e.IsDir() {
			out = append(out, e.Name())
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
				out = append(out, e.Name())
			}
		}
	}
	return out, nil
}

// List returns the installed packages of the active target that satisfy
// want, sorted by origin, name, version and release (the depot ordering).
// A zero want lists every package; an ident with only an origin (Name "")
// lists the origin.
func (s *Store) List(ctx context.Context, want ident.Ident) ([]ident.Ident, error) {
	var out []ident.Ident
	origins := []string{want.Origin}
	if want.Origin == "" {
		var err error
		if origins, err = subdirs(s.Dir); err != nil {
			return nil, err
		}
	}
	for _, o := range origins {
		names := []string{want.Name}
		if want.Name == "" {
			var err error
			if names, err = subdirs(filepath.Join(s.Dir, o)); err != nil {
				return nil, err
			}
		}
		for _, n := range names {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			versions := []string{want.Version}
			if want.Version == "" {
				var err error
				if versions, err = subdirs(filepath.Join(s.Dir, o, n)); err != nil {
					return nil, err
				}
			}
			for _, v := range versions {
				releases := []string{want.Release}
				if want.Release == "" {
					var err error
					if releases, err = subdirs(filepath.Join(s.Dir, o, n, v)); err != nil {
						return nil, err
					}
				}
				for _, r := range releases {
					id := ident.Ident{Origin: o, Name: n, Version: v, Release: r}
					if id.Validate() != nil {
						continue
					}
					if t, ok := installedTarget(s.PathFor(id)); ok && t == s.Target {
						out = append(out, id)
					}
				}
			}
		}
	}
	slices.SortFunc(out, ident.Compare)
	return out, nil
}

// Resolve returns the latest installed package (for the active target)
// that satisfies want, using the depot's version ordering. A fully
// qualified want resolves to itself when installed.
func (s *Store) Resolve(ctx context.Context, want ident.Ident) (*Package, error) {
	if err := want.Validate(); err != nil {
		return nil, err
	}
	ids, err := s.List(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("find installed %s: %w", want, err)
	}
	latest, ok := ident.Latest(ids)
	if !ok {
		return nil, s.notInstalled(want)
	}
	return s.pkg(latest), nil
}

func (s *Store) notInstalled(want ident.Ident) error {
	if want.FullyQualified() {
		return fmt.Errorf("%w: cannot find package %s (for %s) in %s", ErrNotInstalled, want, s.Target, s.Dir)
	}
	return fmt.Errorf("%w: cannot find a release of package %s (for %s) in %s", ErrNotInstalled, want, s.Target, s.Dir)
}

// IsInstalled reports whether the fully qualified id is installed for the
// active target.
func (s *Store) IsInstalled(id ident.Ident) bool {
	if !id.FullyQualified() || id.Validate() != nil {
		return false
	}
	t, ok := installedTarget(s.PathFor(id))
	return ok && t == s.Target
}

// Load returns the installed package id, which must be fully qualified.
func (s *Store) Load(id ident.Ident) (*Package, error) {
	if !s.IsInstalled(id) {
		return nil, s.notInstalled(id)
	}
	return s.pkg(id), nil
}

// InstalledTarget returns the target an installed package directory was
// built for, whatever the active target.
func (s *Store) InstalledTarget(id ident.Ident) (ident.Target, error) {
	t, ok := installedTarget(s.PathFor(id))
	if !ok {
		return "", fmt.Errorf("%w: %s has no readable TARGET in %s", ErrNotInstalled, id, s.PathFor(id))
	}
	return t, nil
}
