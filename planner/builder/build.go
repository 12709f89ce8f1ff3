// Package builder builds a plan into a signed .hart, as the original
// hab-plan-build program does: it evaluates plan.sh (planner/plan),
// resolves the dependencies from the installed package store (installing
// them from local harts when needed), runs the build phases and callbacks
// in the plan's shell, writes the package metadata, signs the artifact
// and leaves the package installed.
//
// # FS_ROOT
//
// Everything lives under Options.Root.FS. The plan sees the real paths:
// HAB_ROOT_PATH is FS_ROOT/hab, so pkg_prefix, HAB_PKG_PATH,
// HAB_CACHE_SRC_PATH, the resolved dependency paths and the service paths
// all lie under FS_ROOT, and what a plan writes into $pkg_prefix lands in
// the store of that root. With FS_ROOT=/ (a studio) they are exactly the
// original's /hab/... paths. The metadata files of the built package
// always describe it as installed at /hab/pkgs/... (the FS_ROOT part is
// removed from PATH, LD_RUN_PATH, CFLAGS, RUNTIME_ENVIRONMENT, ...), and
// the dependencies' metadata is rooted under FS_ROOT when it enters the
// build environment. Paths compiled into binaries (rpath) keep FS_ROOT:
// outside a studio, build and run in the same root.
package builder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/planner/plan"
	"github.com/habgo/hab/planner/shell"
)

// Options configure a build.
type Options struct {
	// Root is the file-system root everything lives under (FS_ROOT).
	Root paths.Root
	// Target is pkg_target; the host's when empty.
	Target ident.Target
	// Env is the environment the plan starts from ("NAME=value"): PATH,
	// HOME, HAB_ORIGIN, DO_CHECK, DEBUG, TERM, ... HAB_ROOT_PATH is
	// replaced by FS_ROOT/hab.
	Env []string
	// Release is pkg_release; now (UTC) when empty.
	Release string
	// The build is reproducible: every entry of the hart carries the time
	// SOURCE_DATE_EPOCH in Env gives (seconds since 1970), or else the
	// time the release names (YYYYMMDDhhmmss, UTC), and the plan sees
	// SOURCE_DATE_EPOCH set to that time, so that compilers and tools
	// that honour it embed the same dates. Hart.SourceDateEpoch, when
	// set, takes precedence for the entries.
	// WorkDir is where the build was started (INITIAL_PWD; results/ goes
	// under it unless HAB_OUTPUT_PATH is set); the process's when empty.
	WorkDir string
	// Keys is the key cache holding the origin's secret signing key.
	Keys crypto.Cache
	// Output receives what the build prints (also written to the log in
	// results/logs/); discarded when nil.
	Output io.Writer
	// Hart tunes the artifact's compression.
	Hart hart.WriteOptions
	// HTTPClient downloads sources; a client with no overall timeout
	// when nil.
	HTTPClient HTTPDoer
	// Now is the clock (build time in the log); time.Now when nil.
	Now func() time.Time
	// Stdin is where attach reads its debugging commands from (the
	// user's terminal); attach only warns when it is nil.
	Stdin io.Reader
}

// Result describes a successful build.
type Result struct {
	Ident  ident.Ident
	Target ident.Target
	// Prefix is the installed package directory (under FS_ROOT).
	Prefix string
	// Artifact is the signed hart in the output directory
	// (results/ORIGIN-NAME-VERSION-RELEASE-TARGET.hart); CachedArtifact
	// is its copy in the artifact cache (pkg_artifact).
	Artifact, CachedArtifact string
	SHA256, Blake2b          string
	// LastBuild is results/last_build.env; Log is the build log.
	LastBuild, Log string
	// ArtifactTime is the time spent writing the hart (archiving,
	// compressing, signing): the rest of the build is the planner's own
	// overhead plus what the plan runs.
	ArtifactTime time.Duration
}

