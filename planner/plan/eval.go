package plan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/planner/shell"
)

// Options configure an evaluation. The zero value evaluates for the host
// target, in an empty environment, with the plan's output discarded.
type Options struct {
	// Target is pkg_target; the host's target when empty.
	Target ident.Target
	// Env is the exported environment the plan sees, as "NAME=value"
	// pairs (PATH, HOME, HAB_ORIGIN, STUDIO_TYPE, ...). HAB_ORIGIN
	// overrides pkg_origin; HAB_ROOT_PATH, HAB_CACHE_KEY_PATH,
	// HAB_BLDR_URL, HAB_BLDR_CHANNEL, HAB_SRC_PATH and HAB_OUTPUT_PATH are
	// honoured as the original build program honours them.
	Env []string
	// Release is pkg_release; the current UTC time (YYYYMMDDhhmmss) when
	// empty.
	Release string
	// WorkDir is the directory the build was started from (INITIAL_PWD,
	// and the default output path under it); the process's when empty.
	WorkDir string
	// Stdout and Stderr receive what the plan prints while it is loaded
	// (build_line, warn, commands it runs); discarded when nil.
	Stdout, Stderr io.Writer
	// Funcs add Go commands to the plan's helpers, or replace them.
	Funcs shell.Funcs
	// Exec runs the external commands the plan calls; real processes
	// found in the plan's PATH when nil.
	Exec interp.ExecHandlerFunc
}

// Plan is an evaluated plan. It keeps the shell the plan was loaded in,
// so that the build phases can call its callbacks in the same state.
type Plan struct {
	Location
	// Syntax is the parsed plan file.
	Syntax *syntax.File
	// Meta is the plan's metadata after defaults.
	Meta Metadata

	runner  *interp.Runner
	nesting shell.NestingGuard // unbounded recursion is an error, not a crash
	mu      sync.Mutex
	funcs   shell.Funcs
	st      *evalState
	assoc   map[string]bool // associative arrays the plan declares
}

// evalState records what the helpers and the call handler observe while a
// run goes on, to explain failures.
type evalState struct {
	mu       sync.Mutex
	sourced  int        // files sourced so far
	lastPos  syntax.Pos // the last simple command run
	exitPos  syntax.Pos // where exit or exit_with was called
	exitWith string     // the message exit_with was given
}

func (s *evalState) sawCall(pos syntax.Pos, name string) {
	s.mu.Lock()
	s.lastPos = pos
	if name == "exit" {
		s.exitPos = pos
		s.exitWith = ""
	}
	s.mu.Unlock()
}

func (s *evalState) sawExitWith(pos syntax.Pos, msg string) {
	s.mu.Lock()
	s.exitPos, s.exitWith = pos, msg
	s.mu.Unlock()
}

// Evaluate finds the plan under dir (see Find) and evaluates it.
func Evaluate(ctx context.Context, dir string, opts Options) (*Plan, error) {
	target, err := resolveTarget(opts.Target)
	if err != nil {
		return nil, err
	}
	loc, err := Find(dir, target)
	if err != nil {
		return nil, err
	}
	opts.Target = target
	return EvaluateLocation(ctx, loc, opts)
}

func resolveTarget(t ident.Target) (ident.Target, error) {
	if t != "" {
		return ident.ParseTarget(string(t))
	}
	return ident.HostTarget()
}

// AssocArrays are the plan settings that are associative arrays, declared
// so by the build program before the plan is sourced.
var AssocArrays = []string{"pkg_exports", "pkg_binds", "pkg_binds_optional", "pkg_bind_map"}

// Parse parses the plan file at loc. Syntax errors name the file and line.
// The tree is adjusted so that the interpreter handles the plan's
// associative arrays as bash does (see shell.FixAssoc).
func Parse(loc Location) (*syntax.File, error) {
	src, err := os.ReadFile(loc.Path)
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", loc.Path, err)
	}
	f, _, err := parseSource(loc.Path, src, nil, "__hab_pe_")
	return f, err
}

// parseSource parses a plan or a file it sources, and adjusts the tree
// for the interpreter (shell.FixAssoc, shell.Compat) with the plan's
// associative arrays, those the file declares, and extra. It reports
// whether the tree was changed.
func parseSource(name string, src []byte, extra map[string]bool, prefix string) (*syntax.File, bool, error) {
	f, err := shell.Parse(name, src)
	if err != nil {
		return nil, false, err
	}
	assoc := shell.AssocNames(f, AssocArrays...)
	for n := range extra {
		assoc[n] = true
	}
	changed := shell.FixAssoc(f, src, assoc)
	if shell.Compat(f, src, assoc, prefix) {
		changed = true
	}
	return f, changed, nil
}

