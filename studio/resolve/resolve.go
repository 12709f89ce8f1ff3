// Package resolve turns what a studio command asks for (its flags and
// the settings cmd/hab read from the environment, as values) into a
// studio: its root, source path, caches, origin keys, owner, kind and the
// environment that reaches it. "hab studio" and "hab pkg build" both use
// Open, so a studio is resolved one way.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/containerd"
	"github.com/habgo/hab/studio/rootfs"
	"github.com/habgo/hab/studio/runc"
)

// Request is a studio command's settings, each already chosen between
// its flag and its environment variable by the caller.
type Request struct {
	// Paths are the Habitat locations (FS_ROOT, caches, keys) of the
	// invoking user.
	Paths paths.Root
	// Root is the studio root (-r, HAB_STUDIO_ROOT); empty: StudiosHome
	// (else rootfs.StudiosDir) / rootfs.DirName(source path).
	Root        string
	StudiosHome string
	// Src is the source path (-s, SRC_PATH); empty: Workdir.
	Src     string
	Workdir string
	// Type is the studio type (-t, STUDIO_TYPE); empty: "default".
	Type string
	// NoSrc and NoArtifacts leave /src and the caches unmounted.
	NoSrc, NoArtifacts bool
	// ArtifactPath is the host artifact cache (-a, ARTIFACT_PATH); empty:
	// Paths.Artifacts().
	ArtifactPath string
	// Origins are the origins whose keys are imported (see Origins).
	Origins []string
	// Container chooses a container studio (-D): run by the containerd at
	// ContainerdAddress, else by runc.
	Container         bool
	ContainerdAddress string
	NoNetwork         bool
	Hermetic          bool
	// HabBinary is mounted at /hab/bin/hab (HAB_STUDIO_HAB_BIN); empty:
	// this executable.
	HabBinary string
	// Backline is the base package (HAB_STUDIO_BACKLINE_PKG).
	Backline string
	// Owner receives what root makes in the user's trees (the user behind
	// sudo; see SudoOwner).
	Owner *studio.Owner
	// HostEnv is the host environment the studio's is made from (see
	// studio.Environ); Extra entries come last.
	HostEnv []string
	Extra   []string
	Log     *slog.Logger
	Warn    func(line string)
}

// Studio is a resolved studio.
type Studio struct {
	studio.Studio
	// Src is the host source path (absolute, links resolved).
	Src string
	// Type is the studio type; Kind is "chroot", "runc" or "containerd".
	Type, Kind string
	// Origins are the origins whose keys are imported.
	Origins []string
	// Caches are the host caches mounted in the studio, which must exist
	// before it is made (see MakeCaches).
	Caches []string
}

// ErrNeedsRoot is a container studio asked for by a non-root user.
var ErrNeedsRoot = errors.New("Root or administrator permissions required to complete operation")

// TypeError is a studio type this hab does not have.
type TypeError struct{ Type string }

func (e *TypeError) Error() string {
	return fmt.Sprintf("Invalid Studio type: %s (this hab supports: default)", e.Type)
}

// Origins splits comma-separated lists of origins ("a,b", " c ") into
// names, dropping empty ones.
func Origins(lists ...string) []string {
	var out []string
	for _, l := range lists {
		for _, o := range strings.Split(l, ",") {
			if o = strings.TrimSpace(o); o != "" {
				out = append(out, o)
			}
		}
	}
	return out
}

// SudoOwner is the user behind sudo from SUDO_UID and SUDO_GID's values;
// nil when they are unset, invalid or root.
func SudoOwner(uid, gid string) *studio.Owner {
	u, err1 := strconv.Atoi(uid)
	g, err2 := strconv.Atoi(gid)
	if err1 != nil || err2 != nil || u <= 0 || g < 0 {
		return nil
	}
	return &studio.Owner{UID: u, GID: g}
}

