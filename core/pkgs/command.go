package pkgs

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/habgo/hab/core/closure"
	"github.com/habgo/hab/core/ident"
)

// Closure returns the runtime closure of the installed package p, without
// p itself, in TDEPS order (see closure.TDeps), each package loaded from
// the store. A dependency that is not installed is an error wrapping
// ErrNotInstalled that names it.
func (s *Store) Closure(ctx context.Context, p *Package) ([]*Package, error) {
	m, err := p.Metadata()
	if err != nil {
		return nil, err
	}
	ids, err := closure.TDeps(ctx, []ident.Ident{p.Ident}, func(context.Context, ident.Ident) ([]ident.Ident, error) { return m.TDeps, nil })
	if err != nil {
		return nil, err
	}
	out := make([]*Package, 0, len(ids)-1)
	for _, id := range ids[1:] {
		dp, err := s.Load(id)
		if err != nil {
			return nil, fmt.Errorf("runtime closure of %s: dependency %s: %w", p.Ident, id, err)
		}
		out = append(out, dp)
	}
	return out, nil
}

// Command returns the command that runs program name, with args, from the
// installed package p: what `hab pkg exec`, hooks and supervised services
// all run. Its environment is base (the caller's, KEY=VALUE strings) with
// the package's runtime environment set over it (see RuntimeEnvironment;
// SSL_CERT_FILE is the caller's when base sets it), the package's PATH,
// re-rooted under FS_ROOT, placed before the caller's. name is looked up as
// FindCommand does on that PATH; Args[0] is name as given. The caller sets
// the directory and the standard streams.
func (s *Store) Command(ctx context.Context, p *Package, base []string, name string, args ...string) (*exec.Cmd, error) {
	pkgEnv, err := s.RuntimeEnvironment(ctx, p, lookupIn(base))
	if err != nil {
		return nil, err
	}
	for i := range pkgEnv {
		if pkgEnv[i].Name == "PATH" {
			pkgEnv[i].Value = RootPathList(s.FSRoot, pkgEnv[i].Value)
		}
	}
	env := CommandEnv(base, pkgEnv)
	prog, ok := FindCommand(name, lookupIn(env)("PATH"))
	if !ok {
		return nil, fmt.Errorf("%w: `%s' was not found on the filesystem or in PATH of %s", ErrCommandNotFound, name, p.Ident)
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Args[0] = name
	cmd.Env = env
	return cmd, nil
}

// lookupIn returns a getenv over KEY=VALUE strings (the last one of a key
// wins, as in exec).
func lookupIn(env []string) func(string) string {
	return func(key string) string {
		v := ""
		for _, kv := range env {
			if k, val, ok := strings.Cut(kv, "="); ok && k == key {
				v = val
			}
		}
		return v
	}
}
