package builder

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/interp"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/planner/plan"
	"github.com/habgo/hab/planner/shell"
)

// phases are the overridable build phases, in the order they run.
var phases = []string{
	"do_begin", "do_setup_environment", "do_before", "do_download", "do_verify", "do_clean",
	"do_unpack", "do_prepare", "do_build", "do_check", "do_install", "do_build_config",
	"do_build_service", "do_strip", "do_after", "do_end",
}

// shellDefaults are the default phase implementations written in shell
// (the others are Go helpers, see helpers).
var shellDefaults = map[string]string{
	"do_default_download": `do_default_download() {
  if [[ -z "${pkg_source:-}" ]]; then return 0; fi
  download_file "$pkg_source" "$pkg_filename" "$pkg_shasum"
}`,
	"do_default_verify": `do_default_verify() {
  if [[ -n "${pkg_filename:-}" ]]; then verify_file "$pkg_filename" "$pkg_shasum"; fi
}`,
	"do_default_unpack": `do_default_unpack() {
  if [[ -n "${pkg_filename:-}" ]]; then unpack_file "$pkg_filename"; fi
}`,
	"do_default_build": `do_default_build() {
  ./configure --prefix="$pkg_prefix"
  make
}`,
	"do_default_install": `do_default_install() {
  make install
}`,
}

// definePhases defines, in the plan's shell, each phase the plan does
// not define as a call of its default, and the shell-written defaults.
func (b *builder) definePhases(ctx context.Context) error {
	var src strings.Builder
	// The empty arrays the evaluation presets expand to one empty word in
	// "${name[@]}" (an interpreter quirk with arrays from the initial
	// environment); assigned again in the shell, they expand to none.
	for _, n := range []string{"pkg_build_deps", "pkg_deps", "pkg_lib_dirs", "pkg_bin_dirs", "pkg_include_dirs", "pkg_pconfig_dirs", "pkg_exposes"} {
		if len(listVar(b.p.Var(n))) == 0 {
			src.WriteString(n + "=()\n")
		}
	}
	for name, body := range shellDefaults {
		if !b.p.HasFunc(name) {
			src.WriteString(body + "\n")
		}
	}
	for _, ph := range phases {
		if ph == "do_check" || b.p.HasFunc(ph) {
			continue
		}
		def := "do_default_" + strings.TrimPrefix(ph, "do_")
		fmt.Fprintf(&src, "%s() {\n  %s\n  return $?\n}\n", ph, def)
	}
	src.WriteString("set -e\n")
	if b.getenv("DEBUG") != "" {
		// The original traces every command with DEBUG set.
		src.WriteString("set -x\n")
	}
	return b.eval(ctx, "setup", src.String())
}

