package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/containerd"
	"github.com/habgo/hab/studio/rootfs"
	"github.com/habgo/hab/studio/runc"
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
			_, _, err := a.openStudio(c.Context(), f, true)
			return err
		},
	}
	rmCmd := &cobra.Command{
		Use:   "rm",
		Short: "Destroys a Studio",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, _, err := a.openStudio(c.Context(), f, false)
			if err != nil {
				return err
			}
			a.studioInfo(f, "Destroying Studio at %s", st.Root())
			return st.Remove(c.Context())
		},
	}
	enterCmd := &cobra.Command{
		Use:     "enter",
		Aliases: []string{"e", "en", "ent", "ente"},
		Short:   "Interactively enter a Studio",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, host, err := a.openStudio(c.Context(), f, true, "STUDIO_ENTER=true")
			if err != nil {
				return err
			}
			a.studioInfo(f, "Entering Studio at %s (%s)", st.Root(), a.studioTypeOf(f))
			a.reportEnv(f, host)
			return a.studioRun(c.Context(), st, studioShell())
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
			if !reuse {
				st, _, err := a.openStudio(ctx, f, false)
				if err != nil {
					return err
				}
				if err := st.Remove(ctx); err != nil {
					return err
				}
			}
			st, host, err := a.openStudio(ctx, f, true)
			if err != nil {
				return err
			}
			plan := "."
			if len(args) == 1 {
				plan = args[0]
			}
			a.studioInfo(f, "Building '%s' in Studio at %s (%s)", plan, st.Root(), a.studioTypeOf(f))
			a.reportEnv(f, host)
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
			st, _, err := a.openStudio(c.Context(), f, true)
			if err != nil {
				return err
			}
			line := strings.Join(args, " ")
			a.studioInfo(f, "Running '%s' in Studio at %s (%s)", line, st.Root(), a.studioTypeOf(f))
			return a.studioRun(c.Context(), st, []string{"/bin/sh", "-c", line})
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

func (a *app) studioTypeOf(f *studioFlags) string {
	if t := a.studioEnv(f.studioType, "STUDIO_TYPE"); t != "" {
		return t
	}
	return "default"
}

// studioInfo prints a progress line as the original does, unless quiet.
func (a *app) studioInfo(f *studioFlags, format string, args ...any) {
	if f.quiet || a.getenv("QUIET") != "" {
		return
	}
	fmt.Fprintf(a.stderr, "   hab-studio: "+format+"\n", args...)
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

// openStudio resolves the flags into a studio of the chosen kind, and
// creates it when create is set. It returns the host environment the
// studio's was made from.
func (a *app) openStudio(ctx context.Context, f *studioFlags, create bool, extraEnv ...string) (studio.Studio, []string, error) {
	if !a.root.Root && f.docker {
		fmt.Fprintln(a.stderr, "∅ Running Habitat Studio requires root or administrator privileges. Please retry this command as a super user or use a privilege-granting facility such as sudo.")
		return nil, nil, &exitCodeError{code: exitStudioNotRoot, err: errors.New("Root or administrator permissions required to complete operation")}
	}
	if !a.root.Root {
		// A non-root user's chroot studio runs in a user namespace.
		if err := chroot.CheckUserNamespaces(ctx); err != nil {
			fmt.Fprintln(a.stderr, "∅ Running Habitat Studio as a non-root user needs unprivileged user namespaces, which this system refuses. Please retry this command as a super user (sudo), or allow them as said below.")
			return nil, nil, &exitCodeError{code: exitStudioNotRoot, err: err}
		}
	}
	typ := a.studioTypeOf(f)
	if typ != "default" {
		return nil, nil, &exitCodeError{code: exitStudioType, err: fmt.Errorf("Invalid Studio type: %s (this hab supports: default)", typ)}
	}
	src := a.studioEnv(f.src, "SRC_PATH")
	if src == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, fmt.Errorf("studio source path: %w", err)
		}
		src = wd
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, nil, fmt.Errorf("studio source path %s: %w", src, err)
	}
	if real, err := filepath.EvalSymlinks(src); err == nil {
		src = real
	}
	root := a.studioEnv(f.root, "HAB_STUDIO_ROOT")
	if root == "" {
		home := a.getenv("HAB_STUDIOS_HOME")
		if home == "" {
			home = rootfs.StudiosDir(a.root)
		}
		root = filepath.Join(home, rootfs.DirName(src))
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, nil, fmt.Errorf("studio root %s: %w", root, err)
	}

	host := a.hostEnviron()
	opts := []studio.Option{
		studio.WithNetwork(!f.noNetwork),
		studio.WithHermetic(f.hermetic),
		studio.WithLogger(a.log),
		studio.WithEnv(studio.Environ(host, typ, extraEnv...)),
	}
	if !f.noSrc && a.getenv("NO_SRC_PATH") == "" {
		if _, err := os.Stat(src); err != nil {
			return nil, nil, fmt.Errorf("studio source path: %w", err)
		}
		opts = append(opts, studio.WithMount(src, "/src"))
	}
	if !f.noArtifacts && a.getenv("NO_ARTIFACT_PATH") == "" {
		artifacts := a.studioEnv(f.artifactPath, "ARTIFACT_PATH")
		if artifacts == "" {
			artifacts = a.root.Artifacts()
		}
		srcCache := a.root.Src()
		for _, d := range []string{artifacts, srcCache} {
			if create {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return nil, nil, fmt.Errorf("create cache %s: %w", d, err)
				}
			}
		}
		opts = append(opts, studio.WithMount(artifacts, "/hab/cache/artifacts"), studio.WithMount(srcCache, "/hab/cache/src"))
	}
	habBin := a.getenv("HAB_STUDIO_HAB_BIN")
	if habBin == "" {
		if habBin, err = os.Executable(); err != nil {
			return nil, nil, fmt.Errorf("find the hab binary for the studio: %w", err)
		}
	}
	opts = append(opts, studio.WithHabBinary(habBin))
	artifactCache := a.studioEnv(f.artifactPath, "ARTIFACT_PATH")
	if artifactCache == "" {
		artifactCache = a.root.Artifacts()
	}
	opts = append(opts, studio.WithBackline(studio.Backline{
		Ident: a.getenv("HAB_STUDIO_BACKLINE_PKG"), HostRoot: a.root.FS,
		ArtifactCache: artifactCache, KeyCache: a.root.Keys(),
	}))
	keys := a.studioEnv(f.keys, "HAB_ORIGIN_KEYS")
	if keys == "" {
		keys = a.getenv("HAB_ORIGIN")
	}
	var origins []string
	for _, k := range strings.Split(keys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			origins = append(origins, k)
		}
	}
	if len(origins) > 0 {
		opts = append(opts, studio.WithOriginKeys(a.root.Keys(), origins...))
	}
	if uid, gid, ok := a.sudoUser(); ok {
		opts = append(opts, studio.WithOwner(uid, gid))
	}

	st, err := a.studioOpener(f)(root, opts...)
	if err != nil {
		return nil, nil, err
	}
	if create {
		a.studioInfo(f, "Creating Studio at %s (%s)", root, typ)
		if len(origins) == 0 {
			a.studioInfo(f, "No secret keys imported! Did you mean to set HAB_ORIGIN?")
		}
		for _, o := range origins {
			a.studioInfo(f, "Importing '%s' secret origin key", o)
		}
		if err := st.Create(ctx); err != nil {
			return nil, nil, err
		}
	}
	return st, host, nil
}

// studioOpener is the kind of studio the flags choose: a chroot studio;
// with -D a container run by runc, or by the containerd at
// --containerd-address (else $CONTAINERD_ADDRESS) when one is given.
func (a *app) studioOpener(f *studioFlags) studio.New {
	if !f.docker {
		return chroot.Open
	}
	if address := a.studioEnv(f.containerdAddress, "CONTAINERD_ADDRESS"); address != "" {
		return containerd.Opener(address)
	}
	return runc.Open
}

// sudoUser is the user behind sudo, who gets the files the studio creates
// in their trees.
func (a *app) sudoUser() (int, int, bool) {
	uid, err1 := strconv.Atoi(a.getenv("SUDO_UID"))
	gid, err2 := strconv.Atoi(a.getenv("SUDO_GID"))
	if err1 != nil || err2 != nil || uid == 0 {
		return 0, 0, false
	}
	return uid, gid, true
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
