package builder

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/habgo/hab/planner/plan"
	"github.com/habgo/hab/planner/shell"
)

// helpers are the build-time Go helpers installed in the plan's shell
// (replacing the load-time ones of planner/plan), and the default
// implementations of the phases that are written in Go.
func (b *builder) helpers() shell.Funcs {
	return shell.Funcs{
		"exit_with":           b.exitWith,
		"pkg_path_for":        b.pkgPathFor,
		"pkg_interpreter_for": b.pkgInterpreterFor,
		"fix_interpreter":     b.fixInterpreter,
		"download_file":       b.downloadFile,
		"verify_file":         b.verifyFile,
		"normalize_checksum":  normalizeChecksum,
		"unpack_file":         b.unpackFile,
		"set_runtime_env":     b.setEnvFunc(b.runtimeEnv, "set_runtime_env"),
		"set_buildtime_env":   b.setEnvFunc(b.buildtimeEnv, "set_buildtime_env"),
		"push_runtime_env":    b.pushEnvFunc(b.runtimeEnv, "PUSH TO RUN"),
		"push_buildtime_env":  b.pushEnvFunc(b.buildtimeEnv, "PUSH TO BUILD"),
		"attach":              b.attach,
		"update_pkg_version": func(ctx context.Context, c *shell.Call) error {
			return plan.UpdatePkgVersion(ctx, c, func(ctx context.Context, c *shell.Call, code int, msg string) error {
				return b.exitNow(ctx, c, code, b.p.Path+": "+msg)
			})
		},

		"do_default_begin":             nothing,
		"do_default_setup_environment": nothing,
		"do_default_before":            nothing,
		"do_default_prepare":           nothing,
		"do_default_after":             nothing,
		"do_default_end":               nothing,
		"do_default_clean":             b.defaultClean,
		"do_default_build_config":      b.defaultBuildConfig,
		"do_default_build_service":     b.defaultBuildService,
		"do_default_strip":             b.defaultStrip,
	}
}

func nothing(context.Context, *shell.Call) error { return nil }

func buildLine(c *shell.Call, msg string) { plan.PrintLine(c, c.Stdout(), "\033[1;37m", "", msg) }
func warnLine(c *shell.Call, msg string) {
	plan.PrintLine(c, c.Stderr(), "\033[1;33mWARN: \033[1;37m", "WARN: ", msg)
}

// failWith records why a helper failed (the build error names it) and
// returns status 1.
func (b *builder) failWith(c *shell.Call, format string, a ...any) error {
	b.failure = fmt.Sprintf(format, a...)
	return c.Status(1)
}

func (b *builder) exitWith(ctx context.Context, c *shell.Call) error {
	msg := c.Arg(1)
	plan.PrintLine(c, c.Stdout(), "\033[1;31mERROR: \033[1;37m", "ERROR: ", msg)
	code := 1
	if s := strings.TrimSpace(c.Arg(2)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(c.Stderr(), "exit_with: %s: numeric argument required\n", s)
			n = 2
		}
		code = n
	}
	b.exitMsg = msg
	return c.Exit(ctx, code)
}

// exitNow is exit_with called from Go.
func (b *builder) exitNow(ctx context.Context, c *shell.Call, code int, msg string) error {
	plan.PrintLine(c, c.Stdout(), "\033[1;31mERROR: \033[1;37m", "ERROR: ", msg)
	b.exitMsg = msg
	return c.Exit(ctx, code)
}

func (b *builder) pkgPathFor(_ context.Context, c *shell.Call) error {
	name := c.Arg(1)
	if b.deps != nil {
		if d := findDep(b.deps.all, name); d != nil {
			fmt.Fprintln(c.Stdout(), d.path)
			return nil
		}
	}
	warnLine(c, fmt.Sprintf("pkg_path_for() '%s' did not find a suitable installed package", name))
	var all []string
	if b.deps != nil {
		all = depPaths(b.deps.all)
	}
	warnLine(c, fmt.Sprintf("Resolved package set: (%s)", strings.Join(all, " ")))
	return b.failWith(c, "pkg_path_for() '%s' did not find a suitable installed package", name)
}