// SourcePath is the request's source path, absolute and with links
// resolved, as the studio mounts it.
func SourcePath(r Request) (string, error) {
	src := r.Src
	if src == "" {
		src = r.Workdir
	}
	if src == "" {
		return "", errors.New("studio source path: neither a source path nor a working directory given")
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", fmt.Errorf("studio source path %s: %w", src, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return abs, nil
}

// RootPath is the request's studio root for the source path src.
func RootPath(r Request, src string) (string, error) {
	root := r.Root
	if root == "" {
		home := r.StudiosHome
		if home == "" {
			home = rootfs.StudiosDir(r.Paths)
		}
		root = filepath.Join(home, rootfs.DirName(src))
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("studio root %s: %w", root, err)
	}
	return abs, nil
}

// Check says whether this user can run the studio asked for: a container
// studio needs root (ErrNeedsRoot), a non-root user's chroot studio needs
// user namespaces (a *chroot.UserNSError), and the type must be known (a
// *TypeError).
func Check(ctx context.Context, r Request) error {
	if !r.Paths.Root && r.Container {
		return ErrNeedsRoot
	}
	if !r.Paths.Root {
		if err := chroot.CheckUserNamespaces(ctx); err != nil {
			return err
		}
	}
	if t := typeOf(r); t != "default" {
		return &TypeError{Type: t}
	}
	return nil
}

func typeOf(r Request) string {
	if r.Type == "" {
		return "default"
	}
	return r.Type
}

// Open checks the request (see Check) and resolves it into a studio of
// its kind; nothing is created on disk.
func Open(ctx context.Context, r Request) (*Studio, error) {
	if err := Check(ctx, r); err != nil {
		return nil, err
	}
	src, err := SourcePath(r)
	if err != nil {
		return nil, err
	}
	root, err := RootPath(r, src)
	if err != nil {
		return nil, err
	}
	typ := typeOf(r)
	res := &Studio{Src: src, Type: typ, Origins: r.Origins}
	opts := []studio.Option{
		studio.WithNetwork(!r.NoNetwork),
		studio.WithHermetic(r.Hermetic),
		studio.WithLogger(r.Log),
		studio.WithWarn(r.Warn),
		studio.WithEnv(studio.Environ(r.HostEnv, typ, r.Extra...)),
	}
	if !r.NoSrc {
		if _, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("studio source path: %w", err)
		}
		opts = append(opts, studio.WithMount(src, "/src"))
	}
	artifacts := r.ArtifactPath
	if artifacts == "" {
		artifacts = r.Paths.Artifacts()
	}
	if !r.NoArtifacts {
		res.Caches = []string{artifacts, r.Paths.Src()}
		opts = append(opts, studio.WithMount(artifacts, "/hab/cache/artifacts"), studio.WithMount(r.Paths.Src(), "/hab/cache/src"))
	}
	hab := r.HabBinary
	if hab == "" {
		if hab, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the hab binary for the studio: %w", err)
		}
	}
	opts = append(opts, studio.WithHabBinary(hab), studio.WithBackline(studio.Backline{
		Ident: r.Backline, HostRoot: r.Paths.FS, ArtifactCache: artifacts, KeyCache: r.Paths.Keys(),
	}))
	if len(r.Origins) > 0 {
		opts = append(opts, studio.WithOriginKeys(r.Paths.Keys(), r.Origins...))
	}
	if r.Owner != nil {
		opts = append(opts, studio.WithOwner(r.Owner.UID, r.Owner.GID))
	}
	var open studio.New
	switch {
	case !r.Container:
		open, res.Kind = chroot.Open, "chroot"
	case r.ContainerdAddress != "":
		open, res.Kind = containerd.Opener(r.ContainerdAddress), "containerd"
	default:
		open, res.Kind = runc.Open, "runc"
	}
	if res.Studio, err = open(root, opts...); err != nil {
		return nil, err
	}
	return res, nil
}

// CheckOriginKeys fails unless the key cache keyCache holds a secret
// signing key of every origin.
func CheckOriginKeys(keyCache string, origins []string) error {
	keys := crypto.Cache{Dir: keyCache}
	for _, o := range origins {
		if _, err := keys.Latest(crypto.SigSecret, o); err != nil {
			return fmt.Errorf("secret origin key of %s in %s: %w", o, keyCache, err)
		}
	}
	return nil
}

// Lock takes the studio's lock (see rootfs.Acquire).
func (s *Studio) Lock(ctx context.Context, use rootfs.Use, waiting func()) (*rootfs.Lock, error) {
	return rootfs.Acquire(ctx, s.Root(), use, waiting)
}

// MakeCaches creates the host caches the studio mounts.
func (s *Studio) MakeCaches() error {
	for _, d := range s.Caches {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create cache %s: %w", d, err)
		}
	}
	return nil
}
