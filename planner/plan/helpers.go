package plan

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/interp"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/planner/shell"
)

// helpers returns the plan helper functions of the original build
// program that a plan may call while it is loaded, as Go commands. The
// ones that only make sense in a build phase (downloads, unpacking,
// interpreters, runtime environment) answer that they are not available
// yet; the build phases replace them with Plan.SetFunc.
func helpers(st *evalState) shell.Funcs {
	f := shell.Funcs{
		"build_line": buildLine,
		"warn":       warn,
		"debug":      debug,
		"exit_with": func(ctx context.Context, c *shell.Call) error {
			msg := c.Arg(1)
			PrintLine(c, c.Stdout(), "\033[1;31mERROR: \033[1;37m", "ERROR: ", msg)
			code := 1
			if len(c.Args) > 2 && c.Args[2] != "" {
				n, err := strconv.Atoi(strings.TrimSpace(c.Args[2]))
				if err != nil {
					fmt.Fprintf(c.Stderr(), "exit_with: %s: numeric argument required\n", c.Args[2])
					n = 2
				}
				code = n
			}
			st.sawExitWith(c.Pos(), msg)
			return c.Exit(ctx, code)
		},
		"trim":         trim,
		"abspath":      abspath,
		"exists":       exists,
		"join_by":      joinBy,
		"pkg_path_for": pkgPathFor,
		"update_pkg_version": func(ctx context.Context, c *shell.Call) error {
			return UpdatePkgVersion(ctx, c, func(ctx context.Context, c *shell.Call, code int, msg string) error {
				PrintLine(c, c.Stdout(), "\033[1;31mERROR: \033[1;37m", "ERROR: ", msg)
				st.sawExitWith(c.Pos(), msg)
				return c.Exit(ctx, code)
			})
		},
		"attach": attach,
	}
	for _, name := range buildPhaseHelpers {
		f[name] = notInEvaluation
	}
	return f
}

// buildPhaseHelpers are helpers of the original that only work while a
// package is built.
var buildPhaseHelpers = []string{
	"download_file", "verify_file", "unpack_file", "normalize_checksum",
	"fix_interpreter", "pkg_interpreter_for",
	"set_runtime_env", "set_buildtime_env", "push_runtime_env", "push_buildtime_env",
}

func notInEvaluation(_ context.Context, c *shell.Call) error {
	fmt.Fprintf(c.Stderr(), "%s: only available while a package is built, not while the plan is loaded\n", c.Args[0])
	return c.Status(1)
}

// colorTerm reports whether the build program colours its output, as the
// original decides from TERM and HAB_NOCOLORING.
func colorTerm(c *shell.Call) bool {
	if c.Get("HAB_NOCOLORING") == "true" {
		return false
	}
	t := c.Get("TERM")
	return strings.HasSuffix(t, "term") || strings.HasPrefix(t, "xterm-") || t == "rxvt" || t == "screen" || strings.HasPrefix(t, "screen-")
}

// PrintLine writes "   NAME: LABELMSG" as the build program prints its
// messages: NAME is the plan's pkg_name, and colorLabel replaces
// plainLabel when the terminal is coloured (TERM, HAB_NOCOLORING). The
// build phases print through it too.
func PrintLine(c *shell.Call, w io.Writer, colorLabel, plainLabel, msg string) {
	name := c.Get("pkg_name")
	if colorTerm(c) {
		fmt.Fprintf(w, "   \033[1;36m%s: %s%s\033[0m\n", name, colorLabel, msg)
		return
	}
	fmt.Fprintf(w, "   %s: %s%s\n", name, plainLabel, msg)
}

func buildLine(_ context.Context, c *shell.Call) error {
	PrintLine(c, c.Stdout(), "\033[1;37m", "", c.Arg(1))
	return nil
}

func warn(_ context.Context, c *shell.Call) error {
	PrintLine(c, c.Stderr(), "\033[1;33mWARN: \033[1;37m", "WARN: ", c.Arg(1))
	return nil
}

func debug(_ context.Context, c *shell.Call) error {
	if c.Get("DEBUG") == "" {
		return nil
	}
	name := c.Get("pkg_name")
	if colorTerm(c) {
		fmt.Fprintf(c.Stdout(), "   \033[1;36m%s: \033[0mDEBUG: %s\n", name, c.Arg(1))
		return nil
	}
	fmt.Fprintf(c.Stdout(), "   %s: DEBUG: %s\n", name, c.Arg(1))
	return nil
}

// trim prints its arguments, joined by spaces, without leading and
// trailing white space.
func trim(_ context.Context, c *shell.Call) error {
	v := strings.Join(c.Args[1:], " ")
	fmt.Fprintln(c.Stdout(), strings.Trim(v, " \t\n\v\f\r"))
	return nil
}

// abspath prints the absolute form of a path that exists, relative to
// the shell's directory, without resolving symbolic links (as cd and pwd
// do); it fails with status 127 for a path that does not exist.
func abspath(_ context.Context, c *shell.Call) error {
	p := c.Arg(1)
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(c.Dir(), p)
	}
	fi, err := os.Stat(full)
	if err != nil {
		fmt.Fprintf(c.Stderr(), "%s does not exist!\n", p)
		return c.Status(127)
	}
	full = filepath.Clean(full)
	if fi.IsDir() {
		fmt.Fprintln(c.Stdout(), full)
		return nil
	}
	fmt.Fprintln(c.Stdout(), filepath.Join(filepath.Dir(full), filepath.Base(p)))
	return nil
}

