package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/resolve"
	"github.com/habgo/hab/studio/rootfs"
)

// Exit codes of the original studio program.
const (
	exitStudioNotRoot = 9 // not root (and, for a chroot studio, no user namespaces)
	exitStudioType    = 2 // an unknown studio type
)

// studioFlags are the original hab-studio's common flags and options.
type studioFlags struct {
	artifactPath string
	noSrc        bool
	noArtifacts  bool
	keys         string
	root         string
	src          string
	studioType   string
	docker       bool
	verbose      bool
	quiet        bool
	noNetwork    bool
	hermetic     bool

	// containerdAddress (else $CONTAINERD_ADDRESS) runs -D studios
	// through containerd instead of runc.
	containerdAddress string
	// origins, when set (hab pkg build -k), stand for -k and its
	// variables.
	origins []string
}

// addStudioCommands adds "hab studio" (new, enter, build, run, rm,
// version) to root.
// studioShell is what "hab studio enter" runs: an interactive login bash,
// as the original's studio, or the base's POSIX sh where the backline has
// no bash (a busybox backline).
func studioShell() []string {
	return []string{"/bin/sh", "-c", `if command -v bash >/dev/null 2>&1; then exec bash --login -i +h; fi; exec /bin/sh -l -i`}
}

func (a *app) addStudioCommands(root *cobra.Command) {
	f := &studioFlags{}
	s := &cobra.Command{
		Use:   "studio",
		Short: "Commands relating to Habitat Studios",
		Long: "A Studio is an isolated build environment: a root under /hab/studios/<DIR_NAME> " +
			"(DIR_NAME from the source path) with its own /hab/pkgs, the source path at /src and the " +
			"artifact cache at /hab/cache/artifacts, entered with new mount, PID, UTS and IPC namespaces " +
			"(a chroot Studio), or run as an OCI container by runc (-D), or by containerd (-D with --containerd-address or CONTAINERD_ADDRESS). " +
			"A non-root user's chroot Studio lives under ~/.hab/studios/<DIR_NAME> (with the caches of ~/.hab/cache) and runs in a user " +
			"namespace where the user is root and files it makes in /src stay the user's; it needs a kernel that allows unprivileged " +
			"user namespaces (-D needs root). Only HAB_* variables (not those naming host paths), " +
			"http_proxy, https_proxy, no_proxy and DO_CHECK reach the Studio; HAB_STUDIO_SECRET_NAME=value arrives as NAME=value. " +
			"HAB_STUDIO_HAB_BIN names the hab mounted at /hab/bin/hab (default: this one). " +
			"The Studio's base tools are the runtime closure of HAB_STUDIO_BACKLINE_PKG (default: core/hab-backline), installed into its /hab/pkgs " +
			"from this system's installed packages or artifact cache; without it the host's toolchain is mounted read-only (--hermetic refuses).",
		Args: cobra.NoArgs,
	}
	var showVersion bool
	s.Flags().BoolVarP(&showVersion, "version", "V", false, "Prints version information")
	s.RunE = func(c *cobra.Command, args []string) error {
		if showVersion {
			fmt.Fprintf(a.stdout, "hab-studio %s\n", version)
			return nil
		}
		return groupHelp(c, args)
	}
	pf := s.PersistentFlags()
	pf.StringVarP(&f.artifactPath, "artifact-path", "a", "", "Sets the source artifact cache path (default: /hab/cache/artifacts) [env: ARTIFACT_PATH]")
	pf.BoolVarP(&f.noSrc, "no-src-path", "n", false, "Do not mount the source path into the Studio [env: NO_SRC_PATH]")
	pf.BoolVarP(&f.noArtifacts, "no-artifact-path", "N", false, "Do not mount the source artifact cache path into the Studio [env: NO_ARTIFACT_PATH]")
	pf.StringVarP(&f.keys, "keys", "k", "", "Installs secret origin keys, comma separated (default: $HAB_ORIGIN) [env: HAB_ORIGIN_KEYS]")
	pf.StringVarP(&f.root, "root", "r", "", "Sets a Studio root (default: /hab/studios/<DIR_NAME>, ~/.hab/studios/<DIR_NAME> for a non-root user) [env: HAB_STUDIO_ROOT]")
	pf.StringVarP(&f.src, "src", "s", "", "Sets the source path (default: $PWD) [env: SRC_PATH]")
	pf.StringVarP(&f.studioType, "type", "t", "", "Sets a Studio type when creating (default: default) [env: STUDIO_TYPE]")
	pf.BoolVarP(&f.docker, "docker", "D", false, "Use a container Studio (run by runc, or by containerd with --containerd-address) instead of a chroot Studio")
	pf.StringVar(&f.containerdAddress, "containerd-address", "", "With -D, run the container Studio through the containerd listening at this socket instead of runc [env: CONTAINERD_ADDRESS]")
	pf.BoolVarP(&f.verbose, "verbose", "v", false, "Prints more verbose output [env: VERBOSE]")
	pf.BoolVarP(&f.quiet, "quiet", "q", false, "Prints less output for better use in scripts [env: QUIET]")
	pf.BoolVar(&f.noNetwork, "no-network", false, "Give the Studio a network namespace of its own with only a loopback interface")
	pf.BoolVar(&f.hermetic, "hermetic", false, "Refuse to borrow the host's toolchain when the Studio has no base packages")

	newCmd := &cobra.Command{
		Use:     "new",
		Aliases: []string{"n", "ne"},
		Short:   "Creates a new Studio",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, release, err := a.useStudio(c.Context(), f, rootfs.Shared)
			release()
			return err
		},
	}
	rmCmd := &cobra.Command{
		Use:   "rm",
		Short: "Destroys a Studio",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := a.openStudio(c.Context(), f)
			if err != nil {
				return err
			}
			// A studio in use is not removed under its user.
			lock, err := a.lockStudio(c.Context(), f, st.Root(), rootfs.Exclusive, false)
			if err != nil {
				return err
			}
			defer lock.Unlock()
			a.studioInfo(f, "Destroying Studio at %s", st.Root())
			return st.Remove(c.Context())
		},
	}
	enterCmd := &cobra.Command{
		Use:     "enter",
		Aliases: []string{"e", "en", "ent", "ente"},
		Short:   "Interactively enter a Studio",
		Long: "Interactively enter a Studio: a login shell at /src, with 'build' to build a plan. A Supervisor starts in the " +
			"background ('hab sup run $HAB_STUDIO_SUP', its flags; HAB_STUDIO_SUP=false starts none), with its output in " +
			"/hab/sup/default/sup.log: 'sup-log' follows it, 'sup-term' ends it, 'sup-run' starts it again; 'hab svc load IDENT' " +
			"runs a package just built. Leaving the Studio ends the Supervisor and its services.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			st, release, err := a.useStudio(ctx, f, rootfs.Shared, "STUDIO_ENTER=true")
			defer release()
			if err != nil {
				return err
			}
			a.studioInfo(f, "Entering Studio at %s (%s)", st.Root(), st.Type)
			a.reportEnv(f, a.hostEnviron())
			return a.studioRun(ctx, st, studioShell())
		},
	}
	var reuse bool
	buildCmd := &cobra.Command{
		Use:     "build [-R] [PLAN_DIR]",
		Aliases: []string{"b", "bu", "bui", "buil"},
		Short:   "Build using a Studio",
		Long:    "Runs 'hab plan build PLAN_DIR' (default: the source path) in a fresh Studio; -R reuses the Studio as it is.",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			// A fresh studio is removed and made again: no one else may
			// use it meanwhile; -R shares it as it is.
			use := rootfs.Exclusive
			if reuse {
				use = rootfs.Shared
			}
			st, release, err := a.useStudio(ctx, f, use)
			defer release()
			if err != nil {
				return err
			}
			plan := "."
			if len(args) == 1 {
				plan = args[0]
			}
			a.studioInfo(f, "Building '%s' in Studio at %s (%s)", plan, st.Root(), st.Type)
			a.reportEnv(f, a.hostEnviron())
			return a.studioRun(ctx, st, []string{"/hab/bin/hab", "plan", "build", plan})
		},
	}
	buildCmd.Flags().BoolVarP(&reuse, "reuse", "R", false, "Reuse a previous Studio state (default: clean up before building)")
	runCmd := &cobra.Command{
		Use:     "run CMD [ARG ...]",
		Aliases: []string{"r", "ru"},
		Short:   "Run a command in a Studio",
		Long:    "Runs CMD with its ARGs, joined by spaces, by a shell in the Studio, as the original does.",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			st, release, err := a.useStudio(ctx, f, rootfs.Shared)
			defer release()
			if err != nil {
				return err
			}
			line := strings.Join(args, " ")
			a.studioInfo(f, "Running '%s' in Studio at %s (%s)", line, st.Root(), st.Type)
			return a.studioRun(ctx, st, []string{"/bin/sh", "-c", line})
		},
	}
	runCmd.Flags().SetInterspersed(false)
	versionCmd := &cobra.Command{
		Use:     "version",
		Aliases: []string{"v", "ve", "ver", "vers", "versi", "versio"},
		Short:   "Prints version information",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(a.stdout, "hab-studio %s\n", version)
			return nil
		},
	}
	s.AddCommand(newCmd, rmCmd, enterCmd, buildCmd, runCmd, versionCmd)
	root.AddCommand(s)
}

