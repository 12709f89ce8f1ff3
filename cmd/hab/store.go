package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
)

// addStoreCommands adds the package store commands: install, path, list,
// env, exec, binlink, uninstall, dependencies, provides, info, binds,
// config.
func (a *app) addStoreCommands(pkg *cobra.Command) {
	pkg.AddCommand(
		a.storeInstallCmd(),
		a.storePathCmd(),
		a.storeListCmd(),
		a.storeEnvCmd(),
		a.storeExecCmd(),
		a.storeBinlinkCmd(),
		a.storeUninstallCmd(),
		a.storeDependenciesCmd(),
		a.storeProvidesCmd(),
		a.storeInfoCmd(),
		a.storeBindsCmd(),
		a.storeConfigCmd(),
	)
}

// storeOpen returns the package store of FS_ROOT for the active target.
func (a *app) storeOpen() (*pkgs.Store, error) {
	t, err := ident.ActiveTarget(a.getenv)
	if err != nil {
		return nil, err
	}
	return pkgs.New(a.root, t), nil
}

// storeParseIdent parses a PKG_IDENT argument; a bad one is a usage error.
func storeParseIdent(s string) (ident.Ident, error) {
	id, err := ident.Parse(s)
	if err != nil {
		return ident.Ident{}, usageError("%v", err)
	}
	return id, nil
}

// storeResolve parses a PKG_IDENT argument and finds the latest installed
// package that satisfies it.
func (a *app) storeResolve(ctx context.Context, arg string) (*pkgs.Store, *pkgs.Package, error) {
	id, err := storeParseIdent(arg)
	if err != nil {
		return nil, nil, err
	}
	s, err := a.storeOpen()
	if err != nil {
		return nil, nil, err
	}
	p, err := s.Resolve(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return s, p, nil
}

// storeUI prints store progress as the original's UI does.
type storeUI struct{ out, err io.Writer }

func (u storeUI) Begin(m string) { fmt.Fprintf(u.out, "» %s\n", m) }
func (u storeUI) End(m string)   { fmt.Fprintf(u.out, "★ %s\n", m) }
func (u storeUI) Warn(m string)  { fmt.Fprintf(u.err, "Ø %s\n", m) }
func (u storeUI) Status(s pkgs.Status, m string) {
	glyph := "→"
	switch s {
	case pkgs.StatusCached:
		glyph = "☑"
	case pkgs.StatusDeleting, pkgs.StatusDryRunDeleting:
		glyph = "☒"
	case pkgs.StatusDetermining:
		glyph = "☁"
	case pkgs.StatusExecuting, pkgs.StatusVerifying:
		glyph = "☛"
	case pkgs.StatusInstalled:
		glyph = "✓"
	case pkgs.StatusSkipping:
		glyph = "…"
	case pkgs.StatusCreating:
		glyph = "Ω"
	}
	fmt.Fprintf(u.out, "%s %s %s\n", glyph, s, m)
}

func (a *app) storeUI() storeUI { return storeUI{out: a.stdout, err: a.stderr} }

// storeBinlinkDir is the default binlink directory: $HAB_BINLINK_DIR, else /bin.
func (a *app) storeBinlinkDir() string {
	if d := a.getenv("HAB_BINLINK_DIR"); d != "" {
		return d
	}
	return pkgs.DefaultBinlinkDir
}

func (a *app) storeInstallCmd() *cobra.Command {
	var (
		binlink, force, ignoreHook bool
		offline, ignoreLocal       bool
		binlinkDir                 string
	)
	c := &cobra.Command{
		Use:   "install [FLAGS] <PKG_IDENT_OR_ARTIFACT>...",
		Short: "Installs a Habitat package from Builder or locally from a Habitat Artifact",
		Long: "Installs each PKG_IDENT_OR_ARTIFACT: a Habitat Artifact file (ex: /home/acme-redis-3.0.7-21120102031201-x86_64-linux.hart) " +
			"or a package identifier (ex: acme/redis), resolved to the latest release installed, in the artifact cache, or in the depot's channel. " +
			"Runtime dependencies are installed from the artifacts given, the artifact cache and the depot. Signatures are verified with the key cache; " +
			"a missing public origin key NAME-REV.pub lying beside a hart, or in the depot, is imported. Packages are installed atomically: a failed or " +
			"interrupted install leaves nothing behind. With --offline, the depot is not asked.",
		Args: cobra.MinimumNArgs(1),
	}
	f := c.Flags()
	depot := a.bldrFlags(c)
	a.channelFlag(c, depot, "Install from the specified release channel (else stable)", true)
	f.BoolVarP(&binlink, "binlink", "b", false, "Binlink all binaries from installed package(s) into BINLINK_DIR")
	f.StringVar(&binlinkDir, "binlink-dir", "", "Binlink all binaries from installed package(s) into BINLINK_DIR (else /bin)")
	a.envFlag(c, "binlink-dir", "HAB_BINLINK_DIR")
	f.BoolVarP(&force, "force", "f", false, "Overwrite existing binlinks")
	f.BoolVar(&ignoreHook, "ignore-install-hook", false, "Do not run any install hooks")
	f.BoolVar(&offline, "offline", false, "Install packages in offline mode: from the artifacts given and the artifact cache only")
	_ = f.MarkHidden("offline")
	f.BoolVar(&ignoreLocal, "ignore-local", false, "Do not use locally-installed packages to satisfy an identifier")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := a.storeOpen()
		if err != nil {
			return err
		}
		doBinlink := binlink || f.Changed("binlink-dir")
		if binlinkDir == "" {
			binlinkDir = a.storeBinlinkDir()
		}
		xz, err := a.xzChoice()
		if err != nil {
			return err
		}
		in := &pkgs.Installer{
			Store:         s,
			Keys:          crypto.Cache{Dir: a.root.Keys()},
			ArtifactCache: a.root.Artifacts(),
			Reporter:      a.storeUI(),
			IgnoreLocal:   ignoreLocal,
			XZ:            xz,
		}
		if !ignoreHook {
			in.Hooks = pkgs.ExecHooks{Env: os.Environ(), Stdout: a.stdout, Stderr: a.stderr}
		}
		if !offline {
			src, err := a.depotSource(depot)
			if err != nil {
				return err
			}
			defer src.Close()
			in.Sources = []pkgs.Source{pkgs.LocalSource{Dirs: []string{in.ArtifactCache}}, src}
		}
		ctx := cmd.Context()
		results, err := in.InstallAll(ctx, args)
		if err != nil {
			return err
		}
		if doBinlink {
			for _, r := range results {
				if err := s.BinlinkAll(ctx, r.Package, binlinkDir, force, a.storeUI()); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return c
}

func (a *app) storePathCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "path <PKG_IDENT>",
		Short: "Prints the path to a specific installed release of a package",
		Long:  "Prints the install path of the latest installed release of PKG_IDENT (ex: core/redis, core/busybox-static/1.42.2).",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, p, err := a.storeResolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, p.Path)
			return nil
		},
	}
}

