// Package closure gathers what an exporter ships: the packages asked for
// (from harts, which are verified and installed into a work root, or from
// the installed store) with their runtime closure, dependencies first, and
// the packages an exporter adds of its own (hab itself, a shell) made from
// host binaries. Every exporter takes its packages from here.
package closure

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	coreclosure "github.com/habgo/hab/core/closure"
	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/elfarch"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/core/pkgs"
)

// Package is one package of an export.
type Package struct {
	Ident ident.Ident // fully qualified
	// FSRoot is the root whose hab/pkgs holds the package tree.
	FSRoot string
	// Path is the package directory on this machine.
	Path string
	Meta *pkgmeta.Metadata
}

// Prefix is the package's path inside an image: /hab/pkgs/O/N/V/R.
func (p *Package) Prefix() string { return pkgmeta.InstallPrefix(p.Ident) }

// Runnable reports whether the package has a run hook or a run script:
// what the original requires of the service it exports.
func (p *Package) Runnable() bool {
	for _, f := range []string{"run", filepath.Join("hooks", "run")} {
		if fi, err := os.Stat(filepath.Join(p.Path, f)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// ModTime is the time every entry of the package's layer carries: the
// time of its release when the release is a timestamp, else the epoch.
// It depends on the package only, so that a package's layer is the same
// in every image that holds it.
func (p *Package) ModTime() time.Time {
	if t, err := ident.ReleaseTime(p.Ident.Release); err == nil {
		return t.UTC()
	}
	return time.Unix(0, 0).UTC()
}

// Closure is what one export of one target holds.
type Closure struct {
	Target ident.Target
	// Requested are the packages named on the command line, in order.
	Requested []*Package
	// Primary is the first runnable requested package (the service the
	// image runs); nil when none is.
	Primary *Package
	// Args are the command-line arguments of Requested, as given; for a
	// hart, origin/name (so that update strategies still work, as the
	// original does).
	Args []string
	// Packages is the whole closure, dependencies first, each once.
	Packages []*Package
	// Hab is this hab as a package and Busybox the shell, made from host
	// binaries when Options name them for the target.
	Hab, Busybox *Package
}

// Options say where packages come from.
type Options struct {
	// Store is the installed package store that identifiers resolve in.
	Store *pkgs.Store
	// Keys verify harts; ArtifactCache provides their dependencies.
	Keys          crypto.Cache
	ArtifactCache string
	// WorkDir is an existing directory harts are installed under (one
	// root per target); the caller removes it.
	WorkDir string
	// Sources provide what the store lacks, as to `hab pkg install`: a
	// package named by identifier that is not installed is installed
	// (verified, with its closure, atomically) into Store from them, and
	// the dependencies of harts come from them. The artifact cache alone
	// when empty; cmd/hab adds the depot (-u, -c, -z) unless --offline.
	Sources []pkgs.Source
	// Reporter is told what those installs do; nil says nothing.
	Reporter pkgs.Reporter
	// Channel is the depot channel packages come from (-c), for image
	// names.
	Channel string
	// HabBinary and Busybox name, per target, the hab binary and the
	// static busybox that Gather makes packages of (Closure.Hab and
	// Closure.Busybox), under HostRoot: a lasting directory, so that the
	// same binary is the same package tree (and layer) every time. Each
	// must be an ELF binary of its target's machine. A target they name
	// nothing for gets the packages HabPackage and ShellPackage (else
	// core/busybox-static) of that target from Sources, as the original
	// takes its base packages from the depot; every ELF file in them must
	// be of the target's machine too. Nil maps ask for neither (the
	// formats that ship no image).
	HabBinary, Busybox map[ident.Target]string
	HabVersion         string
	HostRoot           string
	// ShellPackage is the package that gives a target without a Busybox
	// binary its shell (bin/sh); "" is core/busybox-static.
	ShellPackage string
}

// HabPackage and DefaultShellPackage are the packages a target without
// host binaries gets hab and its shell from.
const (
	HabPackage          = "core/hab"
	DefaultShellPackage = "core/busybox-static"
)

// base is hab (shell false) or the shell of an export for target: a
// package made from the binary o names for target, or that package of
// target installed from o.Sources; nil when o asks for none.
func (o *Options) base(ctx context.Context, target ident.Target, shell bool) (*Package, error) {
	bins, what, pkg := o.HabBinary, "hab", HabPackage
	if shell {
		bins, what, pkg = o.Busybox, "shell", o.ShellPackage
		if pkg == "" {
			pkg = DefaultShellPackage
		}
	}
	if bins == nil {
		return nil, nil
	}
	root := filepath.Join(o.HostRoot, string(target))
	if bin, ok := bins[target]; ok {
		if err := elfarch.Check(bin, target, what); err != nil {
			if errors.Is(err, elfarch.ErrOtherMachine) {
				return nil, fmt.Errorf("%w: an image of one target never holds another's binaries", err)
			}
			return nil, err
		}
		if shell {
			return Busybox(ctx, root, target, bin)
		}
		return Hab(ctx, root, target, bin, o.HabVersion)
	}
	store := pkgs.New(paths.At(filepath.Join(o.WorkDir, "base-"+string(target))), target)
	in := &pkgs.Installer{Store: store, Keys: o.Keys, ArtifactCache: o.ArtifactCache, Sources: o.Sources, Reporter: o.Reporter}
	res, err := in.InstallAll(ctx, []string{pkg})
	if err != nil {
		return nil, fmt.Errorf("no %s for target %s: no binary was given for it, and its package: %w", what, target, err)
	}
	p, err := load(store, res[0].Package.Ident)
	if err != nil {
		return nil, err
	}
	if err := CheckPackage(p, target); err != nil {
		return nil, fmt.Errorf("%s for target %s: %w", what, target, err)
	}
	return p, nil
}

// Gather resolves args (harts and package identifiers) into one closure
// per target, in the order the targets first appear. Harts are verified
// and installed with their dependencies (from the artifact cache) into a
// root under o.WorkDir; identifiers resolve in o.Store.
func Gather(ctx context.Context, args []string, o Options) ([]*Closure, error) {
	if len(args) == 0 {
		return nil, errors.New("no package to export: give a package identifier or a .hart file")
	}
	type group struct {
		target ident.Target
		harts  []int
		idents []int
	}
	var groups []*group
	byTarget := map[ident.Target]*group{}
	groupFor := func(t ident.Target) *group {
		g := byTarget[t]
		if g == nil {
			g = &group{target: t}
			byTarget[t] = g
			groups = append(groups, g)
		}
		return g
	}
	for i, arg := range args {
		if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
			info, err := pkgs.ReadArchiveInfo(ctx, arg)
			if err != nil {
				return nil, fmt.Errorf("read hart %s: %w", arg, err)
			}
			t, err := ident.ParseTarget(info.Target)
			if err != nil {
				return nil, fmt.Errorf("hart %s: %w", arg, err)
			}
			g := groupFor(t)
			g.harts = append(g.harts, i)
			continue
		}
		if strings.HasSuffix(arg, ".hart") {
			return nil, fmt.Errorf("hart %s: %w", arg, fs.ErrNotExist)
		}
		if _, err := ident.Parse(arg); err != nil {
			return nil, fmt.Errorf("%q is neither a .hart file nor a package identifier: %w", arg, err)
		}
		g := groupFor(o.Store.Target)
		g.idents = append(g.idents, i)
	}
	var out []*Closure
	for _, g := range groups {
		c, err := gatherTarget(ctx, args, g.target, g.harts, g.idents, o)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// install installs args[i] for each i of which into store from o's
// sources, as `hab pkg install` does (verified, the whole closure or
// nothing; no install hooks: nothing runs for an export), and records
// each package in requested.
func (o *Options) install(ctx context.Context, store *pkgs.Store, args []string, which []int, requested map[int]*Package) error {
	in := &pkgs.Installer{Store: store, Keys: o.Keys, ArtifactCache: o.ArtifactCache, Sources: o.Sources, Reporter: o.Reporter}
	var names []string
	for _, i := range which {
		names = append(names, args[i])
	}
	res, err := in.InstallAll(ctx, names)
	if err != nil {
		return fmt.Errorf("install %s for export: %w", strings.Join(names, ", "), err)
	}
	for k, i := range which {
		p, err := load(store, res[k].Package.Ident)
		if err != nil {
			return err
		}
		requested[i] = p
	}
	return nil
}

func gatherTarget(ctx context.Context, args []string, target ident.Target, harts, idents []int, o Options) (*Closure, error) {
	c := &Closure{Target: target}
	requested := make(map[int]*Package, len(harts)+len(idents))
	if len(harts) > 0 {
		store := pkgs.New(paths.At(filepath.Join(o.WorkDir, "harts-"+string(target))), target)
		if err := o.install(ctx, store, args, harts, requested); err != nil {
			return nil, err
		}
	}
	var missing []int // identifiers the store lacks, installed from o.Sources
	for _, i := range idents {
		want, _ := ident.Parse(args[i])
		ip, err := o.Store.Resolve(ctx, want)
		if errors.Is(err, pkgs.ErrNotInstalled) {
			missing = append(missing, i)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", args[i], err)
		}
		p, err := load(o.Store, ip.Ident)
		if err != nil {
			return nil, err
		}
		requested[i] = p
	}
	if len(missing) > 0 {
		if err := o.install(ctx, o.Store, args, missing, requested); err != nil {
			return nil, err
		}
	}
	order := append(append([]int(nil), harts...), idents...)
	slices.Sort(order)
	byIdent := map[ident.Ident]*Package{}
	var direct []ident.Ident
	for _, i := range order {
		p := requested[i]
		c.Requested = append(c.Requested, p)
		arg := args[i]
		if slices.Contains(harts, i) {
			arg = p.Ident.Origin + "/" + p.Ident.Name
		}
		c.Args = append(c.Args, arg)
		if c.Primary == nil && p.Runnable() {
			c.Primary = p
		}
		byIdent[p.Ident] = p
		direct = append(direct, p.Ident)
	}
	ids, err := coreclosure.TDeps(ctx, direct, func(_ context.Context, id ident.Ident) ([]ident.Ident, error) {
		return byIdent[id].Meta.TDeps, nil
	})
	if err != nil {
		return nil, err
	}
	for k := len(ids) - 1; k >= 0; k-- { // dependencies first
		id := ids[k]
		p := byIdent[id]
		if p == nil {
			// A dependency lives beside the package that needs it.
			for _, r := range c.Requested {
				if q, err := load(storeAt(r.FSRoot, target), id); err == nil {
					p = q
					break
				}
			}
			if p == nil {
				return nil, fmt.Errorf("runtime closure of %s: dependency %s: %w", strings.Join(c.Args, ", "), id, pkgs.ErrNotInstalled)
			}
			byIdent[id] = p
		}
		c.Packages = append(c.Packages, p)
	}
	if c.Hab, err = o.base(ctx, target, false); err != nil {
		return nil, err
	}
	if c.Busybox, err = o.base(ctx, target, true); err != nil {
		return nil, err
	}
	return c, nil
}

// All is what an export ships, in layer order: the shell and hab (when
// made), then the closure, dependencies first, each package once.
func (c *Closure) All() []*Package {
	var out []*Package
	seen := map[ident.Ident]bool{}
	for _, p := range append([]*Package{c.Busybox, c.Hab}, c.Packages...) {
		if p != nil && !seen[p.Ident] {
			seen[p.Ident] = true
			out = append(out, p)
		}
	}
	return out
}

func storeAt(fsRoot string, target ident.Target) *pkgs.Store {
	return pkgs.New(paths.At(fsRoot), target)
}

// load reads an installed package and its metadata.
func load(s *pkgs.Store, id ident.Ident) (*Package, error) {
	ip, err := s.Load(id)
	if err != nil {
		return nil, err
	}
	m, err := ip.Metadata()
	if err != nil {
		return nil, err
	}
	return &Package{Ident: id, FSRoot: s.FSRoot, Path: ip.Path, Meta: m}, nil
}

// ManifestField reads "* __NAME__: value" from the package's MANIFEST
// (the build summary), without the Markdown code quotes around it.
func (p *Package) ManifestField(name string) string {
	prefix := "* __" + name + "__: "
	for _, line := range strings.Split(p.Meta.Manifest, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return strings.Trim(strings.TrimSpace(v), "` ")
		}
	}
	return ""
}

// Licenses is the plan's pkg_license list, from the MANIFEST.
func (p *Package) Licenses() []string { return strings.Fields(p.ManifestField("License")) }

// manifestURL reads a URL the MANIFEST writes as a Markdown link; "" when
// the plan gave none.
func (p *Package) manifestURL(name string) string {
	v := p.ManifestField(name)
	if i := strings.Index(v, "]("); i >= 0 && strings.HasSuffix(v, ")") {
		v = v[i+2 : len(v)-1]
	}
	if !strings.Contains(v, "://") {
		return ""
	}
	return v
}

// SourceURL is the plan's pkg_source; UpstreamURL its pkg_upstream_url.
func (p *Package) SourceURL() string   { return p.manifestURL("Source") }
func (p *Package) UpstreamURL() string { return p.manifestURL("Upstream URL") }

// Description is the plan's pkg_description: the MANIFEST's line after
// its title.
func (p *Package) Description() string {
	lines := strings.SplitN(p.Meta.Manifest, "\n", 3)
	if len(lines) < 2 {
		return ""
	}
	return strings.TrimSpace(lines[1])
}

// Resolve finds the one package arg names (a hart is verified and
// installed under a temporary directory in workDir, removed before
// returning), with its metadata: what the manifest formats need.
func Resolve(ctx context.Context, arg string, o Options, workDir string) (*Package, error) {
	work, err := os.MkdirTemp(workDir, "hab-export-")
	if err != nil {
		return nil, fmt.Errorf("export: work directory: %w", err)
	}
	defer os.RemoveAll(work)
	o.WorkDir, o.HabBinary, o.Busybox = work, nil, nil
	cs, err := Gather(ctx, []string{arg}, o)
	if err != nil {
		return nil, err
	}
	return cs[0].Requested[0], nil
}
