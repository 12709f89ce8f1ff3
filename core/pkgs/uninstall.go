package pkgs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/habgo/hab/core/ident"
)

// ErrHasDependents is wrapped when a package cannot be uninstalled because
// installed packages depend on it.
var ErrHasDependents = errors.New("package is a dependency of installed packages")

// UninstallOptions are the flags of `hab pkg uninstall`.
type UninstallOptions struct {
	DryRun bool // report what would be removed, remove nothing
	// KeepLatest, when set, uninstalls every release matching the ident
	// except the newest KeepLatest of them.
	KeepLatest *int
	Exclude    []ident.Ident // packages never removed (partial idents match)
	NoDeps     bool          // do not remove dependencies that nothing else needs
	// IgnoreHook skips the uninstall hook.
	IgnoreHook bool
	Hooks      HookRunner // runs uninstall hooks; nil runs none
	// Protected packages (such as those a supervisor has loaded) are
	// skipped; nil protects nothing.
	Protected func(ident.Ident) bool
	Reporter  Reporter
}

// UninstallResult lists what was (or, in a dry run, would be) removed.
type UninstallResult struct {
	Removed []ident.Ident
}

// Uninstall removes the latest installed release matching want (or, with
// KeepLatest, all but the newest releases) and then, unless NoDeps, those
// of its dependencies that no other installed package needs, as the
// original does. A package that installed packages depend on is refused
// (the original has no way to force it); packages in a dependency cycle
// are removed together (a package naming itself in DEPS is no cycle).
// chef/hab is never removed. The store is locked for the whole uninstall
// (see LockFile).
// Removal is atomic per package: its directory is renamed into a
// temporary and then deleted, and empty parent directories are removed.
func (s *Store) Uninstall(ctx context.Context, want ident.Ident, opts UninstallOptions) (*UninstallResult, error) {
	r := reporter(opts.Reporter)
	res := &UninstallResult{}
	unlock, err := s.lock(ctx, !opts.DryRun)
	if err != nil {
		return res, err
	}
	defer unlock()
	if _, err := s.CleanStale(); err != nil {
		return res, err
	}
	var targets []ident.Ident
	if opts.KeepLatest != nil {
		ids, err := s.List(ctx, want)
		if err != nil {
			return res, err
		}
		if *opts.KeepLatest >= len(ids) {
			r.Begin(fmt.Sprintf("Uninstalling %s", want))
			r.Status(StatusSkipping, fmt.Sprintf("Only %d packages installed", len(ids)))
			r.End(fmt.Sprintf("Uninstall of %s complete", want))
			return res, nil
		}
		slices.SortFunc(ids, func(a, b ident.Ident) int { return ident.Compare(b, a) })
		targets = ids[*opts.KeepLatest:]
	} else {
		targets = []ident.Ident{want}
	}
	slices.SortFunc(targets, ident.Compare)

	g, err := s.Graph(ctx)
	if err != nil {
		return res, err
	}
	gone := map[ident.Ident]bool{} // removed by this uninstall (or, in a dry run, would be)
	for _, t := range targets {
		p, err := s.Resolve(ctx, t)
		if err != nil {
			return res, err
		}
		id := p.Ident
		if gone[id] {
			continue // removed with a cycle it is part of
		}
		r.Begin(fmt.Sprintf("Uninstalling %s", id))
		deps := g.OrderedDeps(id)
		// A package in a dependency cycle goes together with the rest of
		// the cycle, or not at all.
		group := append([]ident.Ident{id}, g.Cycle(id)...)
		switch {
		case !g.Has(id):
			r.Warn(fmt.Sprintf("Tried to find dependant packages of %s but it wasn't in graph.  Maybe another uninstall command was run at the same time?", id))
		case len(g.Dependents(group...)) > 0:
			rd := g.Dependents(group...)
			return res, fmt.Errorf("%w: can't remove package %s: it is a dependency of %d packages (%s)", ErrHasDependents, id, len(rd), joinIdents(rd))
		case len(group) > 1 && opts.NoDeps:
			return res, fmt.Errorf("%w: can't remove package %s alone: it is in a dependency cycle with %s, which --no-deps keeps; uninstall without --no-deps to remove them together", ErrHasDependents, id, joinIdents(group[1:]))
		default:
			removed, err := s.maybeDelete(ctx, p, opts, r)
			if err != nil {
				return res, err
			}
			if !removed {
				continue
			}
			res.Removed = append(res.Removed, id)
			gone[id] = true
			for _, c := range group[1:] {
				cp, err := s.Load(c)
				if err != nil {
					return res, fmt.Errorf("uninstall %s: %w", id, err)
				}
				removed, err := s.maybeDelete(ctx, cp, opts, r)
				if err != nil {
					return res, err
				}
				if !removed {
					return res, fmt.Errorf("uninstall %s: %s, in a dependency cycle with it, was kept: the cycle is left incomplete (removed %s)", id, c, joinIdents(res.Removed))
				}
				res.Removed = append(res.Removed, c)
				gone[c] = true
			}
			g.Remove(group...)
		}

		count := 0
		if opts.NoDeps {
			r.Status(StatusSkipping, "dependencies (--no-deps specified)")
		} else {
			leaving := map[ident.Ident]bool{id: true}
			for _, d := range deps {
				leaving[d] = true
			}
			for _, d := range deps {
				if gone[d] {
					continue
				}
				external := 0
				for _, rd := range g.OrderedRDeps(d) {
					if !leaving[rd] {
						external++
					}
				}
				if external > 0 {
					r.Status(StatusSkipping, fmt.Sprintf("%s. It is a dependency of %d external packages", d, external))
					continue
				}
				dp, err := s.Load(d)
				if errors.Is(err, ErrNotInstalled) {
					r.Status(StatusSkipping, fmt.Sprintf("%s. It is not installed", d))
					continue
				}
				if err != nil {
					return res, err
				}
				removed, err := s.maybeDelete(ctx, dp, opts, r)
				if err != nil {
					return res, err
				}
				if removed {
					g.Remove(d)
					gone[d] = true
					res.Removed = append(res.Removed, d)
					count++
				}
			}
		}
		if opts.DryRun {
			r.End(fmt.Sprintf("Would uninstall %s and %d dependencies (Dry run)", id, count))
		} else {
			r.End(fmt.Sprintf("Uninstall of %s and %d dependencies complete", id, count))
		}
	}
	return res, nil
}