// EvaluateLocation parses and evaluates the plan found at loc.
func EvaluateLocation(ctx context.Context, loc Location, opts Options) (*Plan, error) {
	target, err := resolveTarget(opts.Target)
	if err != nil {
		return nil, err
	}
	opts.Target = target
	f, err := Parse(loc)
	if err != nil {
		return nil, err
	}
	return Run(ctx, loc, f, opts)
}

// Run evaluates the parsed plan f found at loc: it sets up the variables
// the original build program sets before sourcing a plan, runs the plan,
// validates it and applies the defaults that follow, and returns the Plan
// with its metadata. Errors from the plan name its file and line.
func Run(ctx context.Context, loc Location, f *syntax.File, opts Options) (*Plan, error) {
	target, err := resolveTarget(opts.Target)
	if err != nil {
		return nil, err
	}
	opts.Target = target
	if opts.Release == "" {
		opts.Release = time.Now().UTC().Format("20060102150405")
	}
	if opts.WorkDir == "" {
		if opts.WorkDir, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", loc.Path, err)
		}
	}
	p := &Plan{Location: loc, Syntax: f, st: &evalState{}}
	p.funcs = helpers(p.st)
	for name, fn := range shell.CompatFuncs() {
		p.funcs[name] = fn
	}
	p.funcs[sourceFunc] = p.source
	p.assoc = shell.AssocNames(f, AssocArrays...)
	for name, fn := range opts.Funcs {
		p.funcs[name] = fn
	}
	env, setting := presetEnv(loc, opts)

	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	runnerOpts := []interp.RunnerOption{
		interp.Env(env),
		interp.Dir(loc.Context),
		interp.StdIO(nil, stdout, stderr),
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) {
			pos := interp.HandlerCtx(ctx).Pos
			p.st.sawCall(pos, args[0])
			if err := p.nesting.Check(args[0]); err != nil {
				return nil, &shell.Error{File: p.Path, Line: line(pos), Msg: err.Error(), Err: err}
			}
			if (args[0] == "source" || args[0] == ".") && len(args) == 2 {
				return []string{sourceFunc, args[1]}, nil
			}
			return shell.CompatCall(args), nil
		}),
		interp.ExecHandlers(shell.Middleware(p.lookupFunc)),
	}
	if opts.Exec != nil {
		final := opts.Exec
		runnerOpts = append(runnerOpts, interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return final }))
	}
	r, err := interp.New(runnerOpts...)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", loc.Path, err)
	}
	p.runner = r

	runErr := r.Run(ctx, f)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", loc.Path, err)
	}
	if err := p.loadError(runErr); err != nil {
		return nil, err
	}
	if err := p.applyDefaults(ctx, opts, setting); err != nil {
		return nil, err
	}
	return p, nil
}

// loadError explains why the plan failed to load, if it did: the original
// build program stops when sourcing the plan fails or exits.
func (p *Plan) loadError(runErr error) error {
	code := shell.ExitCode(runErr)
	p.st.mu.Lock()
	exitPos, exitWith, lastPos := p.st.exitPos, p.st.exitWith, p.st.lastPos
	p.st.mu.Unlock()
	var ne *shell.NestingError
	switch {
	case errors.As(runErr, &ne):
		return runErr // a *shell.Error naming the plan and the line
	case code < 0:
		return &shell.Error{File: p.Path, Line: line(lastPos), Msg: "evaluating the plan failed: " + runErr.Error(), Err: runErr}
	case p.runner.Exited():
		if exitWith != "" {
			return &shell.Error{File: p.Path, Line: line(exitPos), Msg: fmt.Sprintf("exit_with: %s (status %d)", exitWith, code)}
		}
		if !exitPos.IsValid() {
			exitPos = lastPos
		}
		return &shell.Error{File: p.Path, Line: line(exitPos), Msg: fmt.Sprintf("the plan exited with status %d while being loaded", code)}
	case code > 0:
		var last syntax.Pos
		if n := len(p.Syntax.Stmts); n > 0 {
			last = p.Syntax.Stmts[n-1].Pos()
		}
		return &shell.Error{File: p.Path, Line: line(last), Msg: fmt.Sprintf("failed to load the plan: its last command returned status %d", code)}
	}
	return nil
}

