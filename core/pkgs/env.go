package pkgs

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// EnvVar is one variable of a package's runtime environment.
type EnvVar struct {
	Name  string
	Value string
}

// RuntimeEnvironment computes the environment a command run from package p
// needs, as the original computes it for `hab pkg env` and `hab pkg exec`:
//
//   - the RUNTIME_ENVIRONMENT variables, without their PATH (kept there only
//     for old Habitat releases);
//   - PATH from RUNTIME_PATH, or, for packages older than RUNTIME_PATH, the
//     package's own PATH entries followed by those of its DEPS and then its
//     TDEPS (which must be installed), without duplicates; left out when
//     empty;
//   - the RUNTIME_ENVIRONMENT_PATHS variables, whose paths are rooted under
//     FS_ROOT on Windows only (as in the original);
//   - SSL_CERT_FILE dropped when the caller's environment sets it.
//
// The variables come sorted by name. getenv reads the caller's environment.
// A variable whose name is not a shell variable name is an error naming
// the package and the file.
func (s *Store) RuntimeEnvironment(ctx context.Context, p *Package, getenv func(string) string) ([]EnvVar, error) {
	m, err := p.Metadata()
	if err != nil {
		return nil, err
	}
	env := maps.Clone(m.RuntimeEnvironment)
	if env == nil {
		env = map[string]string{}
	}
	delete(env, "PATH")

	var path []string
	if m.HasRuntimePath {
		path = m.RuntimePath
	} else {
		if path, err = s.legacyRuntimePath(ctx, p, m); err != nil {
			return nil, fmt.Errorf("runtime environment of %s: %w", p.Ident, err)
		}
	}
	if joined := strings.Join(path, ":"); joined != "" {
		env["PATH"] = joined
	}
	for k, v := range m.RuntimeEnvironmentPaths {
		env[k] = v
	}
	for _, f := range []struct {
		file string
		vars map[string]string
	}{{pkgmeta.FileRuntimeEnvironment, m.RuntimeEnvironment}, {pkgmeta.FileRuntimeEnvironmentPaths, m.RuntimeEnvironmentPaths}} {
		for _, k := range slices.Sorted(maps.Keys(f.vars)) {
			if !ValidVarName(k) {
				return nil, fmt.Errorf("%w: runtime environment of %s: %s: %q is not a valid environment variable name (letters, digits and _, not starting with a digit)", pkgmeta.ErrMalformed, p.Ident, f.file, k)
			}
			if strings.ContainsRune(f.vars[k], 0) {
				return nil, fmt.Errorf("%w: runtime environment of %s: %s: the value of %s holds a NUL byte", pkgmeta.ErrMalformed, p.Ident, f.file, k)
			}
		}
	}
	if getenv != nil && getenv("SSL_CERT_FILE") != "" {
		delete(env, "SSL_CERT_FILE")
	}
	out := make([]EnvVar, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, EnvVar{Name: k, Value: env[k]})
	}
	return out, nil
}

// legacyRuntimePath assembles PATH for packages without RUNTIME_PATH, as
// the original does: the package's own binary directories, then those of
// its DEPS, then those of the rest of its runtime closure.
func (s *Store) legacyRuntimePath(ctx context.Context, p *Package, m *pkgmeta.Metadata) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(ps []string) {
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	add(m.BinDirs())
	tdeps, err := s.Closure(ctx, p)
	if err != nil {
		return nil, err
	}
	byID := map[ident.Ident]*Package{}
	for _, d := range tdeps {
		byID[d.Ident] = d
	}
	var order []*Package
	for _, dep := range m.Deps {
		dp, ok := byID[dep]
		if !ok {
			if dp, err = s.Load(dep); err != nil {
				return nil, fmt.Errorf("dependency %s: %w", dep, err)
			}
		}
		order = append(order, dp)
	}
	for _, dp := range slices.Concat(order, tdeps) {
		dm, err := dp.Metadata()
		if err != nil {
			return nil, err
		}
		add(dm.BinDirs())
	}
	return out, nil
}

// ValidVarName reports whether name can be an environment variable that a
// POSIX shell sets: letters, digits and '_', not starting with a digit.
func ValidVarName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// ExportLines renders an environment as `hab pkg env` prints it:
// export NAME="value", one a line, as the original prints it, but with
// the characters a POSIX shell treats specially inside double quotes ($,
// `, " and \\) escaped, so that evaluating the output sets exactly the
// values and runs nothing. Names that are not variable names are refused
// (RuntimeEnvironment never gives one).
func ExportLines(env []EnvVar) (string, error) {
	var b strings.Builder
	for _, v := range env {
		if !ValidVarName(v.Name) {
			return "", fmt.Errorf("export %q: not a valid environment variable name", v.Name)
		}
		fmt.Fprintf(&b, "export %s=\"%s\"\n", v.Name, shellEscaper.Replace(v.Value))
	}
	return b.String(), nil
}

var shellEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")

// CommandEnv returns the environment for running a command from package p:
// base (KEY=VALUE strings, such as os.Environ()) with the package's runtime
// environment set over it, its PATH placed before the caller's PATH.
func CommandEnv(base []string, pkgEnv []EnvVar) []string {
	vars := map[string]string{}
	var order []string
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, e := range pkgEnv {
		v := e.Value
		if e.Name == "PATH" {
			if old, ok := vars["PATH"]; ok && old != "" {
				v = v + ":" + old
			}
		}
		if _, ok := vars[e.Name]; !ok {
			order = append(order, e.Name)
		}
		vars[e.Name] = v
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// FindCommand looks cmd up as the original does for `hab pkg exec`: an
// absolute path that names a file is taken as is; otherwise each directory
// of path (a PATH value) is searched for a regular file of that name.
func FindCommand(cmd, path string) (string, bool) {
	if filepath.IsAbs(cmd) && isFile(cmd) {
		return cmd, true
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, cmd)
		if isFile(p) {
			return p, true
		}
	}
	return "", false
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// RootPathList re-roots the entries of a colon-separated path list that lie
// under /hab/ beneath fsRoot, so that a package installed under FS_ROOT can
// be run from there (its metadata always names /hab/pkgs/...). Other entries
// and a root of "/" or "" leave the list as it is.
func RootPathList(fsRoot, list string) string {
	if fsRoot == "" || filepath.Clean(fsRoot) == "/" || list == "" {
		return list
	}
	parts := strings.Split(list, ":")
	for i, p := range parts {
		if strings.HasPrefix(p, "/hab/") {
			parts[i] = filepath.Join(fsRoot, path.Clean(p)) // ".." cannot climb out of fsRoot
		}
	}
	return strings.Join(parts, ":")
}