// Error is a failed build: the phase that failed, the exit status the
// original would exit with, and what went wrong.
type Error struct {
	Phase  string
	Status int
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("build failed in %s: %s", e.Phase, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// ExitStatus is the exit status a command line tool should exit with for
// err: the failed phase's status, 1 for other errors, 0 for nil.
func ExitStatus(err error) int {
	if err == nil {
		return 0
	}
	var be *Error
	if errors.As(err, &be) && be.Status > 0 {
		return be.Status
	}
	return 1
}

// Build builds the plan found in planContext (see plan.Find).
func Build(ctx context.Context, planContext string, opts Options) (res *Result, err error) {
	b, err := newBuilder(opts)
	if err != nil {
		return nil, err
	}
	defer b.closeLog()
	res, err = b.run(ctx, planContext)
	if err != nil {
		b.rollback()
		b.finalCallback(ctx, "do_after_failure")
		b.errorLine("Exiting on error")
		b.keepEarlyLog()
		return nil, err
	}
	return res, nil
}

// builder holds the state of one build.
type builder struct {
	opts    Options
	now     func() time.Time
	start   time.Time
	epoch   time.Time // SOURCE_DATE_EPOCH: the time of every hart entry
	fsRoot  string    // FS_ROOT, cleaned
	habRoot string    // FS_ROOT/hab
	store   *pkgs.Store
	out     io.Writer
	logBuf  *logSink

	p      *plan.Plan
	name   string
	id     ident.Ident
	target ident.Target
	prefix string // the real pkg_prefix
	key    *crypto.SigningSecretKey
	deps   *resolvedDeps

	runtimeEnv, buildtimeEnv *envLayer

	// created lists what the build made that a failure must remove.
	created     []string
	prefixMade  bool
	checked     string // the prefix checkPrefixFree last checked
	failure     string // why the last Go helper failed
	exitMsg     string // the message exit_with was given
	artifactOut string
	success     bool

	stdinOnce sync.Once
	stdin     *lineReader // Stdin, for attach
}

func newBuilder(opts Options) (*builder, error) {
	if opts.Root.FS == "" {
		opts.Root.FS = "/"
	}
	b := &builder{opts: opts, now: opts.Now}
	if b.now == nil {
		b.now = time.Now
	}
	b.start = b.now()
	if opts.Release == "" {
		b.opts.Release = b.start.UTC().Format(ident.ReleaseLayout)
	}
	epoch, err := sourceDateEpoch(b.getenv("SOURCE_DATE_EPOCH"), b.opts.Release, b.start)
	if err != nil {
		return nil, &Error{Phase: "setup", Status: 1, Msg: err.Error(), Err: err}
	}
	b.epoch = epoch
	if b.opts.Hart.SourceDateEpoch == nil {
		b.opts.Hart.SourceDateEpoch = &b.epoch
	}
	fs, err := filepath.Abs(opts.Root.FS)
	if err != nil {
		return nil, fmt.Errorf("build: FS_ROOT %s: %w", opts.Root.FS, err)
	}
	b.fsRoot = fs
	b.habRoot = filepath.Join(fs, "hab")
	b.logBuf = &logSink{}
	user := opts.Output
	if user == nil {
		user = io.Discard
	}
	b.out = io.MultiWriter(user, b.logBuf)
	b.runtimeEnv = newEnvLayer()
	b.buildtimeEnv = newEnvLayer()
	return b, nil
}

// root maps a /hab/... path of package metadata to the path under
// FS_ROOT; unroot maps back. With FS_ROOT=/ both are the identity.
func (b *builder) root(s string) string {
	if b.habRoot == "/hab" {
		return s
	}
	return rewritePaths(s, "/hab/", b.habRoot+"/")
}

func (b *builder) unroot(s string) string {
	if b.habRoot == "/hab" {
		return s
	}
	return strings.ReplaceAll(s, b.habRoot+"/", "/hab/")
}

// rewritePaths replaces from by to where it starts a path: at the start
// of s, or after one of the separators paths are listed with (':', ';',
// ' ', '=', "-I", "-L").
func rewritePaths(s, from, to string) string {
	var out strings.Builder
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], from)
		if j < 0 {
			break
		}
		j += i
		atStart := j == 0 || strings.ContainsRune(":; =\t\n", rune(s[j-1])) ||
			(j >= 2 && (s[j-2:j] == "-I" || s[j-2:j] == "-L"))
		out.WriteString(s[i:j])
		if atStart {
			out.WriteString(to)
		} else {
			out.WriteString(from)
		}
		i = j + len(from)
	}
	out.WriteString(s[i:])
	return out.String()
}

func (b *builder) fail(phase string, status int, format string, a ...any) error {
	return &Error{Phase: phase, Status: status, Msg: fmt.Sprintf(format, a...)}
}