func line(pos syntax.Pos) uint {
	if pos.IsValid() {
		return pos.Line()
	}
	return 0
}

func (p *Plan) lookupFunc(name string) shell.Func {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.funcs[name]
}

// SetFunc adds or replaces a Go command of the plan's shell (the build
// phases install pkg_path_for with the resolved dependencies, the real
// download_file, ...). A nil f removes it.
func (p *Plan) SetFunc(name string, f shell.Func) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f == nil {
		delete(p.funcs, name)
		return
	}
	p.funcs[name] = f
}

// Var returns a variable of the plan's shell.
func (p *Plan) Var(name string) expand.Variable { return p.runner.Vars[name] }

// Get returns the string value of a variable of the plan's shell.
func (p *Plan) Get(name string) string { v, _ := elem0(p.Var(name)); return v }

// HasFunc reports whether the plan (or a file it sourced) defines the
// shell function name.
func (p *Plan) HasFunc(name string) bool { return p.runner.Funcs[name] != nil }

// SetOutput redirects what the plan's shell prints from now on (each
// build phase may log to its own place). A nil writer discards.
func (p *Plan) SetOutput(stdout, stderr io.Writer) error {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	return interp.StdIO(nil, stdout, stderr)(p.runner)
}

// Runner is the interpreter the plan was loaded in.
func (p *Plan) Runner() *interp.Runner { return p.runner }

// Values returns the metadata variables as the reference evaluation
// (shared/tools/plan-oracle.sh) shows them: the same keys and kinds.
func (p *Plan) Values() map[string]Value { return values(p.Var) }

// AllValues is Values plus the settings and derived values it leaves out
// (pkg_release, pkg_prefix, pkg_artifact, pkg_target, service paths,
// composite settings, scaffolding, shutdown settings, source paths).
func (p *Plan) AllValues() map[string]Value { return allValues(p.Var) }

// Call runs a shell function or command of the plan with arguments, in
// the plan's shell, and returns its status as an error (nil for 0).
func (p *Plan) Call(ctx context.Context, name string, args ...string) error {
	words := make([]string, 0, 1+len(args))
	for _, a := range append([]string{name}, args...) {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			return fmt.Errorf("call %s: %w", name, err)
		}
		words = append(words, q)
	}
	return p.Eval(ctx, strings.Join(words, " "))
}

// Eval parses src and runs it in the plan's shell.
func (p *Plan) Eval(ctx context.Context, src string) error {
	f, err := shell.Parse(p.Path, []byte(src))
	if err != nil {
		return err
	}
	return p.runner.Run(ctx, f)
}

// setVars assigns string variables in the plan's shell, in order.
func (p *Plan) setVars(ctx context.Context, kv ...string) error {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		q, err := syntax.Quote(kv[i+1], syntax.LangBash)
		if err != nil {
			return fmt.Errorf("set %s: %w", kv[i], err)
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[i], q)
	}
	return p.Eval(ctx, b.String())
}

