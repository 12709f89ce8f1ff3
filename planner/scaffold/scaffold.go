// Package scaffold creates a new plan context, as `hab plan init` does: a
// plan.sh filled in from the origin, the name and any pkg_* values given,
// a default.toml, a README.md, and empty config/ and hooks/ directories.
// Files that already exist are left alone.
package scaffold

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/ident"
)

// DefaultVersion is the pkg_version a new plan starts with.
const DefaultVersion = "0.1.0"

// The scaffoldings known by a short name.
var shortScaffoldings = map[string]string{
	"go":     "core/scaffolding-go",
	"gradle": "core/scaffolding-gradle",
	"node":   "core/scaffolding-node",
	"ruby":   "core/scaffolding-ruby",
}

// Scaffolding resolves a --scaffolding value: a short name (go, gradle,
// node, ruby, any case) or a package identifier.
func Scaffolding(s string) (string, error) {
	if id, ok := shortScaffoldings[strings.ToLower(s)]; ok {
		return id, nil
	}
	for _, id := range shortScaffoldings {
		if strings.EqualFold(s, id) {
			return id, nil
		}
	}
	id, err := ident.Parse(s)
	if err != nil {
		return "", fmt.Errorf("scaffolding %q: not one of go, gradle, node, ruby nor a package identifier: %w", s, err)
	}
	return id.String(), nil
}

// Options describe the plan context to create.
type Options struct {
	// Dir is the plan context to create (it may exist).
	Dir string
	// Name is pkg_name.
	Name string
	// Origin is pkg_origin.
	Origin string
	// Scaffolding is a package identifier for pkg_scaffolding, or "".
	Scaffolding string
	// Minimal leaves the documentation comments and most optional
	// settings out.
	Minimal bool
	// WithDocs adds comments documenting each setting.
	WithDocs bool
	// WithCallbacks adds every build phase callback.
	WithCallbacks bool
	// WithAll writes every setting, with documentation and callbacks.
	WithAll bool
	// Values are pkg_* settings to fill in (from the environment, as
	// the original reads them): scalar settings are written quoted,
	// array settings as given, e.g. pkg_deps="(core/make core/gcc)".
	Values map[string]string
}

// Result lists what Init did.
type Result struct {
	Created  []string // files and directories created
	Existing []string // files and directories that were there already
	Appended string   // .gitignore that got lines appended, if any
}

// Init creates the plan context.
func Init(opts Options) (*Result, error) {
	if !ident.ValidName(opts.Name) {
		return nil, fmt.Errorf("plan init: invalid package name %q: use only letters, digits, '_' and '-'", opts.Name)
	}
	if !ident.ValidOrigin(opts.Origin) {
		return nil, fmt.Errorf("plan init: invalid origin %q: use only lowercase letters, digits, '_' and '-', starting with a letter or digit", opts.Origin)
	}
	if opts.Dir == "" {
		return nil, errors.New("plan init: no directory given")
	}
	res := &Result{}
	plan, err := Plan(opts)
	if err != nil {
		return nil, err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"plan.sh", plan},
		{"default.toml", []byte(defaultTOML)},
		{"README.md", readme(opts.Name)},
	}
	for _, f := range files {
		if err := res.writeNew(filepath.Join(opts.Dir, f.name), f.data); err != nil {
			return res, err
		}
	}
	for _, d := range []string{"config", "hooks"} {
		if err := res.mkdir(filepath.Join(opts.Dir, d)); err != nil {
			return res, err
		}
	}
	if err := res.ignoreResults(opts.Dir); err != nil {
		return res, err
	}
	return res, nil
}

// writeNew writes path unless it exists, atomically (a temporary file
// renamed into place), creating its directory.
func (r *Result) writeNew(path string, data []byte) error {
	if _, err := os.Lstat(path); err == nil {
		r.Existing = append(r.Existing, path)
		return nil
	}
	dir := filepath.Dir(path)
	if err := r.mkdirQuiet(dir); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("plan init: write %s: %w", path, err)
	}
	r.Created = append(r.Created, path)
	return nil
}

func (r *Result) mkdirQuiet(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("plan init: create directory %s: %w", dir, err)
	}
	return nil
}

func (r *Result) mkdir(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("plan init: %s exists and is not a directory", dir)
		}
		r.Existing = append(r.Existing, dir+"/")
		return nil
	}
	if err := r.mkdirQuiet(dir); err != nil {
		return err
	}
	r.Created = append(r.Created, dir+"/")
	return nil
}

// gitignoreLines are what a plan context's parent ignores: build output.
var gitignoreLines = []string{"results/"}

// ignoreResults adds the build output directory to the .gitignore beside
// the plan context when that directory is in a git work tree.
func (r *Result) ignoreResults(dir string) error {
	abs, err := filepath.Abs(filepath.Join(dir, ".."))
	if err != nil {
		return fmt.Errorf("plan init: %w", err)
	}
	if !inGitTree(abs) {
		return nil
	}
	path := filepath.Join(abs, ".gitignore")
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return r.writeNew(path, []byte(strings.Join(gitignoreLines, "\n")+"\n"))
	}
	if err != nil {
		return fmt.Errorf("plan init: read %s: %w", path, err)
	}
	have := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		have[sc.Text()] = true
	}
	var add []byte
	if len(old) > 0 && old[len(old)-1] != '\n' {
		add = append(add, '\n')
	}
	n := 0
	for _, l := range gitignoreLines {
		if !have[l] {
			add = append(add, l+"\n"...)
			n++
		}
	}
	if n == 0 {
		r.Existing = append(r.Existing, path)
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("plan init: append to %s: %w", path, err)
	}
	_, werr := f.Write(add)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("plan init: append to %s: %w", path, werr)
	}
	r.Appended = path
	return nil
}

func inGitTree(dir string) bool {
	for {
		if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
			return true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}

// ValuesFrom reads Options.Values from the caller's environment through
// getenv: the pkg_* settings of the plan reference that are set and not
// empty. (The original takes every pkg_* variable; these are the
// settings a plan has.)
func ValuesFrom(getenv func(string) string) map[string]string {
	values := map[string]string{}
	for _, n := range []string{
		"pkg_version", "pkg_maintainer", "pkg_license", "pkg_source", "pkg_filename", "pkg_shasum",
		"pkg_deps", "pkg_build_deps", "pkg_lib_dirs", "pkg_include_dirs", "pkg_bin_dirs", "pkg_pconfig_dirs",
		"pkg_svc_run", "pkg_exports", "pkg_exposes", "pkg_binds", "pkg_binds_optional", "pkg_interpreters",
		"pkg_svc_user", "pkg_svc_group", "pkg_shutdown_signal", "pkg_shutdown_timeout_sec",
		"pkg_description", "pkg_upstream_url", "pkg_dirname", "pkg_type", "pkg_services", "pkg_bind_map",
	} {
		if v := getenv(n); v != "" {
			values[n] = v
		}
	}
	return values
}