// interpreterFor finds interpreter int (such as bin/sh) in the INTERPRETERS
// of the runtime dependency pkg.
func (b *builder) interpreterFor(c *shell.Call, pkg, int string) (string, bool) {
	var d *dep
	if b.deps != nil {
		d = findDep(b.deps.run, pkg)
	}
	if d == nil {
		warnLine(c, fmt.Sprintf("Could not resolve the path for %s, is it specified in 'pkg_deps'?", pkg))
		return "", false
	}
	re, err := regexp.Compile("^.*" + int + "$")
	if err != nil {
		re = regexp.MustCompile("^.*" + regexp.QuoteMeta(int) + "$")
	}
	for _, l := range d.meta.Interpreters {
		if re.MatchString(l) {
			return b.root(l), true
		}
	}
	warnLine(c, fmt.Sprintf("Could not find interpreter %s in package %s", int, pkg))
	return "", false
}

func (b *builder) pkgInterpreterFor(_ context.Context, c *shell.Call) error {
	p, ok := b.interpreterFor(c, c.Arg(1), c.Arg(2))
	if !ok {
		return b.failWith(c, "no interpreter %s in the runtime dependency %s", c.Arg(2), c.Arg(1))
	}
	fmt.Fprintln(c.Stdout(), p)
	return nil
}

// fixInterpreter rewrites the #! line of the target files (a glob, relative
// to the shell's directory) to the interpreter of a runtime dependency.
func (b *builder) fixInterpreter(_ context.Context, c *shell.Call) error {
	targets, pkg, int := c.Arg(1), c.Arg(2), c.Arg(3)
	newInt, ok := b.interpreterFor(c, pkg, int)
	if !ok {
		warnLine(c, fmt.Sprintf("fix_interpreter() '%s' is not a runtime dependency", pkg))
		warnLine(c, "Only runtime packages may be used as your interpreter must travel")
		warnLine(c, fmt.Sprintf("with the '%s' in order to run.", c.Get("pkg_name")))
		warnLine(c, "Resolved runtime package set: "+strings.Join(depPaths(b.deps.run), " "))
		return b.failWith(c, "fix_interpreter() '%s' is not a runtime dependency", pkg)
	}
	re, err := regexp.Compile("^#!.*" + int)
	if err != nil {
		re = regexp.MustCompile("^#!.*" + regexp.QuoteMeta(int))
	}
	for _, pattern := range strings.Fields(targets) {
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(c.Dir(), pattern)
		}
		files, _ := filepath.Glob(pattern)
		if len(files) == 0 {
			files = []string{pattern}
		}
		for _, t := range files {
			fi, err := os.Stat(t)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if real, err := filepath.EvalSymlinks(t); err == nil {
				t = real
			}
			buildLine(c, fmt.Sprintf("Replacing '.*%s' with '%s' in '%s'", int, newInt, t))
			data, err := os.ReadFile(t)
			if err != nil {
				return b.failWith(c, "fix_interpreter: %v", err)
			}
			lines := bytes.SplitAfter(data, []byte("\n"))
			for i, l := range lines {
				if loc := re.FindIndex(l); loc != nil {
					lines[i] = append([]byte("#!"+newInt), l[loc[1]:]...)
				}
			}
			if err := os.WriteFile(t, bytes.Join(lines, nil), fi.Mode().Perm()); err != nil {
				return b.failWith(c, "fix_interpreter: %v", err)
			}
		}
	}
	return nil
}

func normalizeChecksum(_ context.Context, c *shell.Call) error {
	fmt.Fprintln(c.Stdout(), strings.ToLower(c.Arg(1)))
	return nil
}

// srcPath is a file in HAB_CACHE_SRC_PATH (absolute names are kept).
func srcPath(c *shell.Call, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(c.Get("HAB_CACHE_SRC_PATH"), name)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 1<<16)); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checksumOK reports whether a file in the source cache has the expected
// sha256, printing what verify_file prints.
func (b *builder) checksumOK(c *shell.Call, name, expected string) bool {
	buildLine(c, "Verifying "+name)
	expected = strings.ToLower(expected)
	computed, err := sha256File(srcPath(c, name))
	if err != nil {
		warnLine(c, fmt.Sprintf("Checksum invalid for %s: %v", name, err))
		b.failure = fmt.Sprintf("verify %s: %v", name, err)
		return false
	}
	if expected == computed {
		buildLine(c, "Checksum verified for "+name)
		return true
	}
	warnLine(c, fmt.Sprintf("Checksum invalid for %s:", name))
	warnLine(c, "   Expected: "+expected)
	warnLine(c, "   Computed: "+computed)
	b.failure = fmt.Sprintf("Checksum invalid for %s: Expected: %s Computed: %s", name, expected, computed)
	return false
}

