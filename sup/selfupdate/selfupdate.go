// Package selfupdate keeps a supervisor on the newest hab of its depot
// channel (hab sup run --auto-update). The original watches its
// core/hab-sup package; this supervisor is the hab binary itself, so it
// watches core/hab, the package that holds bin/hab (the one exporters
// ship). A newer release in the channel is installed through the
// store's installer, which verifies its signature against the origin's
// key; its bin/hab must be an ELF executable for this machine that
// runs; the supervisor then executes it in its own process (Exec) with
// the same arguments, and the new supervisor takes over the services'
// running processes. A release older than the running one is never
// taken.
package selfupdate

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/elfarch"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/depot/client"
)

// Package is the package a supervisor updates itself from: the one
// whose bin/hab is the hab binary (the exporters ship it as hab too).
const Package = "core/hab"

// DefaultPeriod is how often the channel is asked (--auto-update-period).
const DefaultPeriod = 60 * time.Second

// trialTimeout bounds the trial run of a new binary (hab --version).
const trialTimeout = 30 * time.Second

// Running is the release of hab that exe is: the core/hab package
// installed in store whose bin/hab it is, else core/hab/VERSION with no
// release (a binary from elsewhere: only a greater version is newer).
func Running(store *pkgs.Store, exe, version string) ident.Ident {
	pkg := ident.MustParse(Package)
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	dir := store.Dir
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if rel, err := filepath.Rel(dir, exe); err == nil {
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) == 6 && parts[0] == pkg.Origin && parts[1] == pkg.Name && parts[4] == "bin" && parts[5] == "hab" {
			id := ident.Ident{Origin: parts[0], Name: parts[1], Version: parts[2], Release: parts[3]}
			if store.IsInstalled(id) {
				return id
			}
		}
	}
	pkg.Version = version
	return pkg
}

// Newer reports whether head is newer than running: a greater version,
// or the same version and a later release; against a running release
// without a release (Running's binary from elsewhere), a greater
// version only.
func Newer(head, running ident.Ident) bool {
	if running.Release == "" {
		return ident.CompareVersions(head.Version, running.Version) > 0
	}
	return ident.Compare(head, running) > 0
}

// Updater asks a depot channel for a newer core/hab than Running and
// installs and checks it.
type Updater struct {
	Running       ident.Ident
	Depot         *client.Client
	Channel       string
	Store         *pkgs.Store // the installed packages, whose target is this machine's
	Keys          crypto.Cache
	ArtifactCache string
	Period        time.Duration // DefaultPeriod when zero
	Log           *slog.Logger

	refused map[ident.Ident]string // releases found unfit, and why: never tried again
	told    ident.Ident            // the last head reported as not newer
}

// Release is a newer hab, installed and checked.
type Release struct {
	Ident  ident.Ident
	Binary string // its bin/hab
}

