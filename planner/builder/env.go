package builder

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// listVar is "${name[@]}" of a variable: an array's elements, or a set
// string as a one-element list.
func listVar(v expand.Variable) []string {
	switch v.Kind {
	case expand.Indexed:
		var out []string
		for _, s := range v.List {
			out = append(out, s)
		}
		return out
	case expand.Associative:
		return slices.Collect(maps.Values(v.Map))
	case expand.String:
		if v.IsSet() && v.Str != "" {
			return []string{v.Str}
		}
	}
	return nil
}

// mapVar is an associative array's content (nil when not one).
func mapVar(v expand.Variable) map[string]string {
	if v.Kind != expand.Associative {
		return nil
	}
	return maps.Clone(v.Map)
}

func quote(s string) string {
	q, err := syntax.Quote(s, syntax.LangBash)
	if err != nil {
		// Only NUL bytes cannot be quoted; they cannot be in a variable.
		return "''"
	}
	return q
}

func arrayAssign(name string, values []string) string {
	var b strings.Builder
	b.WriteString(name + "=(")
	for i, v := range values {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quote(v))
	}
	b.WriteString(")\n")
	return b.String()
}

func exportAssign(name, value string) string {
	return "export " + name + "=" + quote(value) + "\n"
}

// envLayer is the runtime or buildtime environment a build assembles
// (the original's __runtime_environment and its provenance).
type envLayer struct {
	vals map[string]string
	prov map[string]string
}

func newEnvLayer() *envLayer {
	return &envLayer{vals: map[string]string{}, prov: map[string]string{}}
}

// wellKnownAggregates are the variables whose values are lists, with
// their separators, as the original knows them.
var wellKnownAggregates = map[string]string{
	"PATH": ":", "GOPATH": ":", "CLASSPATH": ";", "NODE_PATH": ":", "PYTHONPATH": ":",
	"BUNDLE_PATH": ":", "BUNDLE_WITHOUT": ":", "GEM_PATH": ":", "RUBYLIB": ":", "RUBYPATH": ":",
}

// protectedVars may not be set through set_*_env/push_*_env: the plan
// setting named controls them.
var protectedVars = map[string]string{
	"PATH": "pkg_deps", "LD_RUN_PATH": "pkg_lib_dirs", "LDFLAGS": "pkg_lib_dirs",
	"CFLAGS": "pkg_include_dirs", "CPPFLAGS": "pkg_include_dirs", "CXXFLAGS": "pkg_include_dirs",
	"PKG_CONFIG_PATH": "pkg_pconfig_dirs",
}

// isAggregate reports whether a variable is a list, from
// HAB_ENV_<VAR>_TYPE or the well-known list (warning when guessed).
func (b *builder) isAggregate(name string) bool {
	if t := b.p.Get("HAB_ENV_" + name + "_TYPE"); t != "" {
		return t == "aggregate"
	}
	if _, ok := wellKnownAggregates[name]; ok {
		return true
	}
	b.warnLine(fmt.Sprintf("Treating $%s as a primitive type. If you would like to change this, add `HAB_ENV_%s_TYPE=aggregate` to your plan.", name, name))
	return false
}

func (b *builder) separator(name string) string {
	if s := b.p.Get("HAB_ENV_" + name + "_SEPARATOR"); s != "" {
		return s
	}
	if s, ok := wellKnownAggregates[name]; ok {
		return s
	}
	b.warnLine(fmt.Sprintf("Using `:` as a separator for $%s. If you would like to change this, add `HAB_ENV_%s_SEPARATOR=<YOUR_SEPARATOR>` to your plan.", name, name))
	return ":"
}

