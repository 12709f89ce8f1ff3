// Package backline gives a studio its base tools: the runtime closure of
// one package (the original's core/hab-backline: a shell, coreutils, tar,
// xz, sed, grep, make, a compiler...) installed into the studio's own
// /hab/pkgs from the host's installed packages or its artifact cache, the
// PATH those packages declare, and the few links every studio has
// (/bin/sh, /bin/bash, /usr/bin/env).
package backline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/internal/beneath"
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
//
// The studio's root is written by what was built in it, and a build may
// run in it meanwhile: nothing is written there by path. Harts are
// installed into a staging root beside the studio (out of its reach),
// and each package directory is then renamed (or copied) into the
// studio's /hab/pkgs, and the signers' public keys into its key cache,
// through studio/internal/beneath, which follows no link in any
// component: a link planted in the studio is refused, never followed.
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
			return copyInstalled(ctx, root, host, dst, hp)
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
// is written, atomic) into a staging root beside the studio, the public
// keys of their signers taken from the host's key cache, then moves the
// packages and keys into the studio.
func installHarts(ctx context.Context, root string, dst *pkgs.Store, b studio.Backline, want ident.Ident) (*pkgs.Package, error) {
	fail := func(err error) (*pkgs.Package, error) {
		return nil, fmt.Errorf("install the backline %s into studio %s: %w", want, root, err)
	}
	stageDir, err := os.MkdirTemp(filepath.Dir(root), "."+filepath.Base(root)+".backline-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(stageDir)
	stage, err := store(stageDir)
	if err != nil {
		return nil, err
	}
	src := pkgs.LocalSource{Dirs: []string{b.ArtifactCache}}
	if b.KeyCache != "" {
		src.KeyDirs = []string{b.KeyCache}
	}
	in := &pkgs.Installer{Store: stage, ArtifactCache: b.ArtifactCache, Sources: []pkgs.Source{src}}
	in.Keys.Dir = filepath.Join(stageDir, "hab", "cache", "keys")
	res, err := in.Install(ctx, want.String())
	if err != nil {
		return fail(err)
	}
	deps, err := stage.Closure(ctx, res.Package)
	if err != nil {
		return fail(err)
	}
	d, err := beneath.Open(root)
	if err != nil {
		return fail(err)
	}
	defer d.Close()
	if err := publishKeys(d, in.Keys.Dir); err != nil {
		return fail(err)
	}
	for _, p := range append(deps, res.Package) {
		if err := publish(ctx, d, p.Path, p.Ident, true); err != nil {
			return fail(err)
		}
	}
	return dst.Load(res.Package.Ident)
}

// keysDir is the studio's key cache, relative to its root.
const keysDir = "hab/cache/keys"

// publishKeys copies the key files of the staging key cache dir into
// the studio's key cache, beneath d.
func publishKeys(d *beneath.Dir, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := d.MkdirAll(keysDir, 0o700); err != nil {
		return fmt.Errorf("the studio's key cache: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := d.WriteFile(path.Join(keysDir, e.Name()), data, 0o644); err != nil {
			return fmt.Errorf("import key %s into the studio: %w", e.Name(), err)
		}
	}
	return nil
}

// publish puts the package directory from (of the package id, outside
// the studio) into the studio d's /hab/pkgs, unless it is there: renamed
// when rename is set and both are on one file system, else copied into a
// temporary directory renamed into place once complete. Every name in
// the studio is resolved beneath d without following a link.
func publish(ctx context.Context, d *beneath.Dir, from string, id ident.Ident, rename bool) error {
	parent := path.Join("hab/pkgs", id.Origin, id.Name, id.Version)
	if err := d.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("put %s into the studio: %w", id, err)
	}
	pd, err := d.OpenDir(parent)
	if err != nil {
		return fmt.Errorf("put %s into the studio: %w", id, err)
	}
	defer pd.Close()
	if st, err := pd.Lstat(id.Release); err == nil {
		if beneath.IsDir(st) {
			return nil // installed already
		}
		return fmt.Errorf("put %s into the studio: %s/%s is there and is no directory", id, pd.Name(), id.Release)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("put %s into the studio: %w", id, err)
	}
	if rename {
		err := unix.Renameat(unix.AT_FDCWD, from, pd.Fd(), id.Release)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EXDEV) {
			return fmt.Errorf("put %s into the studio: rename %s to %s/%s: %w", id, from, pd.Name(), id.Release, err)
		}
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := ".backline-" + hex.EncodeToString(b[:])
	if err := copyTree(ctx, pd, tmp, from); err != nil {
		_ = pd.RemoveAll(tmp)
		return fmt.Errorf("copy %s into the studio: %w", id, err)
	}
	if err := pd.Rename(tmp, id.Release); err != nil {
		_ = pd.RemoveAll(tmp)
		return fmt.Errorf("put %s into the studio: %w", id, err)
	}
	return nil
}