// Watch asks the channel at once and then every Period until it holds a
// newer release that installs and checks, which it returns, or ctx
// ends. Failures are logged and asked again at the next period.
func (u *Updater) Watch(ctx context.Context) (*Release, error) {
	period := u.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	u.Log.Info("self-update: watching for a newer hab", "package", Package, "running", u.Running.String(), "channel", u.Channel, "depot", u.Depot.URL(), "period", period)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		rel, err := u.Check(ctx)
		if rel != nil {
			return rel, nil
		}
		if err != nil && ctx.Err() == nil {
			u.Log.Warn("self-update: check failed; asking again later", "channel", u.Channel, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// Check asks the channel once: a newer release that installs and passes
// the checks, or nil when there is none (or it is refused; the error
// then says why).
func (u *Updater) Check(ctx context.Context) (*Release, error) {
	want := ident.MustParse(Package)
	latest, err := u.Depot.ChannelLatest(ctx, u.Channel, want, u.Store.Target)
	if client.Status(err) == 404 {
		u.Log.Debug("self-update: no release in the channel", "package", Package, "channel", u.Channel)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ask channel %s of %s for %s: %w", u.Channel, u.Depot.URL(), Package, err)
	}
	head := latest.Ident.Ident()
	if !head.FullyQualified() || head.Origin != want.Origin || head.Name != want.Name {
		return nil, fmt.Errorf("channel %s answered %s for %s", u.Channel, head, Package)
	}
	if !Newer(head, u.Running) {
		if head != u.told {
			u.told = head
			if ident.Compare(head, u.Running) < 0 {
				u.Log.Warn("self-update: refusing an older release: the channel's is older than the running one", "channel", u.Channel, "head", head.String(), "running", u.Running.String())
			} else {
				u.Log.Debug("self-update: the channel's release is not newer", "channel", u.Channel, "head", head.String(), "running", u.Running.String())
			}
		}
		return nil, nil
	}
	if why, ok := u.refused[head]; ok {
		u.Log.Debug("self-update: release refused before", "release", head.String(), "why", why)
		return nil, nil
	}
	u.Log.Info("self-update: newer release in the channel; installing it", "release", head.String(), "running", u.Running.String(), "channel", u.Channel)
	p, err := u.install(ctx, head)
	if err != nil {
		return nil, fmt.Errorf("refusing %s: install (its signature is verified): %w", head, err)
	}
	bin := filepath.Join(p.Path, "bin", "hab")
	if err := Usable(ctx, bin, u.Store.Target); err != nil {
		u.Refuse(head, err.Error())
		return nil, fmt.Errorf("refusing %s: %w", head, err)
	}
	u.Log.Info("self-update: release installed and checked", "release", head.String(), "binary", bin)
	return &Release{Ident: head, Binary: bin}, nil
}

// Refuse marks a release as never to be taken (its binary is unfit, or
// executing it failed).
func (u *Updater) Refuse(id ident.Ident, why string) {
	if u.refused == nil {
		u.refused = map[ident.Ident]string{}
	}
	u.refused[id] = why
	u.Log.Warn("self-update: release refused; it is not tried again", "release", id.String(), "why", why)
}

func (u *Updater) install(ctx context.Context, id ident.Ident) (*pkgs.Package, error) {
	src := u.Depot.Source(u.Channel, u.ArtifactCache, func(msg string) { u.Log.Warn("self-update: " + msg) })
	defer src.Close()
	in := &pkgs.Installer{Store: u.Store, Keys: u.Keys, Sources: []pkgs.Source{src}, ArtifactCache: u.ArtifactCache}
	res, err := in.Install(ctx, id.String())
	if err != nil {
		return nil, err
	}
	if res.Package.Ident != id {
		return nil, fmt.Errorf("installed %s, not %s", res.Package.Ident, id)
	}
	return res.Package, nil
}

// Usable fails unless bin is an executable ELF file for target's machine
// that runs here (hab --version exits 0).
func Usable(ctx context.Context, bin string, target ident.Target) error {
	fi, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("hab binary: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("hab binary %s is not an executable file (%s)", bin, fi.Mode())
	}
	if err := elfarch.Check(bin, target, "hab binary"); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, trialTimeout)
	defer cancel()
	out, err := exec.CommandContext(tctx, bin, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("hab binary %s does not run here: %s --version: %w (%.200q)", bin, bin, err, out)
	}
	return nil
}

// Exec replaces this process with bin, given args (without the program
// name) and env. It returns only when that fails.
func Exec(bin string, args, env []string) error {
	err := syscall.Exec(bin, append([]string{bin}, args...), env)
	return fmt.Errorf("execute %s: %w", bin, err)
}

// Reexec replaces this process with its own binary again (hab sup
// restart), given args (without the program name) and env: the binary
// this process runs (/proc/self/exe), even when its file was replaced
// or removed since, named as it was started. It returns only when that
// fails.
func Reexec(args, env []string) error {
	name, err := os.Executable()
	if err != nil {
		name = os.Args[0]
	}
	err = syscall.Exec("/proc/self/exe", append([]string{name}, args...), env)
	return fmt.Errorf("execute this hab (%s) again: %w", name, err)
}