// presetEnv returns the environment a plan is sourced in, and a lookup of
// the settings the build program derives from the user's environment.
func presetEnv(loc Location, opts Options) (*shell.Env, map[string]string) {
	env := shell.NewEnv(opts.Env...)
	user := map[string]string{}
	for _, kv := range opts.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			user[k] = v
		}
	}
	orDefault := func(name, def string) string {
		if v := user[name]; v != "" {
			return v
		}
		return def
	}
	root := orDefault("HAB_ROOT_PATH", "/hab")
	set := env.SetString
	if _, ok := user["HAB_ROOT_PATH"]; !ok || user["HAB_ROOT_PATH"] == "" {
		set("HAB_ROOT_PATH", root)
	}
	set("HAB_PLAN_BUILD", "0.0.1")
	set("HAB_CACHE_SRC_PATH", root+"/cache/src")
	set("HAB_CACHE_ARTIFACT_PATH", root+"/cache/artifacts")
	env.Export("HAB_CACHE_KEY_PATH", orDefault("HAB_CACHE_KEY_PATH", root+"/cache/keys"))
	set("HAB_PKG_PATH", root+"/pkgs")
	set("PLAN_CONTEXT", loc.Context)
	set("HAB_PLAN_FILENAME", FileName)
	env.Export("HAB_BLDR_URL", orDefault("HAB_BLDR_URL", "https://bldr.habitat.sh"))
	env.Export("HAB_BLDR_CHANNEL", orDefault("HAB_BLDR_CHANNEL", "base"))
	if _, ok := user["HAB_FALLBACK_CHANNEL"]; !ok {
		set("HAB_FALLBACK_CHANNEL", "stable")
	}
	if user["HAB_REFRESH_CHANNEL"] == "" {
		set("HAB_REFRESH_CHANNEL", "base")
	}
	if user["HAB_PREFER_LOCAL_CHEF_DEPS"] == "" {
		set("HAB_PREFER_LOCAL_CHEF_DEPS", "false")
	}
	if user["HAB_HART_COMPRESSION_LEVEL"] == "" {
		set("HAB_HART_COMPRESSION_LEVEL", "6")
	}
	set("INITIAL_PATH", user["PATH"])
	set("INITIAL_PWD", opts.WorkDir)
	set("_program", "hab-plan-build")
	set("THIS_PROGRAM", "hab-plan-build")
	set("graceful_exit", "true")
	set("_artifact_ext", "hart")

	set("pkg_target", string(opts.Target))
	set("pkg_origin", "")
	set("pkg_release", opts.Release)
	for _, n := range []string{"pkg_build_deps", "pkg_deps", "pkg_lib_dirs", "pkg_bin_dirs", "pkg_include_dirs", "pkg_pconfig_dirs", "pkg_exposes"} {
		env.SetArray(n)
	}
	set("pkg_svc_run", "")
	for _, n := range []string{"pkg_exports", "pkg_binds", "pkg_binds_optional", "pkg_bind_map"} {
		env.DeclareAssoc(n)
	}
	set("pkg_svc_user", "hab")
	set("pkg_svc_group", "hab")
	svc := root + "/svc/@__pkg_name__@"
	setSvcPaths(set, svc)

	// The initial source root is the directory the build started from:
	// the plan's sources live beside it unless pkg_source says otherwise.
	src := user["HAB_SRC_PATH"]
	if src == "" {
		src = loc.Root
		set("HAB_SRC_PATH", src)
	}
	set("SRC_PATH", src)
	return env, map[string]string{
		"HAB_ROOT_PATH":   root,
		"HAB_ORIGIN":      user["HAB_ORIGIN"],
		"HAB_OUTPUT_PATH": user["HAB_OUTPUT_PATH"],
	}
}

func setSvcPaths(set func(name, value string), svc string) {
	set("pkg_svc_path", svc)
	set("pkg_svc_data_path", svc+"/data")
	set("pkg_svc_files_path", svc+"/files")
	set("pkg_svc_var_path", svc+"/var")
	set("pkg_svc_config_path", svc+"/config")
	set("pkg_svc_config_install_path", svc+"/config_install")
	set("pkg_svc_static_path", svc+"/static")
}