func joinIdents(ids []ident.Ident) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += id.String()
	}
	return s
}

// maybeDelete removes one package unless it is protected or excluded.
func (s *Store) maybeDelete(ctx context.Context, p *Package, opts UninstallOptions, r Reporter) (bool, error) {
	id := p.Ident
	if id.Satisfies(ident.Ident{Origin: "chef", Name: "hab"}) {
		r.Status(StatusSkipping, fmt.Sprintf("%s. You can't uninstall chef/hab", id))
		return false, nil
	}
	if opts.Protected != nil && opts.Protected(id) {
		r.Status(StatusSkipping, fmt.Sprintf("%s. It is currently loaded by the supervisor", id))
		return false, nil
	}
	for _, ex := range opts.Exclude {
		if id.Satisfies(ex) {
			r.Status(StatusSkipping, fmt.Sprintf("%s. It is on the exclusion list", id))
			return false, nil
		}
	}
	if opts.DryRun {
		r.Status(StatusDryRunDeleting, id.String())
		return true, nil
	}
	r.Status(StatusDeleting, id.String())
	if !opts.IgnoreHook && opts.Hooks != nil {
		// The original runs the uninstall hook only when this is the last
		// installed release of the package.
		others, err := s.List(ctx, ident.Ident{Origin: id.Origin, Name: id.Name})
		if err != nil {
			return false, err
		}
		if len(others) > 1 {
			r.Status(StatusSkipping, fmt.Sprintf("execution of uninstall hook for %s. %d packages are installed for %s/%s", id, len(others), id.Origin, id.Name))
		} else if _, err := opts.Hooks.RunHook(ctx, s, p, HookUninstall); err != nil {
			return false, err
		}
	}
	if err := s.remove(p); err != nil {
		return false, err
	}
	return true, nil
}

// remove deletes an installed package directory atomically and prunes the
// version, name and origin directories it leaves empty.
func (s *Store) remove(p *Package) error {
	t, err := s.newTemp(uninstallTmpPrefix, p.Ident.Name+"-"+p.Ident.Release)
	if err != nil {
		return fmt.Errorf("uninstall %s: %w", p.Ident, err)
	}
	if err := os.Rename(p.Path, filepath.Join(t.path, "pkg")); err != nil {
		t.remove()
		return fmt.Errorf("uninstall %s: %w", p.Ident, err)
	}
	if err := t.remove(); err != nil {
		return fmt.Errorf("uninstall %s: remove %s: %w", p.Ident, t.path, err)
	}
	for dir := filepath.Dir(p.Path); isUnder(dir, s.Dir) && dir != s.Dir; dir = filepath.Dir(dir) {
		if err := os.Remove(dir); err != nil {
			break // not empty, or gone
		}
	}
	return nil
}
