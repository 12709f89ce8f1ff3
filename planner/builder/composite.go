package builder

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

const phaseComposite = "composite"

// buildComposite builds a composite package: metadata only, naming its
// services as the plan gives them (SERVICES), the exact releases they
// resolved to (RESOLVED_SERVICES) and how their binds are satisfied
// within the composite (BIND_MAP).
func (b *builder) buildComposite(ctx context.Context) (*Result, error) {
	services := listVar(b.p.Var("pkg_services"))
	if len(services) < 2 {
		return nil, b.compositeError("A composite package should have at least two services specified in $pkg_services; otherwise just build a non-composite Habitat package")
	}
	b.line("Resolving service dependencies")
	resolved := map[string]*dep{}
	for _, s := range services {
		d, err := b.resolve(ctx, s, "service")
		if err != nil {
			return nil, err
		}
		b.line(fmt.Sprintf("Verifying that %s is a service", d.path))
		if !fileExists(filepath.Join(d.path, "run")) && !fileExists(filepath.Join(d.path, "hooks", "run")) {
			return nil, b.compositeError(fmt.Sprintf("'%s' is not a service. Only services are allowed in composite packages", b.unroot(d.path)))
		}
		resolved[s] = d
	}
	bindMap := mapVar(b.p.Var("pkg_bind_map"))
	parsed := map[ident.Ident][]pkgmeta.BindMapping{}
	for _, svc := range slices.Sorted(maps.Keys(bindMap)) {
		d, ok := resolved[svc]
		if !ok {
			return nil, b.compositeError(fmt.Sprintf("'%s' in $pkg_bind_map is not listed in $pkg_services", svc))
		}
		binds := map[string][]string{}
		for _, bd := range d.meta.Binds {
			binds[bd.Name] = bd.Exports
		}
		for _, bd := range d.meta.BindsOptional {
			if _, dup := binds[bd.Name]; dup {
				return nil, b.compositeError(fmt.Sprintf("The bind %s has already been declared in pkg_binds for package %s, it cannot also be declared in pkg_binds_optional", bd.Name, svc))
			}
			binds[bd.Name] = bd.Exports
		}
		svcID, err := ident.Parse(svc)
		if err != nil {
			return nil, b.compositeError(fmt.Sprintf("$pkg_bind_map: %v", err))
		}
		for _, mapping := range strings.Fields(bindMap[svc]) {
			bind, sat, _ := strings.Cut(mapping, ":")
			need, ok := binds[bind]
			if !ok {
				return nil, b.compositeError(fmt.Sprintf("The bind '%s' specified in $pkg_bind_map for the package '%s' does not exist in %s.", bind, svc, b.unroot(d.path)))
			}
			sd, ok := resolved[sat]
			if !ok {
				return nil, b.compositeError(fmt.Sprintf("'%s' in $pkg_bind_map is not listed in $pkg_services", sat))
			}
			for _, e := range need {
				if _, ok := sd.meta.Exports[e]; !ok {
					return nil, b.compositeError(fmt.Sprintf("%s does not export '%s', which is required by the '%s' bind of %s", sat, e, bind, b.unroot(d.path)))
				}
			}
			satID, err := ident.Parse(sat)
			if err != nil {
				return nil, b.compositeError(fmt.Sprintf("$pkg_bind_map: %v", err))
			}
			parsed[svcID] = append(parsed[svcID], pkgmeta.BindMapping{BindName: bind, SatisfyingService: satID})
		}
	}
	if err := os.MkdirAll(b.prefix, 0o755); err != nil {
		return nil, b.fail(phaseComposite, 1, "create %s: %v", b.prefix, err)
	}
	return b.finish(ctx, func(context.Context) error {
		b.line("Building package metadata")
		m := &pkgmeta.Metadata{Ident: b.identOf(), Target: b.target, Type: "composite", Other: map[string][]byte{}}
		given := slices.Sorted(slices.Values(services))
		m.Other[pkgmeta.FileServices] = []byte(strings.Join(given, "\n") + "\n")
		for _, s := range services {
			m.ResolvedServices = append(m.ResolvedServices, resolved[s].id)
		}
		slices.SortFunc(m.ResolvedServices, func(a, b ident.Ident) int { return strings.Compare(a.String(), b.String()) })
		if len(parsed) > 0 {
			m.BindMap = parsed
		}
		if err := m.Write(b.prefix); err != nil {
			return b.fail(phaseComposite, 1, "%v", err)
		}
		return nil
	})
}

func (b *builder) compositeError(msg string) error {
	b.errorLine("ERROR: " + msg)
	return &Error{Phase: phaseComposite, Status: 1, Msg: msg}
}