// env returns the plan's environment: the caller's, with HAB_ROOT_PATH
// and HAB_CACHE_KEY_PATH pointing under FS_ROOT and at the key cache.
func (b *builder) env() []string {
	var env []string
	for _, kv := range b.opts.Env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HAB_ROOT_PATH", "HAB_CACHE_KEY_PATH", "FS_ROOT", "SOURCE_DATE_EPOCH":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "SOURCE_DATE_EPOCH="+strconv.FormatInt(b.epoch.Unix(), 10))
	env = append(env, "HAB_ROOT_PATH="+b.habRoot)
	if b.opts.Keys.Dir != "" {
		env = append(env, "HAB_CACHE_KEY_PATH="+b.opts.Keys.Dir)
	}
	return env
}

// sourceDateEpoch is the time a build's entries carry: the caller's
// SOURCE_DATE_EPOCH (seconds since 1970, UTC) when set, else the time
// the release names; a release that names no time (a --release of
// another form) falls back to the start of the build.
func sourceDateEpoch(setting, release string, start time.Time) (time.Time, error) {
	if setting != "" {
		n, err := strconv.ParseInt(setting, 10, 64)
		if err != nil || n < 0 || n > 253402300799 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds since 1970 (0 to 253402300799)", setting)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if t, err := ident.ReleaseTime(release); err == nil {
		return t, nil
	}
	return start.UTC().Truncate(time.Second), nil
}

func (b *builder) getenv(name string) string {
	v := ""
	for _, kv := range b.opts.Env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

func (b *builder) run(ctx context.Context, planContext string) (*Result, error) {
	fmt.Fprintf(b.out, "   hab-plan-build: Loading %s\n", planContext)
	p, err := plan.Evaluate(ctx, planContext, plan.Options{
		Target:  b.opts.Target,
		Env:     b.env(),
		Release: b.opts.Release,
		WorkDir: b.opts.WorkDir,
		Stdout:  b.out,
		Stderr:  b.out,
	})
	if err != nil {
		return nil, &Error{Phase: "load plan", Status: 1, Msg: err.Error(), Err: err}
	}
	b.p = p
	b.name = p.Meta.Name
	b.target = p.Meta.Target
	b.prefix = p.Meta.Prefix
	b.store = pkgs.New(paths.Root{FS: b.fsRoot, Root: true}, b.target)
	for name, f := range b.helpers() {
		p.SetFunc(name, f)
	}
	if err := b.openLog(); err != nil {
		return nil, err
	}
	b.line("Plan loaded")
	b.line("Validating plan metadata")

	// Both kinds of package need a free prefix, the phases defined and
	// the origin's key before they build.
	if err := b.checkPrefixFree(); err != nil {
		return nil, err
	}
	if err := b.definePhases(ctx); err != nil {
		return nil, err
	}
	if err := b.checkKey(); err != nil {
		return nil, err
	}
	if p.Meta.IsComposite() {
		return b.buildComposite(ctx)
	}
	return b.buildStandard(ctx)
}

// openLog starts the build log in pkg_output_path/logs, with what was
// printed so far.
func (b *builder) openLog() error {
	dir := filepath.Join(b.p.Get("pkg_output_path"), "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return b.fail("setup", 1, "create log directory %s: %v", dir, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.log", b.p.Meta.Origin, b.name, b.p.Meta.Release))
	f, err := os.Create(path)
	if err != nil {
		return b.fail("setup", 1, "create build log %s: %v", path, err)
	}
	b.logBuf.attach(f)
	return nil
}

func (b *builder) closeLog() { b.logBuf.close() }

// keepEarlyLog writes the log of a build that failed before its plan was
// loaded into the output directory, as build-RELEASE.log.
func (b *builder) keepEarlyLog() {
	if b.logBuf.path() != "" {
		return
	}
	out := b.getenv("HAB_OUTPUT_PATH")
	if out == "" {
		wd := b.opts.WorkDir
		if wd == "" {
			wd, _ = os.Getwd()
		}
		out = filepath.Join(wd, "results")
	}
	release := b.opts.Release
	if release == "" {
		release = b.start.UTC().Format("20060102150405")
	}
	dir := filepath.Join(out, "logs")
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	if f, err := os.Create(filepath.Join(dir, "build-"+release+".log")); err == nil {
		b.logBuf.attach(f)
	}
}