// storeIdentJSON is one installed release in --json output.
type storeIdentJSON struct {
	Ident   string `json:"ident"`
	Origin  string `json:"origin"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Release string `json:"release"`
}

func storeIdentsJSON(ids []ident.Ident) []storeIdentJSON {
	out := make([]storeIdentJSON, 0, len(ids))
	for _, id := range ids {
		out = append(out, storeIdentJSON{Ident: id.String(), Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release})
	}
	return out
}

// storeWriteJSON writes v as one JSON document.
func (a *app) storeWriteJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) storeListCmd() *cobra.Command {
	var (
		all, asJSON bool
		origin      string
	)
	c := &cobra.Command{
		Use:   "list [--all | --origin <ORIGIN> | <PKG_IDENT>]",
		Short: "List all versions of installed packages",
		Long: "Lists the installed packages (of the active target): all of them, those of an origin, or the releases matching PKG_IDENT (ex: core/redis, core/busybox-static/1.42.2). " +
			`With --json, a JSON array of objects {"ident", "origin", "name", "version", "release"} ([] when none matches).`,
		Args: cobra.MaximumNArgs(1),
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "List all installed packages")
	c.Flags().StringVarP(&origin, "origin", "o", "", "An `ORIGIN` to list")
	c.Flags().BoolVar(&asJSON, "json", false, "Print the releases as a JSON array of objects (ident, origin, name, version, release)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		n := len(args)
		if all {
			n++
		}
		if c.Flags().Changed("origin") {
			n++
		}
		if n != 1 {
			return usageError("exactly one of --all, --origin ORIGIN or PKG_IDENT is required")
		}
		var want ident.Ident
		switch {
		case all:
		case c.Flags().Changed("origin"):
			if !ident.ValidOrigin(origin) {
				return usageError("invalid origin %q", origin)
			}
			want.Origin = origin
		default:
			id, err := storeParseIdent(args[0])
			if err != nil {
				return err
			}
			want = id
		}
		s, err := a.storeOpen()
		if err != nil {
			return err
		}
		ids, err := s.List(cmd.Context(), want)
		if err != nil {
			return err
		}
		if asJSON {
			return a.storeWriteJSON(storeIdentsJSON(ids))
		}
		for _, id := range ids {
			fmt.Fprintln(a.stdout, id)
		}
		return nil
	}
	return c
}

func (a *app) storeEnvCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "env <PKG_IDENT>",
		Short: "Prints the runtime environment of a specific installed package",
		Long:  "Prints the runtime environment of the latest installed release of PKG_IDENT as export lines for a POSIX shell.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, p, err := a.storeResolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			env, err := s.RuntimeEnvironment(cmd.Context(), p, a.getenv)
			if err != nil {
				return err
			}
			lines, err := pkgs.ExportLines(env)
			if err != nil {
				return fmt.Errorf("runtime environment of %s: %w", p.Ident, err)
			}
			_, err = io.WriteString(a.stdout, lines)
			return err
		},
	}
}

func (a *app) storeExecCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "exec <PKG_IDENT> <CMD> [ARGS]...",
		Short: "Executes a command using the 'PATH' context of an installed package",
		Long: "Runs CMD with ARGS in the runtime environment of the latest installed release of PKG_IDENT, its PATH placed before yours. " +
			"The command's exit status is hab's.",
		Args: cobra.MinimumNArgs(2),
	}
	// Everything after CMD belongs to CMD.
	c.Flags().SetInterspersed(false)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		s, p, err := a.storeResolve(ctx, args[0])
		if err != nil {
			return err
		}
		// The command inherits this process's environment, as the original's does.
		ch, err := s.Command(ctx, p, os.Environ(), args[1], args[2:]...)
		if err != nil {
			return err
		}
		a.log.Debug("running", "command", ch.Path, "args", args[2:])
		if a.storeOwnsTerminal() {
			// Become the command, as the original does: signals, exit
			// status and terminal all go to it.
			err := syscall.Exec(ch.Path, ch.Args, ch.Env)
			return fmt.Errorf("exec %s: %w", ch.Path, err)
		}
		return a.storeRunChild(ch)
	}
	return c
}

// storeOwnsTerminal reports whether the command runs with the process's own
// standard streams (the real CLI), rather than in-process (tests), in which
// case hab may replace itself with another program.
func (a *app) storeOwnsTerminal() bool {
	in, ok1 := a.stdin.(*os.File)
	out, ok2 := a.stdout.(*os.File)
	errf, ok3 := a.stderr.(*os.File)
	return ok1 && ok2 && ok3 && in == os.Stdin && out == os.Stdout && errf == os.Stderr
}

// storeRunChild runs the command as a child and passes its exit status on.
func (a *app) storeRunChild(ch *exec.Cmd) error {
	ch.Stdin, ch.Stdout, ch.Stderr = a.stdin, a.stdout, a.stderr
	err := ch.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return &exitCodeError{code: code, err: fmt.Errorf("%s exited with status %s", ch.Args[0], strconv.Itoa(code))}
	}
	if err != nil {
		return fmt.Errorf("exec %s: %w", ch.Path, err)
	}
	return nil
}

func (a *app) storeBinlinkCmd() *cobra.Command {
	var (
		dest  string
		force bool
	)
	c := &cobra.Command{
		Use:   "binlink [FLAGS] <PKG_IDENT> [BINARY]",
		Short: "Creates a binlink for a package binary in a common 'PATH' location",
		Long: "Links BINARY (or, without it, every binary) of the latest installed release of PKG_IDENT into DEST_DIR " +
			"(default $HAB_BINLINK_DIR, else /bin), under FS_ROOT. An existing link to something else is kept unless --force.",
		Args: cobra.RangeArgs(1, 2),
	}
	c.Flags().StringVarP(&dest, "dest", "d", pkgs.DefaultBinlinkDir, "Set the destination directory `DEST_DIR`")
	a.envFlag(c, "dest", "HAB_BINLINK_DIR")
	c.Flags().BoolVarP(&force, "force", "f", false, "Overwrite existing binlinks")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		s, p, err := a.storeResolve(ctx, args[0])
		if err != nil {
			return err
		}
		if len(args) == 2 {
			return s.Binlink(ctx, p, args[1], dest, force, a.storeUI())
		}
		return s.BinlinkAll(ctx, p, dest, force, a.storeUI())
	}
	return c
}

func (a *app) storeUninstallCmd() *cobra.Command {
	var (
		dryRun, noDeps, ignoreHook bool
		keepLatest                 int
		exclude                    []string
	)
	c := &cobra.Command{
		Use:   "uninstall [FLAGS] <PKG_IDENT>",
		Short: "Safely uninstall a package and dependencies from the local filesystem",
		Long: "Removes the latest installed release of PKG_IDENT (or, with --keep-latest N, all but its N newest releases), then those of " +
			"its dependencies that no other installed package needs. A package that installed packages depend on is refused.",
		Args: cobra.ExactArgs(1),
	}
	fl := c.Flags()
	fl.BoolVarP(&dryRun, "dryrun", "d", false, "Just show what would be uninstalled, don't actually do it")
	fl.IntVar(&keepLatest, "keep-latest", 0, "Only keep this number (`N`) of latest packages uninstalling all others.")
	fl.StringArrayVar(&exclude, "exclude", nil, "Identifier (`IDENT`) of one or more packages that should not be uninstalled. (ex: core/redis, core/busybox-static/1.42.2/21120102031201)")
	fl.BoolVar(&noDeps, "no-deps", false, "Don't uninstall dependencies")
	fl.BoolVar(&ignoreHook, "ignore-uninstall-hook", false, "Do not run any uninstall hooks")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		want, err := storeParseIdent(args[0])
		if err != nil {
			return err
		}
		opts := pkgs.UninstallOptions{DryRun: dryRun, NoDeps: noDeps, IgnoreHook: ignoreHook, Reporter: a.storeUI()}
		if fl.Changed("keep-latest") {
			if keepLatest < 0 {
				return usageError("--keep-latest must not be negative")
			}
			opts.KeepLatest = &keepLatest
		}
		for _, e := range exclude {
			id, err := storeParseIdent(e)
			if err != nil {
				return err
			}
			opts.Exclude = append(opts.Exclude, id)
		}
		if !ignoreHook {
			opts.Hooks = pkgs.ExecHooks{Env: os.Environ(), Stdout: a.stdout, Stderr: a.stderr}
		}
		s, err := a.storeOpen()
		if err != nil {
			return err
		}
		_, err = s.Uninstall(cmd.Context(), want, opts)
		return err
	}
	return c
}

// storeDepsJSON is what pkg dependencies --json prints.
type storeDepsJSON struct {
	Ident      string           `json:"ident"`
	Transitive bool             `json:"transitive"`
	Reverse    bool             `json:"reverse"`
	Packages   []storeIdentJSON `json:"packages"`
}

func (a *app) storeDependenciesCmd() *cobra.Command {
	var transitive, reverse, graph, asJSON bool
	c := &cobra.Command{
		Use:   "dependencies [FLAGS] <PKG_IDENT>",
		Short: "Returns the Habitat Artifact dependencies. By default it will return the direct dependencies of the package",
		Long: "Prints the dependencies of the latest installed release of PKG_IDENT, one a line: direct ones, or with --transitive all of " +
			"them; with --reverse, the installed packages that depend on it instead. With --json, one JSON object (ident, transitive, " +
			"reverse, packages). With --graph, the whole closure (or, with --reverse, every package that depends on it) as a Graphviz " +
			"DOT digraph whose edges point from a package to each of its direct dependencies: hab pkg dependencies --graph core/app | dot -Tsvg > app.svg.",
		Args: cobra.ExactArgs(1),
	}
	c.Flags().BoolVarP(&transitive, "transitive", "t", false, "Show transitive dependencies")
	c.Flags().BoolVarP(&reverse, "reverse", "r", false, "Show packages which are dependant on this one")
	c.Flags().BoolVar(&graph, "graph", false, "Print the dependency graph in Graphviz DOT")
	c.Flags().BoolVar(&asJSON, "json", false, "Print the dependencies as one JSON object")

	c.RunE = func(cmd *cobra.Command, args []string) error {
		if graph && asJSON {
			return usageError("--graph and --json cannot be used together")
		}
		ctx := cmd.Context()
		s, p, err := a.storeResolve(ctx, args[0])
		if err != nil {
			return err
		}
		g, err := s.Graph(ctx)
		if err != nil {
			return err
		}
		if graph {
			_, err := a.stdout.Write(g.DOT(p.Ident, reverse))
			return err
		}
		var ids []ident.Ident
		switch {
		case !reverse && !transitive:
			ids = g.Deps(p.Ident)
		case !reverse:
			ids = g.OrderedDeps(p.Ident)
		case !transitive:
			ids = g.RDeps(p.Ident)
		default:
			ids = g.OrderedRDeps(p.Ident)
		}
		if asJSON {
			return a.storeWriteJSON(storeDepsJSON{Ident: p.Ident.String(), Transitive: transitive, Reverse: reverse, Packages: storeIdentsJSON(ids)})
		}
		for _, id := range ids {
			fmt.Fprintln(a.stdout, id)
		}
		return nil
	}
	return c
}

func (a *app) storeProvidesCmd() *cobra.Command {
	var fullReleases, fullPaths bool
	c := &cobra.Command{
		Use:   "provides [FLAGS] <FILE>",
		Short: "Search installed Habitat packages for a given file",
		Long:  "Prints the installed packages that hold a file named FILE.",
		Args:  cobra.ExactArgs(1),
	}
	c.Flags().BoolVarP(&fullReleases, "full-releases", "r", false, "Show fully qualified package names (ex: core/busybox-static/1.24.2/20160708162350)")
	c.Flags().BoolVarP(&fullPaths, "full-paths", "p", false, "Show full path to file")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := a.storeOpen()
		if err != nil {
			return err
		}
		found, err := s.Provides(cmd.Context(), args[0], fullReleases)
		if err != nil {
			return err
		}
		if fullPaths {
			for _, p := range found {
				fmt.Fprintf(a.stdout, "%s: %s\n", p.Package, p.Path)
			}
			return nil
		}
		for _, name := range pkgs.ProvidingPackages(found) {
			fmt.Fprintln(a.stdout, name)
		}
		return nil
	}
	return c
}

func (a *app) storeInfoCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "info [FLAGS] <SOURCE>",
		Short: "Returns the Habitat Artifact information",
		Long: "Prints the identity of the Habitat Artifact SOURCE (ex: /home/acme-redis-3.0.7-21120102031201-x86_64-linux.hart); " +
			"with --json, its header, checksum and metadata (deps, tdeps, exposes, exports, binds, ...) without verifying it.",
		Args: cobra.ExactArgs(1),
	}
	c.Flags().BoolVarP(&asJSON, "json", "j", false, "Output will be rendered in json. (Includes extended metadata)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		src := args[0]
		if fi, err := os.Stat(src); err != nil || fi.IsDir() {
			return usageError("file not found at: %s", src)
		}
		info, err := pkgs.ReadArchiveInfo(cmd.Context(), src)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetEscapeHTML(false)
			return enc.Encode(info)
		}
		fmt.Fprintf(a.stdout, "» Reading PackageIdent from %s\n\n", src)
		fmt.Fprintf(a.stdout, "Package Path   : %s\n", src)
		fmt.Fprintf(a.stdout, "Origin         : %s\n", info.Origin)
		fmt.Fprintf(a.stdout, "Name           : %s\n", info.Name)
		fmt.Fprintf(a.stdout, "Version        : %s\n", info.Version)
		fmt.Fprintf(a.stdout, "Release        : %s\n", info.Release)
		return nil
	}
	return c
}