// applyDefaults validates the loaded plan and applies what the original
// build program does between sourcing the plan and its first phase.
func (p *Plan) applyDefaults(ctx context.Context, opts Options, setting map[string]string) error {
	get := p.Var
	str := func(n string) string { v, _ := elem0(get(n)); return v }
	isSet := func(n string) bool { _, ok := elem0(get(n)); return ok }
	var assign []string
	set := func(n, v string) { assign = append(assign, n, v) }

	fromEnv := false
	if o := setting["HAB_ORIGIN"]; o != "" {
		set("pkg_origin", o)
		fromEnv = true
	}
	name, origin := str("pkg_name"), str("pkg_origin")
	if fromEnv {
		origin = setting["HAB_ORIGIN"]
	}
	if name == "" {
		return p.settingError("pkg_name", "pkg_name must be set")
	}
	if origin == "" {
		return p.settingError("pkg_origin", "pkg_origin must be set (or HAB_ORIGIN given)")
	}
	if !ident.ValidName(name) {
		return p.settingError("pkg_name", fmt.Sprintf("pkg_name %q contains invalid characters: use only letters, digits, '_' and '-'", name))
	}
	if !ident.ValidOrigin(origin) {
		if fromEnv {
			return &shell.Error{File: p.Path, Msg: fmt.Sprintf("HAB_ORIGIN %q is not a valid origin: use only lowercase letters, digits, '_' and '-', starting with a letter or digit", origin)}
		}
		return p.settingError("pkg_origin", fmt.Sprintf("pkg_origin %q contains invalid characters: use only lowercase letters, digits, '_' and '-', starting with a letter or digit", origin))
	}

	if isSet("pkg_svc_run") {
		set("pkg_svc_run", strings.ReplaceAll(str("pkg_svc_run"), "@__pkg_name__@", name))
	}

	version := str("pkg_version")
	hasVersionFunc := p.HasFunc("pkg_version")
	if version == "" {
		if !hasVersionFunc {
			return p.settingError("pkg_version", "pkg_version must be set, or a pkg_version() function defined and called through update_pkg_version")
		}
		version = VersionUnset
		set("pkg_version", version)
	}
	if err := ident.CheckPart("pkg_version", version); err != nil {
		return p.settingError("pkg_version", err.Error())
	}
	if err := ident.CheckPart("pkg_release", str("pkg_release")); err != nil {
		if !lastAssignment(p.Syntax, "pkg_release").IsValid() {
			return &shell.Error{File: p.Path, Msg: "the release the build was given: " + err.Error()}
		}
		return p.settingError("pkg_release", err.Error())
	}
	if n := len(artifactName(origin, name, version, str("pkg_release"), str("pkg_target"))); n > maxArtifactName {
		return p.settingError("pkg_version", fmt.Sprintf("the artifact's file name would be %d bytes long, over the %d a file name may have here: shorten pkg_name or pkg_version", n, maxArtifactName))
	}
	if src := str("pkg_source"); src != "" && !isSet("pkg_filename") {
		set("pkg_filename", basename(src))
	}
	dirname := str("pkg_dirname")
	if !isSet("pkg_dirname") {
		dirname = name + "-" + version
		set("pkg_dirname", dirname)
		set("_pkg_dirname_initially_unset", "true")
	}
	root := setting["HAB_ROOT_PATH"]
	release, target := str("pkg_release"), str("pkg_target")
	if !isSet("pkg_prefix") {
		set("pkg_prefix", root+"/pkgs/"+origin+"/"+name+"/"+version+"/"+release)
	}
	cache := root + "/cache/src/" + dirname
	set("CACHE_PATH", cache)
	if str("pkg_source") != "" {
		set("SRC_PATH", cache)
	}
	out := setting["HAB_OUTPUT_PATH"]
	if out == "" {
		out = filepath.Join(opts.WorkDir, "results")
	}
	set("pkg_output_path", out)
	setSvcPaths(set, root+"/svc/"+name)
	set("pkg_artifact", root+"/cache/artifacts/"+artifactName(origin, name, version, release, target))

	if err := p.setVars(ctx, assign...); err != nil {
		return fmt.Errorf("evaluate %s: apply defaults: %w", p.Path, err)
	}
	p.Meta = metadataFrom(get)
	p.Meta.HasPkgVersionFunction = hasVersionFunc
	p.Meta.OriginFromEnvironment = fromEnv
	return nil
}

// settingError is an error about the plan setting name, located at the
// plan's last assignment to it (or at its first line when it has none).
func (p *Plan) settingError(name, msg string) error {
	pos := lastAssignment(p.Syntax, name)
	e := &shell.Error{File: p.Path, Line: 1, Msg: msg}
	if pos.IsValid() {
		e.Line, e.Col = pos.Line(), pos.Col()
	} else {
		e.Msg += " (the plan never assigns it)"
	}
	return e
}

// lastAssignment returns the position of the last assignment to name in
// f, preferring those outside functions (which run when the plan loads).
func lastAssignment(f *syntax.File, name string) syntax.Pos {
	var top, any syntax.Pos
	var walk func(node syntax.Node, inFunc bool)
	walk = func(node syntax.Node, inFunc bool) {
		syntax.Walk(node, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.FuncDecl:
				if !inFunc {
					walk(n.Body, true)
					return false
				}
			case *syntax.Assign:
				if n.Name != nil && n.Name.Value == name {
					any = n.Pos()
					if !inFunc {
						top = n.Pos()
					}
				}
			}
			return true
		})
	}
	walk(f, false)
	if top.IsValid() {
		return top
	}
	return any
}

// basename is basename(1): the last path element, trailing slashes
// ignored; "/" for a string of slashes.
func basename(s string) string {
	t := strings.TrimRight(s, "/")
	if t == "" {
		if s == "" {
			return ""
		}
		return "/"
	}
	if i := strings.LastIndexByte(t, '/'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// maxArtifactName is the longest artifact file name a plan may lead to:
// a file name has at most 255 bytes, and the build writes the artifact
// under a temporary name of its name and 12 bytes more.
const maxArtifactName = 255 - 12

func artifactName(origin, name, version, release, target string) string {
	return fmt.Sprintf("%s-%s-%s-%s-%s.hart", origin, name, version, release, target)
}