// line prints "   NAME: msg" as build_line does.
func (b *builder) line(msg string) {
	if b.colour() {
		fmt.Fprintf(b.out, "   \033[1;36m%s: \033[1;37m%s\033[0m\n", b.pkgName(), msg)
		return
	}
	fmt.Fprintf(b.out, "   %s: %s\n", b.pkgName(), msg)
}

func (b *builder) warnLine(msg string) {
	if b.colour() {
		fmt.Fprintf(b.out, "   \033[1;36m%s: \033[1;33mWARN: \033[1;37m%s\033[0m\n", b.pkgName(), msg)
		return
	}
	fmt.Fprintf(b.out, "   %s: WARN: %s\n", b.pkgName(), msg)
}

func (b *builder) errorLine(msg string) {
	if b.colour() {
		fmt.Fprintf(b.out, "   \033[1;36m%s: \033[1;31m%s\033[0m\n", b.pkgName(), msg)
		return
	}
	fmt.Fprintf(b.out, "   %s: %s\n", b.pkgName(), msg)
}

func (b *builder) pkgName() string {
	if b.name == "" {
		return "unknown"
	}
	return b.name
}

func (b *builder) colour() bool {
	if b.getenv("HAB_NOCOLORING") == "true" {
		return false
	}
	t := b.getenv("TERM")
	return strings.HasSuffix(t, "term") || strings.HasPrefix(t, "xterm-") || t == "rxvt" || t == "screen" || strings.HasPrefix(t, "screen-")
}

// rollback removes what a failed build made: the package prefix (when
// the build created it) and the artifacts.
func (b *builder) rollback() {
	if b.prefixMade && b.prefix != "" {
		if err := removeBeneath(b.store.Dir, b.prefix); err != nil {
			b.warnLine(err.Error())
		}
		// Drop the release's parents when the build created them empty.
		for d := filepath.Dir(b.prefix); strings.HasPrefix(d, b.store.Dir+"/"); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break
			}
		}
	}
	for i := len(b.created) - 1; i >= 0; i-- {
		if err := removeBeneath(filepath.Dir(b.created[i]), b.created[i]); err != nil {
			b.warnLine(err.Error())
		}
	}
}

// finalCallback runs do_after_success or do_after_failure when the plan
// defines it, best effort, in a subshell: its failure does not change
// the build's outcome.
func (b *builder) finalCallback(ctx context.Context, name string) {
	if b.p == nil || !b.p.HasFunc(name) {
		return
	}
	b.line(fmt.Sprintf("'%s' callback function is defined; executing...", name))
	if err := b.p.Eval(ctx, "( set -e; "+name+" )"); err != nil {
		msg := fmt.Sprintf("'%s' callback failed", name)
		if name == "do_after_success" {
			msg += "; overall build is successful, though"
		}
		b.errorLine(msg)
	}
}

// phase runs a build phase (a shell function of the plan, or its
// default) in the plan's shell; inSrc runs it from SRC_PATH, as the
// original's wrappers do. A failure is an *Error naming the phase, with
// the reason a helper gave or the exit_with message when there is one.
func (b *builder) phase(ctx context.Context, name string, inSrc bool) error {
	b.failure, b.exitMsg = "", ""
	src := name
	if inSrc {
		src = `pushd "$SRC_PATH" >/dev/null || exit 1` + "\n" + name + "\npopd >/dev/null"
	}
	err := b.p.Eval(ctx, src)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return &Error{Phase: name, Status: 130, Msg: ctx.Err().Error(), Err: ctx.Err()}
	}
	code := shell.ExitCode(err)
	switch {
	case b.exitMsg != "":
		return &Error{Phase: name, Status: code, Msg: b.exitMsg}
	case b.failure != "":
		return &Error{Phase: name, Status: code, Msg: b.failure}
	case code < 0:
		return &Error{Phase: name, Status: 1, Msg: err.Error(), Err: err}
	}
	return &Error{Phase: name, Status: code, Msg: fmt.Sprintf("%s exited with status %d", name, code)}
}

// eval runs build-program code (not plan code) in the plan's shell.
func (b *builder) eval(ctx context.Context, phase, src string) error {
	if err := b.p.Eval(ctx, src); err != nil {
		if b.exitMsg != "" {
			return &Error{Phase: phase, Status: shell.ExitCode(err), Msg: b.exitMsg}
		}
		return &Error{Phase: phase, Status: 1, Msg: err.Error(), Err: err}
	}
	return nil
}
