// Package studio defines what a studio is to its callers: an isolated build
// root that can be created, can run commands and can be removed. The kinds
// live in sub-packages (studio/chroot: Linux namespaces and pivot_root;
// studio/runc: an OCI bundle run by runc); studio/rootfs lays out the root
// on disk and plans the mounts both kinds make.
package studio

import (
	"context"
	"io"
	"log/slog"
)

// Studio is one isolated build environment. "hab pkg build" and "hab studio"
// only use this interface, so a new kind needs no change in its callers.
type Studio interface {
	// Create lays out the studio root on disk (idempotent).
	Create(ctx context.Context) error
	// Run runs argv inside the studio and returns its exit status. The
	// error is non-nil only when the studio could not run the command;
	// a command that fails is a non-zero status. Cancelling ctx kills the
	// command and everything it started.
	Run(ctx context.Context, argv []string, stdio Stdio) (int, error)
	// Remove deletes the studio root. It refuses when anything is still
	// mounted under it.
	Remove(ctx context.Context) error
	// Root is the studio's root directory on the host.
	Root() string
}

// New makes a studio of one kind at root; chroot.Open and runc.Open have
// this type.
type New func(root string, opts ...Option) (Studio, error)

// Stdio are the command's standard streams. *os.File values are passed to
// the command as they are (a terminal stays a terminal); other readers and
// writers are copied through pipes.
type Stdio struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Mount is a host path bind-mounted into the studio.
type Mount struct {
	Source   string // host path (a directory or a file)
	Target   string // absolute path inside the studio
	ReadOnly bool
}

// Owner is the user files created by the studio in its read-write mounts
// are handed to after a run (the invoking user behind sudo).
type Owner struct {
	UID, GID int
}

// Config is everything a studio kind needs; Options fill it.
type Config struct {
	// Type is the studio type recorded in the root ("default").
	Type string
	// Hostname inside the studio; "studio" when empty.
	Hostname string
	// Network shares the host's network; false gives a network namespace
	// with only a loopback interface.
	Network bool
	// Mounts are bind mounts from the host (source, caches).
	Mounts []Mount
	// HabBinary is the host's hab executable, mounted read-only at
	// /hab/bin/hab.
	HabBinary string
	// HostTools are host directories (or symlinks) given to the studio
	// read-only when it has no base packages; nil means DefaultHostTools().
	HostTools []string
	// Hermetic refuses the host toolchain fallback.
	Hermetic bool
	// Backline is the package whose runtime closure gives the studio its
	// base tools, and where on the host it is looked for.
	Backline Backline
	// Env is the command's whole environment (see Environ).
	Env []string
	// Workdir is the command's working directory inside ("/src" when
	// a mount targets /src, else "/").
	Workdir string
	// Owner, when set, receives the files root created during a run in
	// the read-write mounts that belong to it (see rootfs.HandOver).
	Owner *Owner
	// KeyCache is the host key cache origin keys are imported from.
	KeyCache string
	// OriginKeys are the origins whose latest secret (and public, when
	// present) signing keys are imported into the studio's key cache.
	OriginKeys []string
	// Runtime is the OCI runtime binary container studios run ("runc"
	// on the PATH when empty).
	Runtime string
	// Log receives progress lines; nil discards them.
	Log *slog.Logger
	// Warn prints a warning for the user (the host toolchain standing in
	// for the studio's base packages) in the caller's own style; nil
	// logs it to Log.
	Warn func(line string)
}

// DefaultHostTools are the host directories a studio without base
// packages borrows read-only: enough for a shell, coreutils, tar, xz,
// gzip, sed, grep, make and gcc.
func DefaultHostTools() []string {
	return []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/alternatives"}
}

// DefaultBackline is the studio's base package set when none is named,
// as in the original (HAB_STUDIO_BACKLINE_PKG overrides it there too).
const DefaultBackline = "core/hab-backline"

// Backline names the studio's base package and the host places it is
// installed from: packages installed under HostRoot/hab/pkgs, harts in
// ArtifactCache, their public signing keys in KeyCache. With no host
// places set, only the studio's own /hab/pkgs is looked at.
type Backline struct {
	// Ident is the package identifier (DefaultBackline when empty).
	Ident string
	// HostRoot is the host's file-system root (FS_ROOT).
	HostRoot string
	// ArtifactCache is the host's artifact cache.
	ArtifactCache string
	// KeyCache is the host's key cache.
	KeyCache string
}

// Option sets one field of a Config.
type Option func(*Config)

// WithNetwork shares the host network (true, the default) or isolates it.
func WithNetwork(on bool) Option { return func(c *Config) { c.Network = on } }

// WithMount bind-mounts the host path source at target, read-write.
func WithMount(source, target string) Option {
	return func(c *Config) { c.Mounts = append(c.Mounts, Mount{Source: source, Target: target}) }
}

// WithReadOnlyMount bind-mounts the host path source at target, read-only.
func WithReadOnlyMount(source, target string) Option {
	return func(c *Config) {
		c.Mounts = append(c.Mounts, Mount{Source: source, Target: target, ReadOnly: true})
	}
}

// WithHabBinary names the hab executable mounted at /hab/bin/hab.
func WithHabBinary(path string) Option { return func(c *Config) { c.HabBinary = path } }

// WithHostTools replaces the host directories of the fallback toolchain.
func WithHostTools(dirs ...string) Option { return func(c *Config) { c.HostTools = dirs } }

// WithHermetic refuses the host toolchain fallback.
func WithHermetic(on bool) Option { return func(c *Config) { c.Hermetic = on } }

// WithBackline sets the studio's base package and where it comes from.
func WithBackline(b Backline) Option { return func(c *Config) { c.Backline = b } }

// WithEnv sets the command's whole environment.
func WithEnv(env []string) Option { return func(c *Config) { c.Env = env } }

// WithWorkdir sets the command's working directory inside the studio.
func WithWorkdir(dir string) Option { return func(c *Config) { c.Workdir = dir } }

// WithHostname sets the studio's host name.
func WithHostname(name string) Option { return func(c *Config) { c.Hostname = name } }

// WithOwner hands files root creates in read-write mounts to uid:gid.
func WithOwner(uid, gid int) Option {
	return func(c *Config) { c.Owner = &Owner{UID: uid, GID: gid} }
}

// WithOriginKeys imports the origins' signing keys from the host key
// cache keyCache into the studio.
func WithOriginKeys(keyCache string, origins ...string) Option {
	return func(c *Config) { c.KeyCache = keyCache; c.OriginKeys = origins }
}

// WithRuntime names the OCI runtime binary of container studios.
func WithRuntime(path string) Option { return func(c *Config) { c.Runtime = path } }

// WithWarn prints the studio's warnings for the user with warn.
func WithWarn(warn func(line string)) Option { return func(c *Config) { c.Warn = warn } }

// WithLogger sends progress lines to log.
func WithLogger(log *slog.Logger) Option { return func(c *Config) { c.Log = log } }

// NewConfig applies opts over the defaults (network on, type "default").
func NewConfig(opts ...Option) Config {
	c := Config{Type: "default", Network: true, Hostname: "studio"}
	for _, o := range opts {
		o(&c)
	}
	if c.Backline.Ident == "" {
		c.Backline.Ident = DefaultBackline
	}
	if c.HostTools == nil {
		c.HostTools = DefaultHostTools()
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Warn == nil {
		log := c.Log
		c.Warn = func(line string) { log.Warn(line) }
	}
	if c.Workdir == "" {
		c.Workdir = "/"
		for _, m := range c.Mounts {
			if m.Target == "/src" {
				c.Workdir = "/src"
			}
		}
	}
	return c
}
