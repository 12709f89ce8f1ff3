package builder

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/habgo/hab/core/closure"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/core/pkgs"
)

// dep is a resolved dependency: the package and its installed metadata.
type dep struct {
	id   ident.Ident
	path string // the package directory under FS_ROOT
	meta *pkgmeta.Metadata
}

// resolvedDeps are the original's dependency arrays.
type resolvedDeps struct {
	build, buildT []*dep // pkg_build_deps_resolved, pkg_build_tdeps_resolved
	run, runT     []*dep // pkg_deps_resolved, pkg_tdeps_resolved
	all, allT     []*dep // pkg_all_deps_resolved, pkg_all_tdeps_resolved
	byName        map[string]*dep
}

const phaseDeps = "resolve dependencies"

// resolveDeps resolves pkg_build_deps and pkg_deps to installed packages
// (installing them from local harts when none is installed), computes
// the transitive sets in the original's order and checks that the
// runtime closure has one release of each package.
func (b *builder) resolveDeps(ctx context.Context) error {
	d := &resolvedDeps{byName: map[string]*dep{}}
	if err := b.loadScaffolding(ctx); err != nil {
		return err
	}
	b.line("Resolving build dependencies")
	for _, name := range listVar(b.p.Var("pkg_build_deps")) {
		r, err := b.resolve(ctx, name, "build dependency")
		if err != nil {
			return err
		}
		d.build = append(d.build, r)
	}
	var err error
	if d.buildT, err = b.transitive(ctx, d.build); err != nil {
		return err
	}
	b.line("Resolving run dependencies")
	for _, name := range listVar(b.p.Var("pkg_deps")) {
		r, err := b.resolve(ctx, name, "dependency")
		if err != nil {
			return err
		}
		d.run = append(d.run, r)
	}
	if d.runT, err = b.transitive(ctx, d.run); err != nil {
		return err
	}
	d.all = append(slices.Clone(d.build), d.run...)
	d.allT = slices.Clone(d.all)
	for _, x := range append(slices.Clone(d.buildT), d.runT...) {
		if !containsDep(d.allT, x) {
			d.allT = append(d.allT, x)
		}
	}
	for _, x := range d.allT {
		d.byName[x.id.String()] = x
	}
	b.deps = d
	if err := b.validateDeps(); err != nil {
		return err
	}
	return b.setDepArrays(ctx)
}

func containsDep(ds []*dep, x *dep) bool {
	return slices.ContainsFunc(ds, func(d *dep) bool { return d.id == x.id })
}

// resolve finds the newest installed package satisfying name, installing
// it from the artifact cache when none is installed.
func (b *builder) resolve(ctx context.Context, name, kind string) (*dep, error) {
	failed := func(err error) error {
		return &Error{Phase: phaseDeps, Status: 1, Msg: fmt.Sprintf("Resolving '%s' failed, should this be built first?", name), Err: err}
	}
	if !strings.Contains(name, "/") {
		b.warnLine(fmt.Sprintf("Origin required for '%s' in plan '%s/%s' (example: acme/%s)", name, b.p.Meta.Origin, b.name, name))
		return nil, failed(nil)
	}
	want, err := ident.Parse(name)
	if err != nil {
		b.warnLine(fmt.Sprintf("Could not find a suitable installed package for '%s'", name))
		return nil, failed(err)
	}
	pkg, err := b.store.Resolve(ctx, want)
	if errors.Is(err, pkgs.ErrNotInstalled) {
		in := &pkgs.Installer{Store: b.store, Keys: b.opts.Keys, ArtifactCache: b.artifactCache()}
		res, ierr := in.Install(ctx, name)
		if ierr != nil {
			b.warnLine(fmt.Sprintf("Could not find a suitable installed package for '%s'", name))
			return nil, failed(ierr)
		}
		b.line(fmt.Sprintf("Installed '%s' from %s", res.Package.Ident, b.artifactCache()))
		pkg, err = res.Package, nil
	}
	if err != nil {
		return nil, failed(err)
	}
	meta, err := pkg.Metadata()
	if err != nil {
		return nil, &Error{Phase: phaseDeps, Status: 1, Msg: fmt.Sprintf("read metadata of %s: %v", pkg.Ident, err), Err: err}
	}
	b.line(fmt.Sprintf("Resolved %s '%s' to %s", kind, name, pkg.Path))
	return &dep{id: pkg.Ident, path: pkg.Path, meta: meta}, nil
}

// artifactCache is where dependencies are installed from: the plan's
// HAB_CACHE_ARTIFACT_PATH, under FS_ROOT.
func (b *builder) artifactCache() string {
	if b.p != nil {
		if v := b.p.Get("HAB_CACHE_ARTIFACT_PATH"); v != "" {
			return v
		}
	}
	return b.habRoot + "/cache/artifacts"
}

