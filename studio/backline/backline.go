// Package backline gives a studio its base tools: the runtime closure of
// one package (the original's core/hab-backline: a shell, coreutils, tar,
// xz, sed, grep, make, a compiler...) installed into the studio's own
// /hab/pkgs from the host's installed packages or its artifact cache, the
// PATH those packages declare, and the few links every studio has
// (/bin/sh, /bin/bash, /usr/bin/env).
package backline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/studio"
)

// ErrNotFound: the backline is neither in the studio nor anywhere on the
// host it was looked for.
var ErrNotFound = errors.New("backline package not found")

// store is the package store of the file-system root fsRoot.
func store(fsRoot string) (*pkgs.Store, error) {
	t, err := ident.HostTarget()
	if err != nil {
		return nil, fmt.Errorf("backline: %w", err)
	}
	return pkgs.New(paths.At(fsRoot), t), nil
}

func parse(b studio.Backline) (ident.Ident, error) {
	name := b.Ident
	if name == "" {
		name = studio.DefaultBackline
	}
	id, err := ident.Parse(name)
	if err != nil {
		return ident.Ident{}, fmt.Errorf("backline package %q: %w", name, err)
	}
	return id, nil
}

// Installed returns the backline package installed in the studio at root,
// or an error wrapping ErrNotFound.
func Installed(ctx context.Context, root string, b studio.Backline) (*pkgs.Package, error) {
	id, err := parse(b)
	if err != nil {
		return nil, err
	}
	s, err := store(root)
	if err != nil {
		return nil, err
	}
	p, err := s.Resolve(ctx, id)
	if errors.Is(err, pkgs.ErrNotInstalled) {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return p, err
}

// Where says where the backline was looked for, for error messages.
func Where(root string, b studio.Backline) string {
	id := b.Ident
	if id == "" {
		id = studio.DefaultBackline
	}
	places := []string{filepath.Join(root, "hab", "pkgs")}
	if b.HostRoot != "" {
		places = append(places, paths.At(b.HostRoot).Pkgs())
	}
	if b.ArtifactCache != "" {
		places = append(places, "harts in "+b.ArtifactCache)
	}
	found := "was not found in " + places[0]
	if len(places) > 1 {
		found = "was found neither in " + strings.Join(places, " nor in ")
	}
	return fmt.Sprintf("the backline package %s (set HAB_STUDIO_BACKLINE_PKG to choose another) %s", id, found)
}

// Install makes sure the backline's runtime closure is installed in the
// studio at root and returns the backline package. It is taken, in this
// order, from the studio itself; from the host's installed packages, by
// their harts in the artifact cache (verified with the host's public
// keys), else by copying the installed directories; from the newest hart
// in the artifact cache. When none has it, the error wraps ErrNotFound.
func Install(ctx context.Context, root string, b studio.Backline) (*pkgs.Package, error) {
	if p, err := Installed(ctx, root, b); err == nil || !errors.Is(err, ErrNotFound) {
		return p, err
	}
	want, err := parse(b)
	if err != nil {
		return nil, err
	}
	dst, err := store(root)
	if err != nil {
		return nil, err
	}
	if b.HostRoot != "" {
		host, err := store(b.HostRoot)
		if err != nil {
			return nil, err
		}
		hp, err := host.Resolve(ctx, want)
		switch {
		case err == nil:
			want = hp.Ident // the installed release, exactly
			if b.ArtifactCache != "" {
				p, err := installHarts(ctx, root, dst, b, want)
				if err == nil || !errors.Is(err, pkgs.ErrArtifactNotFound) {
					return p, err
				}
			}
			return copyInstalled(ctx, host, dst, hp)
		case !errors.Is(err, pkgs.ErrNotInstalled):
			return nil, fmt.Errorf("find the backline %s on the host: %w", want, err)
		}
	}
	if b.ArtifactCache != "" {
		p, err := installHarts(ctx, root, dst, b, want)
		if errors.Is(err, pkgs.ErrArtifactNotFound) {
			return nil, fmt.Errorf("%w: %s (%v)", ErrNotFound, Where(root, b), err)
		}
		return p, err
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, Where(root, b))
}

// installHarts installs want and its runtime closure from the host's
// artifact cache through the store's installer (verified before anything
// is written, atomic), the public keys of their signers taken from the
// host's key cache into the studio's.
func installHarts(ctx context.Context, root string, dst *pkgs.Store, b studio.Backline, want ident.Ident) (*pkgs.Package, error) {
	src := pkgs.LocalSource{Dirs: []string{b.ArtifactCache}}
	if b.KeyCache != "" {
		src.KeyDirs = []string{b.KeyCache}
	}
	in := &pkgs.Installer{Store: dst, ArtifactCache: b.ArtifactCache, Sources: []pkgs.Source{src}}
	in.Keys.Dir = filepath.Join(root, "hab", "cache", "keys")
	res, err := in.Install(ctx, want.String())
	if err != nil {
		return nil, fmt.Errorf("install the backline %s into studio %s: %w", want, root, err)
	}
	return res.Package, nil
}

func copyFile(from, to string, mode fs.FileMode) (err error) {
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	defer src.Close()
	tmp := to + ".tmp"
	dst, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	if err := os.Rename(tmp, to); err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return nil
}

// copyInstalled copies the installed package hp and its transitive
// dependencies from the host store into the studio's, each package into
// a temporary directory renamed into place once complete.
func copyInstalled(ctx context.Context, host, dst *pkgs.Store, hp *pkgs.Package) (*pkgs.Package, error) {
	deps, err := host.Closure(ctx, hp)
	if err != nil {
		return nil, fmt.Errorf("copy the backline %s into the studio: %w", hp.Ident, err)
	}
	for _, p := range append(deps, hp) {
		if dst.IsInstalled(p.Ident) {
			continue
		}
		if err := copyTree(ctx, p.Path, dst.PathFor(p.Ident)); err != nil {
			return nil, fmt.Errorf("copy the backline %s into the studio: %w", hp.Ident, err)
		}
	}
	return dst.Load(hp.Ident)
}

// copyTree copies the directory from to the absent directory to, keeping
// modes and symlinks, through a temporary sibling.
func copyTree(ctx context.Context, from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(to), err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(to), ".backline-")
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	err = filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		out := filepath.Join(tmp, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if rel == "." {
				return os.Chmod(out, fi.Mode().Perm())
			}
			return os.Mkdir(out, fi.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(t, out)
		case d.Type().IsRegular():
			return copyFile(p, out, fi.Mode().Perm())
		}
		return nil // sockets, devices: not part of a package
	})
	if err == nil {
		err = os.Rename(tmp, to)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return nil
}