// exists succeeds when its argument names a command: a shell function or
// builtin, a plan helper, or a program in PATH.
func exists(ctx context.Context, c *shell.Call) error {
	name := c.Arg(1)
	if name == "" {
		return c.Status(1)
	}
	if interp.IsBuiltin(name) || c.IsFunc(ctx, name) {
		return nil
	}
	for _, h := range append([]string{"build_line", "warn", "debug", "exit_with", "trim", "abspath", "exists", "join_by", "pkg_path_for", "update_pkg_version", "attach"}, buildPhaseHelpers...) {
		if h == name {
			return nil
		}
	}
	if _, err := interp.LookPathDir(c.Dir(), c.Env(), name); err == nil {
		return nil
	}
	return c.Status(1)
}

// joinBy prints its arguments joined by the first character of the first
// one, as "$*" with IFS set to it does.
func joinBy(_ context.Context, c *shell.Call) error {
	sep := ""
	if r := []rune(c.Arg(1)); len(r) > 0 {
		sep = string(r[0])
	}
	var args []string
	if len(c.Args) > 2 {
		args = c.Args[2:]
	}
	fmt.Fprintln(c.Stdout(), strings.Join(args, sep))
	return nil
}

// pkgPathFor prints the install path of a resolved dependency matching
// its argument (origin/name, name, name/version, ...), searching
// pkg_all_deps_resolved as the original does; while a plan is loaded no
// dependency is resolved yet, so it warns and fails.
func pkgPathFor(_ context.Context, c *shell.Call) error {
	dep := c.Arg(1)
	pkgPath := c.Get("HAB_PKG_PATH")
	skip := strings.Count(pkgPath, "/") + 1 // path fields before the identifier
	re, err := regexp.Compile("(^|/)" + dep + "(/|$)")
	if err != nil {
		re = regexp.MustCompile("(^|/)" + regexp.QuoteMeta(dep) + "(/|$)")
	}
	resolved := listOf(c.Var("pkg_all_deps_resolved"))
	for _, e := range resolved {
		fields := strings.Split(e, "/")
		rest := ""
		if len(fields) > skip {
			rest = strings.Join(fields[skip:], "/")
		}
		if re.MatchString(rest) {
			fmt.Fprintln(c.Stdout(), e)
			return nil
		}
	}
	PrintLine(c, c.Stderr(), "\033[1;33mWARN: \033[1;37m", "WARN: ", fmt.Sprintf("pkg_path_for() '%s' did not find a suitable installed package", dep))
	PrintLine(c, c.Stderr(), "\033[1;33mWARN: \033[1;37m", "WARN: ", fmt.Sprintf("Resolved package set: (%s)", strings.Join(resolved, " ")))
	return c.Status(1)
}

// UpdatePkgVersion is update_pkg_version: it sets pkg_version from the
// plan's pkg_version() function and recomputes what depends on it, as
// the original does. A version that breaks the ident rule (see
// ident.CheckPart) is refused before anything is derived from it; exit
// prints the message and ends the shell with the status.
func UpdatePkgVersion(ctx context.Context, c *shell.Call, exit func(ctx context.Context, c *shell.Call, code int, msg string) error) error {
	if c.Get("_verify_vars") == "true" {
		msg := "Plan called 'update_pkg_version()' in phase 'do_prepare()' or later which is not supported. Package version must be determined before 'do_prepare()' phase."
		return exit(ctx, c, 21, msg)
	}
	if c.IsFunc(ctx, "pkg_version") {
		if err := c.Eval(ctx, `pkg_version="$(pkg_version)"`); err != nil {
			return err
		}
		if err := ident.CheckPart("pkg_version", c.Get("pkg_version")); err != nil {
			return exit(ctx, c, 1, "update_pkg_version: "+err.Error())
		}
		PrintLine(c, c.Stdout(), "\033[1;37m", "", fmt.Sprintf("Version updated to '%s'", c.Get("pkg_version")))
	}
	name, origin, version := c.Get("pkg_name"), c.Get("pkg_origin"), c.Get("pkg_version")
	if err := ident.CheckPart("pkg_version", version); err != nil {
		return exit(ctx, c, 1, "update_pkg_version: "+err.Error())
	}
	release, target := c.Get("pkg_release"), c.Get("pkg_target")
	var kv []string
	dirname := c.Get("pkg_dirname")
	if c.Get("_pkg_dirname_initially_unset") == "true" {
		dirname = name + "-" + version
		kv = append(kv, "pkg_dirname", dirname)
	}
	kv = append(kv,
		"pkg_prefix", c.Get("HAB_PKG_PATH")+"/"+origin+"/"+name+"/"+version+"/"+release,
		"pkg_artifact", fmt.Sprintf("%s/%s-%s-%s-%s-%s.%s", c.Get("HAB_CACHE_ARTIFACT_PATH"), origin, name, version, release, target, c.Get("_artifact_ext")),
	)
	updateSrc := c.Get("CACHE_PATH") == c.Get("SRC_PATH")
	cache := c.Get("HAB_CACHE_SRC_PATH") + "/" + dirname
	kv = append(kv, "CACHE_PATH", cache)
	if updateSrc {
		kv = append(kv, "SRC_PATH", cache)
	}
	kv = append(kv, "PATH", strings.ReplaceAll(c.Get("PATH"), VersionUnset, version))
	for i := 0; i < len(kv); i += 2 {
		if err := c.Set(ctx, kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	PrintLine(c, c.Stdout(), "\033[1;37m", "", "Updating PATH="+c.Get("PATH"))
	return nil
}

func attach(_ context.Context, c *shell.Call) error {
	if c.Get("STUDIO_TYPE") == "" {
		PrintLine(c, c.Stderr(), "\033[1;33mWARN: \033[1;37m", "WARN: ", "Non interactive studio, skipping 'attach'")
		return nil
	}
	fmt.Fprintln(c.Stderr(), "attach: interactive debugging sessions are not available while a plan is loaded")
	return nil
}