// transitive is the direct dependencies followed by their TDEPS, in the
// original's TDEPS order (closure.TDeps).
func (b *builder) transitive(ctx context.Context, direct []*dep) ([]*dep, error) {
	byID := map[ident.Ident]*dep{}
	ids := make([]ident.Ident, len(direct))
	for i, d := range direct {
		byID[d.id] = d
		ids[i] = d.id
	}
	order, err := closure.TDeps(ctx, ids, func(_ context.Context, id ident.Ident) ([]ident.Ident, error) { return byID[id].meta.TDeps, nil })
	if err != nil {
		return nil, err
	}
	out := make([]*dep, 0, len(order))
	for _, id := range order {
		d, ok := byID[id]
		if !ok {
			if d, err = b.load(id); err != nil {
				return nil, err
			}
			byID[id] = d
		}
		out = append(out, d)
	}
	return out, nil
}

func (b *builder) load(id ident.Ident) (*dep, error) {
	pkg, err := b.store.Load(id)
	if err != nil {
		return nil, &Error{Phase: phaseDeps, Status: 1, Msg: fmt.Sprintf("transitive dependency %s is not installed: %v", id, err), Err: err}
	}
	meta, err := pkg.Metadata()
	if err != nil {
		return nil, &Error{Phase: phaseDeps, Status: 1, Msg: fmt.Sprintf("read metadata of %s: %v", id, err), Err: err}
	}
	return &dep{id: id, path: pkg.Path, meta: meta}, nil
}

// validateDeps fails when the runtime closure holds two releases of one
// package, as the original's _validate_deps does.
func (b *builder) validateDeps() error {
	seen := map[string][]string{}
	var dupes []string
	for _, d := range b.deps.runT {
		k := d.id.Origin + "/" + d.id.Name
		seen[k] = append(seen[k], d.id.String())
		if len(seen[k]) == 2 {
			dupes = append(dupes, k)
		}
	}
	if len(dupes) == 0 {
		return nil
	}
	b.warnLine("The following runtime dependencies have more than one version")
	b.warnLine("release in the full dependency chain:")
	for _, k := range dupes {
		b.warnLine(fmt.Sprintf("  * %s ( %s )", k, strings.Join(seen[k], " ")))
	}
	return &Error{Phase: phaseDeps, Status: 31, Msg: "Computed runtime dependency check failed, aborting"}
}

func depPaths(ds []*dep) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.path
	}
	return out
}

// setDepArrays sets the resolved dependency arrays in the plan's shell.
func (b *builder) setDepArrays(ctx context.Context) error {
	d := b.deps
	var src strings.Builder
	for _, a := range []struct {
		name string
		ds   []*dep
	}{
		{"pkg_build_deps_resolved", d.build}, {"pkg_build_tdeps_resolved", d.buildT},
		{"pkg_deps_resolved", d.run}, {"pkg_tdeps_resolved", d.runT},
		{"pkg_all_deps_resolved", d.all}, {"pkg_all_tdeps_resolved", d.allT},
	} {
		src.WriteString(arrayAssign(a.name, depPaths(a.ds)))
	}
	return b.eval(ctx, phaseDeps, src.String())
}

// findDep matches a dependency name (origin/name, name, name/version, ...)
// against resolved packages, as pkg_path_for does.
func findDep(ds []*dep, name string) *dep {
	for _, d := range ds {
		if matchIdent(d.id, name) {
			return d
		}
	}
	return nil
}

// matchIdent reports whether the ident's path (origin/name/version/release)
// contains name as whole path components.
func matchIdent(id ident.Ident, name string) bool {
	s := "/" + id.String() + "/"
	return name != "" && strings.Contains(s, "/"+strings.Trim(name, "/")+"/")
}

// loadScaffolding resolves pkg_scaffolding, puts it and its direct
// runtime dependencies first in pkg_build_deps, sources its
// lib/scaffolding.sh and runs its scaffolding_load, as the original does
// before resolving the other dependencies.
func (b *builder) loadScaffolding(ctx context.Context) error {
	name := b.p.Get("pkg_scaffolding")
	if name == "" {
		return nil
	}
	b.line("Resolving scaffolding dependencies")
	s, err := b.resolve(ctx, name, "scaffolding dependency")
	if err != nil {
		return err
	}
	deps := []string{name}
	resolved := []string{s.path}
	for _, id := range s.meta.Deps {
		deps = append(deps, id.String())
		resolved = append(resolved, b.store.PathFor(id))
	}
	src := arrayAssign("pkg_build_deps", append(deps, listVar(b.p.Var("pkg_build_deps"))...)) +
		arrayAssign("pkg_build_deps_resolved", resolved) +
		arrayAssign("pkg_all_deps_resolved", resolved)
	if err := b.eval(ctx, phaseDeps, src); err != nil {
		return err
	}
	lib := filepath.Join(s.path, "lib", "scaffolding.sh")
	b.line("Loading Scaffolding " + lib)
	if err := b.p.Eval(ctx, "source "+quote(lib)); err != nil {
		return &Error{Phase: phaseDeps, Status: 17, Msg: "Failed to load Scaffolding from " + lib, Err: err}
	}
	if b.p.HasFunc("scaffolding_load") {
		return b.phase(ctx, "scaffolding_load", false)
	}
	return nil
}