// buildStandard runs the phases of a standard package.
func (b *builder) buildStandard(ctx context.Context) (*Result, error) {
	if err := b.resolveDeps(ctx); err != nil {
		return nil, err
	}
	b.line("hab-plan-build setup")
	if err := b.phase(ctx, "do_begin", false); err != nil {
		return nil, err
	}
	if err := b.writePreBuild(); err != nil {
		return nil, err
	}
	if err := b.setupEnvironment(ctx); err != nil {
		return nil, err
	}
	if err := b.setBuildPath(ctx); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.p.Get("HAB_CACHE_SRC_PATH"), 0o755); err != nil {
		return nil, b.fail("setup", 1, "create source cache: %v", err)
	}
	for _, ph := range []string{"do_before", "do_download", "do_verify", "do_clean", "do_unpack"} {
		if err := b.phase(ctx, ph, false); err != nil {
			return nil, err
		}
	}
	// update_pkg_version may have changed the version, and so the prefix
	// and the environments set up with the placeholder version; a phase
	// may also have assigned pkg_version or pkg_release itself.
	if err := b.checkIdent("do_unpack"); err != nil {
		return nil, err
	}
	b.prefix = b.p.Get("pkg_prefix")
	if v := b.p.Get("pkg_version"); v != plan.VersionUnset {
		for _, l := range []*envLayer{b.runtimeEnv, b.buildtimeEnv} {
			for _, m := range []map[string]string{l.vals, l.prov} {
				for k, x := range m {
					m[k] = strings.ReplaceAll(x, plan.VersionUnset, v)
				}
			}
		}
	}
	if err := b.checkPrefixFree(); err != nil {
		return nil, err
	}
	if err := b.buildEnvironment(ctx); err != nil {
		return nil, err
	}
	b.fixLibtool()
	if err := b.verifyVars(ctx); err != nil {
		return nil, err
	}
	if err := b.verifyHookLineEndings(); err != nil {
		return nil, err
	}
	b.line("Preparing to build")
	if err := b.phase(ctx, "do_prepare", true); err != nil {
		return nil, err
	}
	if b.p.Get("HAB_NATIVE_PACKAGE") == "" {
		b.line("Building standard package")
	} else {
		b.line("Building native package")
	}
	if err := b.phase(ctx, "do_build", true); err != nil {
		return nil, err
	}
	if b.p.HasFunc("do_check") && b.p.Get("DO_CHECK") != "" {
		b.line("Running post-compile tests")
		if err := b.phase(ctx, "do_check", true); err != nil {
			return nil, err
		}
	}
	b.line("Installing")
	for _, d := range append([]string{b.prefix}, b.installDirs()...) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, b.fail("do_install", 1, "create %s: %v", d, err)
		}
	}
	if err := b.phase(ctx, "do_install", true); err != nil {
		return nil, err
	}
	for _, ph := range []string{"do_build_config", "do_build_service", "do_strip", "do_after"} {
		if err := b.phase(ctx, ph, false); err != nil {
			return nil, err
		}
	}
	if err := b.checkIdent(phaseMetadata); err != nil {
		return nil, err
	}
	return b.finish(ctx, b.writeMetadata)
}

func (b *builder) installDirs() []string {
	var out []string
	for _, s := range []string{"pkg_lib_dirs", "pkg_bin_dirs", "pkg_include_dirs", "pkg_pconfig_dirs"} {
		out = append(out, b.ownDirs(s)...)
	}
	return out
}

// checkPrefixFree refuses to build over an installed package: a failure
// would remove it.
func (b *builder) checkPrefixFree() error {
	if b.checked == b.prefix {
		return nil
	}
	b.prefixMade = false
	if _, err := os.Lstat(b.prefix); err == nil {
		return b.fail("setup", 1, "%s is already installed at %s; build with another release", b.identOf(), b.prefix)
	}
	b.checked, b.prefixMade = b.prefix, true
	return nil
}

// checkKey loads the newest secret signing key of the origin.
func (b *builder) checkKey() error {
	origin := b.p.Meta.Origin
	key, err := b.opts.Keys.LatestSigningSecretKey(origin)
	if err != nil {
		msg := fmt.Sprintf("Signing origin key '%s' not found in %s, aborting", origin, b.opts.Keys.Dir)
		b.errorLine("ERROR: " + msg)
		return &Error{Phase: "setup", Status: 35, Msg: msg, Err: err}
	}
	b.key = key
	return nil
}

func (b *builder) writePreBuild() error {
	out := b.p.Get("pkg_output_path")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return b.fail("setup", 1, "create %s: %v", out, err)
	}
	m := b.p.Meta
	body := fmt.Sprintf("pkg_origin=%s\npkg_name=%s\npkg_version=%s\npkg_release=%s\npkg_ident=%s/%s/%s/%s\n",
		m.Origin, m.Name, b.p.Get("pkg_version"), m.Release, m.Origin, m.Name, b.p.Get("pkg_version"), m.Release)
	path := filepath.Join(out, "pre_build.env")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		return b.fail("setup", 1, "write %s: %v", path, err)
	}
	return nil
}

var libtoolSearchPath = regexp.MustCompile(`(?m)eval sys_lib_.*search_path=.*`)

// fixLibtool removes the default system library search paths from the
// libtool scripts of the source, as the original does.
func (b *builder) fixLibtool() {
	root := b.p.Get("SRC_PATH")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(d.Name(), "ltmain.sh") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		b.line("Fixing libtool script " + p)
		os.WriteFile(p, libtoolSearchPath.ReplaceAll(data, nil), 0o755)
		return nil
	})
}