// copyInstalled copies the installed package hp and its transitive
// dependencies from the host store into the studio's.
func copyInstalled(ctx context.Context, root string, host, dst *pkgs.Store, hp *pkgs.Package) (*pkgs.Package, error) {
	deps, err := host.Closure(ctx, hp)
	if err != nil {
		return nil, fmt.Errorf("copy the backline %s into the studio: %w", hp.Ident, err)
	}
	d, err := beneath.Open(root)
	if err != nil {
		return nil, fmt.Errorf("copy the backline %s into the studio: %w", hp.Ident, err)
	}
	defer d.Close()
	for _, p := range append(deps, hp) {
		if err := publish(ctx, d, p.Path, p.Ident, false); err != nil {
			return nil, fmt.Errorf("copy the backline %s into the studio %s: %w", hp.Ident, root, err)
		}
	}
	return dst.Load(hp.Ident)
}

// copyTree copies the host directory from to the new directory to
// beneath d, keeping modes and symlinks; every file is created anew
// (a name that exists is an error) without following a link.
func copyTree(ctx context.Context, d *beneath.Dir, to, from string) error {
	return filepath.WalkDir(from, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		out := path.Join(to, filepath.ToSlash(rel))
		fi, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			if err := d.Mkdir(out, 0o700); err != nil {
				return err
			}
			// The mode once the directory can be written into: set
			// now, since root writes into any directory anyway.
			return d.Chmod(out, fi.Mode().Perm())
		case e.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return d.Symlink(t, out)
		case e.Type().IsRegular():
			return copyFile(d, out, p, fi.Mode().Perm())
		}
		return nil // sockets, devices: not part of a package
	})
}

// copyFile copies the host file from to the new file to beneath d.
func copyFile(d *beneath.Dir, to, from string, mode fs.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := d.Create(to, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Chmod(mode) // the umask took bits away
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, dst.Name(), err)
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
// link; /bin/sh is required. Everything is looked up and made beneath
// the root without following a link planted in it.
func Link(root, path string) error {
	d, err := beneath.Open(root)
	if err != nil {
		return fmt.Errorf("link /bin/sh in studio %s: %w", root, err)
	}
	defer d.Close()
	find := func(name string) string {
		for _, dir := range filepath.SplitList(path) {
			if dir == "" || !filepath.IsAbs(dir) {
				continue
			}
			// Lstat: a link inside a package points into the studio,
			// not into the host; a link in the PATH's directories is
			// not followed (the program is not found there).
			if st, err := d.Lstat(filepath.Join(dir, name)); err == nil && !beneath.IsDir(st) {
				return filepath.Join(dir, name)
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
		if err := symlink(d, link, target); err != nil {
			return err
		}
	}
	return nil
}

// symlink makes link point at target beneath d, replacing what an
// earlier layout left there (a symlinked /bin of the host fallback, an
// old link) without following it.
func symlink(d *beneath.Dir, link, target string) error {
	dir := filepath.Dir(link)
	if st, err := d.Lstat(dir); err == nil && beneath.IsLink(st) {
		if err := d.Remove(dir); err != nil {
			return fmt.Errorf("replace the symlink %s with a directory: %w", dir, err)
		}
	}
	if err := d.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create studio directory %s: %w", dir, err)
	}
	if cur, err := d.Readlink(link); err == nil && cur == target {
		return nil
	}
	tmp := link + ".tmp"
	if err := d.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create studio symlink %s: %w", link, err)
	}
	if err := d.Symlink(target, tmp); err != nil {
		return fmt.Errorf("create studio symlink %s: %w", link, err)
	}
	if err := d.Rename(tmp, link); err != nil {
		_ = d.Remove(tmp)
		return fmt.Errorf("create studio symlink %s: %w", link, err)
	}
	return nil
}
