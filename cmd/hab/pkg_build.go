package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/pkgbuild"
	"github.com/habgo/hab/studio/resolve"
)

// pkgBuildFlags are the original "hab pkg build" options.
type pkgBuildFlags struct {
	keys           []string
	root           string
	src            string
	cacheKeyPath   string
	native         bool
	reuse          bool
	docker         bool
	containerd     string
	refreshChannel string
	release        string
}

// addPkgBuildCommand adds "hab pkg build" to pkg.
func (a *app) addPkgBuildCommand(pkg *cobra.Command) {
	f := &pkgBuildFlags{}
	c := &cobra.Command{
		Use:   "build PLAN_CONTEXT",
		Short: "Builds a Plan using a Studio",
		Long: "Builds the plan in PLAN_CONTEXT (a directory holding plan.sh or habitat/plan.sh, relative to the source path) " +
			"in a Studio for the source path (default: $PWD): the Studio is created afresh (or reused with -R), " +
			"'hab plan build /src/PLAN_CONTEXT' runs inside it, the results (the .hart, last_build.env, the build log) land in " +
			"SRC/results and the .hart in the artifact cache, and the Studio is removed afterwards unless -R. " +
			"The exit code is the build's. Secret origin keys of -k (default: $HAB_ORIGIN_KEYS, else $HAB_ORIGIN) are imported " +
			"into the Studio from the key cache. SIGINT or SIGTERM stops the build and removes the Studio. " +
			"Building in a Studio needs root; see 'hab studio --help' for what reaches the Studio.",
		Args: cobra.ExactArgs(1),
	}
	fl := c.Flags()
	fl.StringArrayVarP(&f.keys, "keys", "k", nil, "Installs secret origin keys (ex: \"unicorn\", \"acme,other,acme-ops\")")
	fl.StringVarP(&f.root, "root", "r", "", "Sets the Studio root (default: /hab/studios/<DIR_NAME>)")
	fl.StringVarP(&f.src, "src", "s", "", "Sets the source path [default: $PWD]")
	fl.StringVar(&f.cacheKeyPath, "cache-key-path", "", "Cache for creating and searching for encryption keys (default /hab/cache/keys as root, else ~/.hab/cache/keys)")
	a.envFlag(c, "cache-key-path", "HAB_CACHE_KEY_PATH")
	fl.BoolVarP(&f.native, "native-package", "N", false, "Build a native package on the host system without a studio (needs HAB_FEAT_NATIVE_PACKAGE_SUPPORT)")
	fl.BoolVarP(&f.reuse, "reuse", "R", false, "Reuses a previous Studio for the build (default: clean up before building)")
	fl.BoolVarP(&f.docker, "docker", "D", false, "Uses a container Studio for the build (run by runc, or by containerd when --containerd-address or CONTAINERD_ADDRESS names one)")
	fl.StringVar(&f.containerd, "containerd-address", "", "With -D, build through the containerd listening at this socket instead of runc [env: CONTAINERD_ADDRESS]")
	fl.StringVarP(&f.refreshChannel, "refresh-channel", "f", "", "Channel used to retrieve plan dependencies for Chef supported origins (default: $HAB_REFRESH_CHANNEL, else base)")
	fl.StringVar(&f.release, "release", "", "Use this pkg_release instead of the current time (YYYYMMDDhhmmss)")
	c.RunE = func(cmd *cobra.Command, args []string) error { return a.pkgBuild(cmd.Context(), f, args[0]) }
	pkg.AddCommand(c)
}

func (a *app) pkgBuild(ctx context.Context, f *pkgBuildFlags, planContext string) error {
	if f.native && (f.reuse || f.docker) {
		return usageError("--native-package conflicts with --reuse and --docker")
	}
	if f.native {
		if a.getenv("HAB_FEAT_NATIVE_PACKAGE_SUPPORT") == "" {
			return usageError("`--native-package` is only available when `HAB_FEAT_NATIVE_PACKAGE_SUPPORT` is set")
		}
		return errors.New("hab pkg build --native-package: native packages are not supported by this hab yet; 'hab plan build' builds in the current environment")
	}

	// --cache-key-path stands for HAB_CACHE_KEY_PATH in everything below.
	b := *a
	if f.cacheKeyPath != "" {
		dir := f.cacheKeyPath
		b.getenv = func(k string) string {
			if k == "HAB_CACHE_KEY_PATH" {
				return dir
			}
			return a.getenv(k)
		}
		b.root = paths.FromEnv(b.getenv)
	}

	var origins []string
	if len(f.keys) > 0 {
		origins = resolve.Origins(f.keys...)
	}
	sf := &studioFlags{root: f.root, src: f.src, docker: f.docker, containerdAddress: f.containerd, origins: origins}
	channel := f.refreshChannel
	if channel == "" {
		channel = b.getenv("HAB_REFRESH_CHANNEL")
	}
	if channel == "" {
		channel = "base"
	}
	// Results go to /src/results, whatever the host's HAB_OUTPUT_PATH
	// names (a host path means nothing inside).
	req, err := b.studioRequest(sf, "HAB_REFRESH_CHANNEL="+channel, "HAB_OUTPUT_PATH=")
	if err != nil {
		return err
	}
	// The secret key of each origin named must be there to import.
	if err := resolve.CheckOriginKeys(b.root.Keys(), origins); err != nil {
		return fmt.Errorf("hab pkg build: %w", err)
	}
	src, err := resolve.SourcePath(req)
	if err != nil {
		return err
	}
	if _, _, err := pkgbuild.PlanPath(src, planContext); err != nil {
		return usageError("%v", err)
	}
	st, err := b.resolveStudio(ctx, req)
	if err != nil {
		return err
	}
	// The caches the studio mounts must exist before it is made (once
	// openStudio has found that a studio can be made).
	if err := st.MakeCaches(); err != nil {
		return err
	}
	kind := "chroot"
	if f.docker {
		kind = "container"
	}
	b.studioInfo(sf, "Building '%s' in a %s Studio at %s", planContext, kind, st.Root())
	if len(st.Origins) == 0 {
		b.studioInfo(sf, "No secret keys imported! Did you mean to set HAB_ORIGIN?")
	}
	var buildArgs []string
	if f.release != "" {
		buildArgs = []string{"--release", f.release}
	}
	res, err := pkgbuild.Build(ctx, st, pkgbuild.Options{
		Src:         src,
		PlanContext: planContext,
		Reuse:       f.reuse,
		BuildArgs:   buildArgs,
		// The build gets the caller's terminal, as the original's does, so
		// that a plan's attach can stop at a prompt; without a terminal,
		// attach reads end of input and the build goes on.
		Stdio: studio.Stdio{Stdin: b.stdin, Stdout: b.stdout, Stderr: b.stderr},
		Owner: req.Owner,
		Log:   b.log,
		Waiting: func() {
			b.studioInfo(sf, "Waiting for the Studio at %s: another build is using it", st.Root())
		},
	})
	var se *pkgbuild.StatusError
	switch {
	case errors.As(err, &se):
		return &exitCodeError{code: se.Status, err: err}
	case err != nil && ctx.Err() != nil:
		return &exitCodeError{code: signalStatus(ctx), err: err}
	case err != nil:
		return err
	}
	if res.Artifact != "" {
		fmt.Fprintf(b.stdout, "★ Built %s: %s\n", res.LastBuild["pkg_ident"], res.Artifact)
	}
	return nil
}