func (b *builder) verifyVars(ctx context.Context) error {
	if b.p.Get("pkg_version") == "__pkg__version__unset__" {
		msg := "Plan did not set 'pkg_version' and did not call 'update_pkg_version()' before the 'do_prepare()' build phase."
		b.errorLine("ERROR: " + msg)
		return &Error{Phase: "do_prepare", Status: 2, Msg: msg}
	}
	return b.eval(ctx, "do_prepare", "_verify_vars=true")
}

func (b *builder) verifyHookLineEndings() error {
	dir := filepath.Join(b.p.Meta.PlanContext, "hooks")
	entries, _ := os.ReadDir(dir)
	var bad []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && bytes.Contains(data, []byte("\r")) {
			bad = append(bad, filepath.Join(dir, e.Name()))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	msg := "Incorrect CR+LF line ending detected in package hook file(s). For the Plan to build, you must first convert these to Unix LF. See https://en.wikipedia.org/wiki/Newline#Conversion_between_newline_formats\n" + strings.Join(bad, "\n")
	b.errorLine("ERROR: " + msg)
	return &Error{Phase: "setup", Status: 1, Msg: msg}
}

// configExcluded reports whether a config file is left out of the
// package: editor backups, or the HAB_CONFIG_EXCLUDE patterns.
func configExcluded(c *shell.Call, name string) bool {
	pats := []string{"*.sw?", "*~", "*.bak"}
	if v := c.Get("HAB_CONFIG_EXCLUDE"); v != "" {
		pats = strings.Split(v, ",")
	}
	for _, p := range pats {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

func copyFile(src, dst string, mode fs.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// copyTemplates copies PLAN_CONTEXT/dir (config, config_install) into the
// package.
func copyTemplates(c *shell.Call, planCtx, prefix, dir string) error {
	root := filepath.Join(planCtx, dir)
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && configExcluded(c, d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(planCtx, p)
		dst := filepath.Join(prefix, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		return copyFile(p, dst, fi.Mode().Perm())
	})
	if err != nil {
		return err
	}
	return os.Chmod(filepath.Join(prefix, dir), 0o755)
}

// defaultBuildConfig copies config/, config_install/, hooks/ (without
// extensions) and default.toml from the plan context into the package.
func (b *builder) defaultBuildConfig(ctx context.Context, c *shell.Call) error {
	buildLine(c, "Writing configuration")
	planCtx, prefix := c.Get("PLAN_CONTEXT"), c.Get("pkg_prefix")
	for _, d := range []string{"config", "config_install"} {
		if err := copyTemplates(c, planCtx, prefix, d); err != nil {
			return b.failWith(c, "copy %s: %v", d, err)
		}
	}
	hooks := filepath.Join(planCtx, "hooks")
	if fi, err := os.Stat(hooks); err == nil && fi.IsDir() {
		dst := filepath.Join(prefix, "hooks")
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return b.failWith(c, "create %s: %v", dst, err)
		}
		entries, err := os.ReadDir(hooks)
		if err != nil {
			return b.failWith(c, "read %s: %v", hooks, err)
		}
		for _, e := range entries {
			name := e.Name()
			hook := strings.TrimSuffix(name, filepath.Ext(name))
			target := filepath.Join(dst, hook)
			if _, err := os.Stat(target); err == nil {
				return b.exitNow(ctx, c, 1, fmt.Sprintf("Multiple hook files found for %s hook. No more than one hook file permitted per lifecycle hook.", hook))
			}
			fi, err := os.Stat(filepath.Join(hooks, name))
			if err != nil || fi.IsDir() {
				continue
			}
			if err := copyFile(filepath.Join(hooks, name), target, fi.Mode().Perm()); err != nil {
				return b.failWith(c, "copy hook %s: %v", name, err)
			}
		}
		os.Chmod(dst, 0o755)
	}
	if fi, err := os.Stat(filepath.Join(planCtx, "default.toml")); err == nil && fi.Mode().IsRegular() {
		if err := copyFile(filepath.Join(planCtx, "default.toml"), filepath.Join(prefix, "default.toml"), fi.Mode().Perm()); err != nil {
			return b.failWith(c, "copy default.toml: %v", err)
		}
	}
	return nil
}

// defaultBuildService writes the run script for pkg_svc_run unless the
// plan has a run hook.
func (b *builder) defaultBuildService(_ context.Context, c *shell.Call) error {
	buildLine(c, "Writing service management scripts")
	planCtx := c.Get("PLAN_CONTEXT")
	if m, _ := filepath.Glob(filepath.Join(planCtx, "hooks", "run.*")); fileExists(filepath.Join(planCtx, "hooks", "run")) || len(m) > 0 {
		buildLine(c, "Using run hook "+planCtx+"/hooks/run")
		return nil
	}
	run := c.Get("pkg_svc_run")
	if run == "" {
		return nil
	}
	prefix, user, group := c.Get("pkg_prefix"), c.Get("pkg_svc_user"), c.Get("pkg_svc_group")
	buildLine(c, fmt.Sprintf("Writing %s/run script to run %s as %s:%s", prefix, run, user, group))
	script := fmt.Sprintf(`#!/bin/sh
export HOME=%s
cd %s

if [ "$(whoami)" = "root" ]; then
  exec chpst \
    -U %s:%s \
    -u %s:%s \
    %s 2>&1
else
  exec %s 2>&1
fi
`, c.Get("pkg_svc_data_path"), c.Get("pkg_svc_path"), user, group, user, group, run, run)
	f, err := os.OpenFile(filepath.Join(prefix, "run"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o755)
	if err != nil {
		return b.failWith(c, "write run script: %v", err)
	}
	_, err = f.WriteString(script)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return b.failWith(c, "write run script: %v", err)
	}
	return nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// defaultStrip strips the package's writable ELF executables, shared
// libraries and archives as the original does (which tells them apart
// with file(1); here the ELF header decides).
func (b *builder) defaultStrip(ctx context.Context, c *shell.Call) error {
	buildLine(c, "Stripping unneeded symbols from binaries and libraries")
	groups := map[string][]string{}
	filepath.WalkDir(c.Get("pkg_prefix"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.Mode().Perm()&0o200 == 0 {
			return nil
		}
		if flag := stripFlag(p); flag != "" {
			groups[flag] = append(groups[flag], p)
		}
		return nil
	})
	if len(groups) == 0 {
		return nil
	}
	if _, err := interp.LookPathDir(c.Dir(), c.Env(), "strip"); err != nil {
		warnLine(c, "strip not found in PATH; binaries are left unstripped")
		return nil
	}
	for _, flag := range []string{"--strip-all", "--strip-unneeded", "--strip-debug"} {
		files := groups[flag]
		if len(files) == 0 {
			continue
		}
		cmd := "strip " + flag
		for _, f := range files {
			cmd += " " + quote(f)
		}
		if err := c.Eval(ctx, cmd); err != nil {
			return b.failWith(c, "strip %s: %v", strings.Join(files, " "), err)
		}
	}
	return nil
}

func stripFlag(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var magic [8]byte
	if n, _ := f.ReadAt(magic[:], 0); n < 4 {
		return ""
	}
	if string(magic[:]) == "!<arch>\n" {
		return "--strip-debug"
	}
	if string(magic[:4]) != elf.ELFMAG {
		return ""
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return ""
	}
	defer ef.Close()
	switch ef.Type {
	case elf.ET_EXEC:
		return "--strip-all"
	case elf.ET_DYN:
		return "--strip-unneeded"
	}
	return ""
}

// checkIdent checks the version and release the shell has now with the
// ident rule: a phase may have assigned them.
func (b *builder) checkIdent(phase string) error {
	for _, n := range []string{"pkg_version", "pkg_release"} {
		if err := ident.CheckPart(n, b.p.Get(n)); err != nil {
			return b.fail(phase, 1, "%s: %v", b.p.Path, err)
		}
	}
	return nil
}

// identOf is the package being built, as the shell has it now.
func (b *builder) identOf() ident.Ident {
	return ident.Ident{Origin: b.p.Get("pkg_origin"), Name: b.p.Get("pkg_name"), Version: b.p.Get("pkg_version"), Release: b.p.Get("pkg_release")}
}
