// Package paths resolves the well-known Habitat locations (/hab/pkgs,
// /hab/cache/keys, /hab/cache/artifacts, ...) under a file-system root, so
// that FS_ROOT and the per-user caches of non-root users work everywhere.
package paths

import (
	"os"
	"path/filepath"
)

// Env reads environment variables; os.Getenv in production, a map in tests.
type Env func(string) string

// Root is a resolved set of Habitat locations.
type Root struct {
	// FS is the file-system root (FS_ROOT); "/" when unset.
	FS string
	// Home is the invoking user's home directory, used for per-user caches
	// when not running as root.
	Home string
	// Root reports whether the process runs as the superuser.
	Root bool
	env  Env
}

// FromEnv resolves the root from FS_ROOT, the user's home and effective uid.
func FromEnv(getenv Env) Root {
	if getenv == nil {
		getenv = os.Getenv
	}
	fsRoot := getenv("FS_ROOT")
	if fsRoot == "" {
		fsRoot = "/"
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return Root{FS: fsRoot, Home: home, Root: os.Geteuid() == 0, env: getenv}
}

// At returns a root at dir for a superuser, with no environment overrides:
// what tests use for a throw-away /hab.
func At(dir string) Root { return Root{FS: dir, Root: true} }

func (r Root) getenv(k string) string {
	if r.env == nil {
		return ""
	}
	return r.env(k)
}

// Join joins elements under the file-system root.
func (r Root) Join(elem ...string) string {
	return filepath.Join(append([]string{r.FS}, elem...)...)
}

// Hab is FS_ROOT/hab.
func (r Root) Hab() string { return r.Join("hab") }

// Pkgs is the installed package store, FS_ROOT/hab/pkgs.
func (r Root) Pkgs() string { return r.Join("hab", "pkgs") }

// Svc is the supervisor's service root, FS_ROOT/hab/svc.
func (r Root) Svc() string { return r.Join("hab", "svc") }

// Studios is where studios live, FS_ROOT/hab/studios.
func (r Root) Studios() string { return r.Join("hab", "studios") }

// Bin is where binlinks go by default, FS_ROOT/bin.
func (r Root) Bin() string { return r.Join("bin") }

// userCache is FS_ROOT/hab/cache/NAME for root and ~/.hab/cache/NAME for
// other users, as the original does.
func (r Root) userCache(name string) string {
	if r.Root || r.Home == "" {
		return r.Join("hab", "cache", name)
	}
	return filepath.Join(r.Home, ".hab", "cache", name)
}

// Keys is the key cache: $HAB_CACHE_KEY_PATH, else FS_ROOT/hab/cache/keys
// as root, else ~/.hab/cache/keys.
func (r Root) Keys() string {
	if p := r.getenv("HAB_CACHE_KEY_PATH"); p != "" {
		return p
	}
	return r.userCache("keys")
}

// Artifacts is the artifact cache: FS_ROOT/hab/cache/artifacts as root,
// else ~/.hab/cache/artifacts.
func (r Root) Artifacts() string { return r.userCache("artifacts") }

// Src is the source cache: $HAB_CACHE_SRC_PATH, else
// FS_ROOT/hab/cache/src as root, else ~/.hab/cache/src.
func (r Root) Src() string {
	if p := r.getenv("HAB_CACHE_SRC_PATH"); p != "" {
		return p
	}
	return r.userCache("src")
}