// verifyFile is verify_file FILE SHASUM. A file of the source cache that
// fails is removed from it, so that the next build fetches it again
// instead of finding it there.
func (b *builder) verifyFile(_ context.Context, c *shell.Call) error {
	if !b.checksumOK(c, c.Arg(1), c.Arg(2)) {
		if cache := c.Get("HAB_CACHE_SRC_PATH"); cache != "" {
			if err := removeBeneath(cache, srcPath(c, c.Arg(1))); err == nil {
				warnLine(c, fmt.Sprintf("Removed '%s' from the source cache", c.Arg(1)))
			}
		}
		return c.Status(1)
	}
	return nil
}

func (b *builder) defaultClean(_ context.Context, c *shell.Call) error {
	buildLine(c, "Clean the cache")
	if p := c.Get("CACHE_PATH"); p != "" {
		if err := removeBeneath(c.Get("HAB_CACHE_SRC_PATH"), p); err != nil {
			return b.failWith(c, "clean the cache (CACHE_PATH): %v", err)
		}
	}
	return nil
}

// setEnvFunc is set_runtime_env / set_buildtime_env [-f] KEY VALUE.
func (b *builder) setEnvFunc(l *envLayer, _ string) shell.Func {
	return func(ctx context.Context, c *shell.Call) error {
		args := c.Args[1:]
		force := false
		for len(args) > 0 && strings.HasPrefix(args[0], "-") {
			if args[0] == "-f" {
				force = true
			} else {
				fmt.Fprintf(c.Stdout(), "Warning - unknown option %s ignored!\n", strings.TrimPrefix(args[0], "-"))
			}
			args = args[1:]
		}
		var key, value string
		if len(args) > 0 {
			key = args[0]
		}
		if len(args) > 1 {
			value = args[1]
		}
		if setting, ok := protectedVars[key]; ok {
			return b.exitNow(ctx, c, 1, fmt.Sprintf("Cannot directly manipulate environment variable %s! Add appropriate entries to the '%s' variable in plan.sh instead!", key, setting))
		}
		if cur := l.vals[key]; cur != "" {
			if !force {
				return b.exitNow(ctx, c, 1, fmt.Sprintf("Already have a value for $%s, set by %s: %s. If you really wish to overwrite this value, pass the '-f' (\"force\") option when setting it.", key, l.prov[key], cur))
			}
			warnLine(c, fmt.Sprintf("Already have a value for $%s, set by %s: %s. Overwriting value because the '-f' flag was passed", key, l.prov[key], cur))
		}
		l.vals[key] = value
		l.prov[key] = selfIdent(c)
		return nil
	}
}

func selfIdent(c *shell.Call) string {
	return c.Get("pkg_origin") + "/" + c.Get("pkg_name") + "/" + c.Get("pkg_version") + "/" + c.Get("pkg_release")
}

// pushEnvFunc is push_runtime_env / push_buildtime_env KEY VALUE.
func (b *builder) pushEnvFunc(l *envLayer, label string) shell.Func {
	return func(ctx context.Context, c *shell.Call) error {
		buildLine(c, label)
		key, value := c.Arg(1), c.Arg(2)
		if setting, ok := protectedVars[key]; ok {
			return b.exitNow(ctx, c, 1, fmt.Sprintf("Cannot directly manipulate environment variable %s! Add appropriate entries to the '%s' variable in plan.sh instead!", key, setting))
		}
		sep := b.separator(key)
		l.vals[key] = pushToPath(value, l.vals[key], sep)
		l.prov[key] = pushToPath(selfIdent(c), l.prov[key], " ")
		return nil
	}
}