// pushToPath prepends item to a separated list and removes duplicates,
// keeping first occurrences.
func pushToPath(item, list, sep string) string {
	joined := item
	if list != "" {
		joined = item + sep + list
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range strings.Split(joined, sep) {
		if seen[e] {
			continue
		}
		seen[e] = true
		out = append(out, e)
	}
	return strings.Join(out, sep)
}

// populateFromDeps fills a layer from the RUNTIME_ENVIRONMENT of the
// direct dependencies, as the original does before do_setup_environment.
func (b *builder) populateFromDeps(l *envLayer, deps []*dep) {
	for _, d := range deps {
		env := d.meta.RuntimeEnvironment
		for _, k := range slices.Sorted(maps.Keys(env)) {
			if k == "PATH" {
				continue
			}
			v := b.root(env[k])
			cur, ok := l.vals[k]
			switch {
			case !ok || cur == "":
				l.vals[k], l.prov[k] = v, d.id.String()
			case cur == v:
			case b.isAggregate(k):
				b.warnLine(fmt.Sprintf("Prepending to $%s originally set from %s", k, l.prov[k]))
				l.vals[k] = pushToPath(v, cur, b.separator(k))
				l.prov[k] = pushToPath(d.id.String(), l.prov[k], " ")
			default:
				b.warnLine(fmt.Sprintf("Overwriting $%s originally set from %s", k, l.prov[k]))
				l.vals[k], l.prov[k] = v, d.id.String()
			}
		}
	}
}

// setupEnvironment is the original's do_setup_environment_wrapper.
func (b *builder) setupEnvironment(ctx context.Context) error {
	b.line("Setting up environment")
	b.line("Populating runtime environment from dependencies")
	b.populateFromDeps(b.runtimeEnv, b.deps.run)
	b.line("Populating buildtime environment from dependencies")
	b.populateFromDeps(b.buildtimeEnv, b.deps.build)
	if err := b.phase(ctx, "do_setup_environment", false); err != nil {
		return err
	}
	var src strings.Builder
	b.line("Layering runtime environment on top of system environment")
	for _, k := range slices.Sorted(maps.Keys(b.runtimeEnv.vals)) {
		src.WriteString(exportAssign(k, b.runtimeEnv.vals[k]))
	}
	if err := b.eval(ctx, "do_setup_environment", src.String()); err != nil {
		return err
	}
	src.Reset()
	b.line("Layering buildtime environment on top of system environment")
	for _, k := range slices.Sorted(maps.Keys(b.buildtimeEnv.vals)) {
		v := b.buildtimeEnv.vals[k]
		cur := b.p.Get(k)
		switch {
		case cur == v:
			continue
		case cur != "" && b.isAggregate(k):
			v = pushToPath(v, cur, b.separator(k))
		}
		src.WriteString(exportAssign(k, v))
	}
	return b.eval(ctx, "do_setup_environment", src.String())
}

// ownDirs is pkg_prefix/DIR for each entry of a pkg_*_dirs setting.
func (b *builder) ownDirs(setting string) []string {
	var out []string
	for _, d := range listVar(b.p.Var(setting)) {
		out = append(out, b.prefix+"/"+d)
	}
	return out
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// depPathEntries is a dependency's PATH entries that lie inside it,
// rooted under FS_ROOT.
func (b *builder) depPathEntries(d *dep) []string {
	var out []string
	for _, e := range d.meta.Path {
		e = b.root(e)
		if e == d.path || strings.HasPrefix(e, d.path+"/") {
			out = append(out, e)
		}
	}
	return out
}

// setBuildPath exports PATH: the package's own binary directories, then
// those of every dependency in pkg_all_tdeps_resolved order, then the
// initial PATH.
func (b *builder) setBuildPath(ctx context.Context) error {
	p := b.ownDirs("pkg_bin_dirs")
	for _, d := range b.deps.allT {
		p = appendUnique(p, b.depPathEntries(d)...)
	}
	p = append(p, b.p.Get("INITIAL_PATH"))
	path := strings.Join(p, ":")
	b.line("Setting PATH=" + path)
	return b.eval(ctx, "setup", exportAssign("PATH", path))
}

// runtimePath is RUNTIME_PATH: own binary directories, then those of the
// direct and transitive runtime dependencies (logical /hab paths).
func (b *builder) runtimePath() string {
	p := b.ownDirs("pkg_bin_dirs")
	for _, d := range append(slices.Clone(b.deps.run), b.deps.runT...) {
		p = appendUnique(p, b.depPathEntries(d)...)
	}
	return b.unroot(strings.Join(p, ":"))
}

// buildEnvironment is the original's _build_environment: LD_RUN_PATH from
// the own library directories and the direct runtime dependencies;
// CFLAGS, CPPFLAGS, CXXFLAGS, LDFLAGS and PKG_CONFIG_PATH from every
// direct dependency; PREFIX.
func (b *builder) buildEnvironment(ctx context.Context) error {
	b.line("Setting build environment")
	var src strings.Builder
	ldRun := b.ownDirs("pkg_lib_dirs")
	for _, d := range b.deps.run {
		if d.meta.LDRunPath != "" {
			ldRun = append(ldRun, b.root(d.meta.LDRunPath))
		}
	}
	vals := map[string]string{}
	for _, k := range []string{"LD_RUN_PATH", "CFLAGS", "CPPFLAGS", "CXXFLAGS", "LDFLAGS", "PKG_CONFIG_PATH"} {
		vals[k] = b.p.Get(k)
	}
	if len(ldRun) > 0 {
		vals["LD_RUN_PATH"] = strings.Join(ldRun, ":")
		src.WriteString(exportAssign("LD_RUN_PATH", vals["LD_RUN_PATH"]))
	}
	add := func(k, v, sep string) {
		if vals[k] != "" {
			vals[k] += sep + v
		} else {
			vals[k] = v
		}
		src.WriteString(exportAssign(k, vals[k]))
	}
	for _, d := range b.deps.all {
		m := d.meta
		if m.CFlags != "" {
			add("CFLAGS", b.root(m.CFlags), " ")
			if _, ok := fileIn(d.path, "CPPFLAGS"); !ok {
				add("CPPFLAGS", b.root(m.CFlags), " ")
			}
			if _, ok := fileIn(d.path, "CXXFLAGS"); !ok {
				add("CXXFLAGS", b.root(m.CFlags), " ")
			}
		}
		if _, ok := fileIn(d.path, "CPPFLAGS"); ok && m.CPPFlags != "" {
			add("CPPFLAGS", b.root(m.CPPFlags), " ")
		}
		if _, ok := fileIn(d.path, "CXXFLAGS"); ok && m.CXXFlags != "" {
			add("CXXFLAGS", b.root(m.CXXFlags), " ")
		}
		if m.LDFlags != "" {
			add("LDFLAGS", b.root(m.LDFlags), " ")
		}
		if m.PkgConfigPath != "" {
			add("PKG_CONFIG_PATH", b.root(m.PkgConfigPath), ":")
		}
	}
	if err := os.MkdirAll(b.p.Get("CACHE_PATH"), 0o755); err != nil {
		return b.fail("setup", 1, "create %s: %v", b.p.Get("CACHE_PATH"), err)
	}
	src.WriteString(exportAssign("PREFIX", b.prefix))
	if err := b.eval(ctx, "setup", src.String()); err != nil {
		return err
	}
	b.line("Setting PREFIX=" + b.prefix)
	for _, k := range []string{"LD_RUN_PATH", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "PKG_CONFIG_PATH"} {
		b.line("Setting " + k + "=" + vals[k])
	}
	return nil
}

func fileIn(dir, name string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}