// Path is the studio's PATH with the backline p installed in the studio
// at root: /hab/bin, then the runtime PATH p declares.
func Path(ctx context.Context, root string, p *pkgs.Package) (string, error) {
	s, err := store(root)
	if err != nil {
		return "", err
	}
	env, err := s.RuntimeEnvironment(ctx, p, nil)
	if err != nil {
		return "", fmt.Errorf("studio PATH from the backline %s: %w", p.Ident, err)
	}
	path := "/hab/bin"
	for _, v := range env {
		if v.Name == "PATH" && v.Value != "" {
			path += ":" + v.Value
		}
	}
	return path, nil
}

// Link makes the links the original studio makes into its base packages:
// /bin/sh (to sh, else bash), /bin/bash and /usr/bin/env, each to the
// first program of that name on path (the studio's PATH, directories seen
// from inside the studio at root). A program the backline lacks gets no
// link; /bin/sh is required.
func Link(root, path string) error {
	find := func(name string) string {
		for _, d := range filepath.SplitList(path) {
			if d == "" || !filepath.IsAbs(d) {
				continue
			}
			// Lstat: a link inside a package points into the studio,
			// not into the host.
			if fi, err := os.Lstat(filepath.Join(root, d, name)); err == nil && !fi.IsDir() {
				return filepath.Join(d, name)
			}
		}
		return ""
	}
	sh := find("sh")
	if sh == "" {
		sh = find("bash")
	}
	if sh == "" {
		return fmt.Errorf("link /bin/sh in studio %s: no sh nor bash on the backline's PATH %s", root, path)
	}
	links := map[string]string{"/bin/sh": sh, "/bin/bash": find("bash"), "/usr/bin/env": find("env")}
	for link, target := range links {
		if target == "" {
			continue
		}
		if err := symlink(root, link, target); err != nil {
			return err
		}
	}
	return nil
}

// symlink makes root/link point at target, replacing what an earlier
// layout left there (a symlinked /bin of the host fallback, an old link).
func symlink(root, link, target string) error {
	p := filepath.Join(root, link)
	dir := filepath.Dir(p)
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("replace the symlink %s with a directory: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create studio directory %s: %w", dir, err)
	}
	if cur, err := os.Readlink(p); err == nil && cur == target {
		return nil
	}
	tmp := p + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("create studio symlink %s: %w", p, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("create studio symlink %s: %w", p, err)
	}
	return nil
}