// studioEnv is a flag's value, else its environment variable's.
func (a *app) studioEnv(flag, env string) string {
	if flag != "" {
		return flag
	}
	return a.getenv(env)
}

// studioInfo prints a progress line as the original does, unless quiet.
func (a *app) studioInfo(f *studioFlags, format string, args ...any) {
	if f.quiet || a.getenv("QUIET") != "" {
		return
	}
	fmt.Fprintf(a.stderr, "   hab-studio: "+format+"\n", args...)
}

// studioWarn prints a studio's warning in the style of its other lines.
func (a *app) studioWarn(line string) {
	fmt.Fprintf(a.stderr, "   hab-studio: WARNING: %s\n", line)
}

// reportEnv prints what is exported into the studio, secrets redacted.
func (a *app) reportEnv(f *studioFlags, host []string) {
	for _, line := range studio.Report(host) {
		a.studioInfo(f, "Exported: %s", line)
	}
}

// hostEnviron is the host environment as KEY=VALUE entries, read through
// a.getenv.
func (a *app) hostEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if v := a.getenv(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// studioRequest reads the flags and their environment variables into a
// studio request.
func (a *app) studioRequest(f *studioFlags, extraEnv ...string) (resolve.Request, error) {
	wd, err := os.Getwd()
	if err != nil {
		return resolve.Request{}, fmt.Errorf("studio source path: %w", err)
	}
	return resolve.Request{
		Paths:             a.root,
		Root:              a.studioEnv(f.root, "HAB_STUDIO_ROOT"),
		StudiosHome:       a.getenv("HAB_STUDIOS_HOME"),
		Src:               a.studioEnv(f.src, "SRC_PATH"),
		Workdir:           wd,
		Type:              a.studioEnv(f.studioType, "STUDIO_TYPE"),
		NoSrc:             f.noSrc || a.getenv("NO_SRC_PATH") != "",
		NoArtifacts:       f.noArtifacts || a.getenv("NO_ARTIFACT_PATH") != "",
		ArtifactPath:      a.studioEnv(f.artifactPath, "ARTIFACT_PATH"),
		Origins:           resolve.Origins(f.originList(a)...),
		Container:         f.docker,
		ContainerdAddress: a.studioEnv(f.containerdAddress, "CONTAINERD_ADDRESS"),
		NoNetwork:         f.noNetwork,
		Hermetic:          f.hermetic,
		HabBinary:         a.getenv("HAB_STUDIO_HAB_BIN"),
		Backline:          a.getenv("HAB_STUDIO_BACKLINE_PKG"),
		Owner:             resolve.SudoOwner(a.getenv("SUDO_UID"), a.getenv("SUDO_GID")),
		HostEnv:           a.hostEnviron(),
		Extra:             extraEnv,
		Log:               a.log,
		Warn:              a.studioWarn,
	}, nil
}

// originList is -k, else HAB_ORIGIN_KEYS, else HAB_ORIGIN.
func (f *studioFlags) originList(a *app) []string {
	if f.origins != nil {
		return f.origins
	}
	keys := a.studioEnv(f.keys, "HAB_ORIGIN_KEYS")
	if keys == "" {
		keys = a.getenv("HAB_ORIGIN")
	}
	return []string{keys}
}

// openStudio resolves the flags into a studio of the chosen kind (see
// resolve.Open); nothing is made on disk.
func (a *app) openStudio(ctx context.Context, f *studioFlags, extraEnv ...string) (*resolve.Studio, error) {
	req, err := a.studioRequest(f, extraEnv...)
	if err != nil {
		return nil, err
	}
	return a.resolveStudio(ctx, req)
}

// resolveStudio is resolve.Open with its refusals turned into the
// original's messages and exit codes.
func (a *app) resolveStudio(ctx context.Context, req resolve.Request) (*resolve.Studio, error) {
	st, err := resolve.Open(ctx, req)
	var ue *chroot.UserNSError
	var te *resolve.TypeError
	switch {
	case errors.Is(err, resolve.ErrNeedsRoot):
		fmt.Fprintln(a.stderr, "∅ Running Habitat Studio requires root or administrator privileges. Please retry this command as a super user or use a privilege-granting facility such as sudo.")
		return nil, &exitCodeError{code: exitStudioNotRoot, err: err}
	case errors.As(err, &ue):
		fmt.Fprintln(a.stderr, "∅ Running Habitat Studio as a non-root user needs unprivileged user namespaces, which this system refuses. Please retry this command as a super user (sudo), or allow them as said below.")
		return nil, &exitCodeError{code: exitStudioNotRoot, err: err}
	case errors.As(err, &te):
		return nil, &exitCodeError{code: exitStudioType, err: err}
	case err != nil:
		return nil, err
	}
	return st, nil
}

// createStudio makes the caches st mounts and lays st out.
func (a *app) createStudio(ctx context.Context, f *studioFlags, st *resolve.Studio) error {
	if err := st.MakeCaches(); err != nil {
		return err
	}
	a.studioInfo(f, "Creating Studio at %s (%s)", st.Root(), st.Type)
	if len(st.Origins) == 0 {
		a.studioInfo(f, "No secret keys imported! Did you mean to set HAB_ORIGIN?")
	}
	for _, o := range st.Origins {
		a.studioInfo(f, "Importing '%s' secret origin key", o)
	}
	return st.Create(ctx)
}

// useStudio resolves the flags into a studio, takes its lock for use
// (waiting, saying so, while another hab holds it), removes it first when
// the use is exclusive (a fresh studio), and creates it. release lets the
// lock go (also after an error).
func (a *app) useStudio(ctx context.Context, f *studioFlags, use rootfs.Use, extraEnv ...string) (st *resolve.Studio, release func(), err error) {
	release = func() {}
	if st, err = a.openStudio(ctx, f, extraEnv...); err != nil {
		return nil, release, err
	}
	lock, err := a.lockStudio(ctx, f, st.Root(), use, true)
	if err != nil {
		return nil, release, err
	}
	release = func() { lock.Unlock() }
	if use == rootfs.Exclusive {
		if err := st.Remove(ctx); err != nil {
			return nil, release, err
		}
	}
	return st, release, a.createStudio(ctx, f, st)
}

// lockStudio takes the studio's lock for use; a studio in use makes it
// wait, saying so, unless wait is false (then it is a *rootfs.BusyError).
func (a *app) lockStudio(ctx context.Context, f *studioFlags, root string, use rootfs.Use, wait bool) (*rootfs.Lock, error) {
	var waiting func()
	if wait {
		waiting = func() { a.studioInfo(f, "Waiting for the Studio at %s: another hab is using it", root) }
	}
	return rootfs.Acquire(ctx, root, use, waiting)
}

// studioRun runs argv in st with hab's own streams; a non-zero status
// becomes hab's.
func (a *app) studioRun(ctx context.Context, st studio.Studio, argv []string) error {
	code, err := st.Run(ctx, argv, studio.Stdio{Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr})
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitCodeError{code: code, err: fmt.Errorf("the command in the studio exited with status %d", code)}
	}
	return nil
}
