// Command hab is the Habitat command-line interface: a thin layer of cobra
// commands over the libraries under core/, planner/, studio/, exporters/,
// depot/ and sup/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/internal/resident"
	"github.com/habgo/hab/studio/chroot"
)

// Exit codes scripts can rely on.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // the command line was wrong
)

// app carries what every command needs: streams, environment and the
// resolved Habitat locations. Commands never read os.Stdout or os.Getenv
// directly, so that tests can run them in-process.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	root   paths.Root
	log    *slog.Logger
	// settleLog is what main's resident-page settler logs through; a
	// command that resolves a logger of its own (hab sup run) sets it.
	settleLog logRelay
}

// exitCodeError lets a command choose its exit code.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// usageError marks a command-line mistake (exit code 2).
func usageError(format string, a ...any) error {
	return &exitCodeError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string { return "stopped by " + e.sig.String() }

// signalContext is a context cancelled, with a *signalError as its
// cause, by the first SIGINT or SIGTERM; stop releases the signals.
func signalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			sig, _ := s.(syscall.Signal)
			cancel(&signalError{sig: sig})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

// signalStatus is the exit status of a command stopped by ctx: 128+N when
// a signal N cancelled it, else 130 (an interrupt).
func signalStatus(ctx context.Context) int {
	var se *signalError
	if errors.As(context.Cause(ctx), &se) {
		return 128 + int(se.sig)
	}
	return 128 + int(syscall.SIGINT)
}

func main() {
	// A studio re-executes this binary as its init; that must happen before
	// anything else starts (threads, signal handlers).
	chroot.MaybeInit()
	ctx, stop := signalContext(context.Background())
	a := newApp(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	// A long-running hab (the supervisor above all) gives back the pages
	// of the binary its start-up touched once it has gone quiet; it logs
	// as the command does once the command has resolved its logging.
	a.settleLog = newLogRelay(a.log)
	go resident.Settler{Every: 5 * time.Second, QuietGrowth: 512 << 10, Margin: 2 << 20, Log: slog.New(a.settleLog)}.Run(ctx)
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// newLogger logs warnings and errors to w, and debug messages too when
// RUST_LOG or HAB_LOG is debug or DEBUG is set.
func newLogger(w io.Writer, getenv func(string) string) *slog.Logger {
	level := slog.LevelWarn
	if getenv("RUST_LOG") == "debug" || getenv("HAB_LOG") == "debug" || getenv("DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// run executes one hab command line and returns its exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return newApp(stdin, stdout, stderr, getenv).run(ctx, args)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	return &app{
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		getenv: getenv,
		root:   paths.FromEnv(getenv),
		log:    newLogger(stderr, getenv),
	}
}

// run executes one command line and returns its exit code.
func (a *app) run(ctx context.Context, args []string) int {
	cmd := a.rootCmd()
	cmd.SetArgs(clapArgs(cmd, args))
	cmd.SetIn(a.stdin)
	cmd.SetOut(a.stdout)
	cmd.SetErr(a.stderr)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(a.stderr, "✗✗✗\n✗✗✗ %v\n✗✗✗\n", err)
	return exitCode(err)
}

// exitCode is the exit code of a command's error: the one it chose (a
// usage error's is 2), a failed hook's status, else 1.
func exitCode(err error) int {
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	// A failed hook: its own status, as the original's HookFailed.
	var hf *pkgs.HookFailedError
	if errors.As(err, &hf) {
		return hf.Status
	}
	return exitError
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hab",
		Short:         "Habitat: build, sign, share and run packages",
		Long:          "hab builds plans into signed .hart packages, installs and runs them, and manages the keys that sign and encrypt them.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Flags().BoolP("version", "V", false, "Print the version of hab") // -V as the original's
	root.SetVersionTemplate(versionLine)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitCodeError{code: exitUsage, err: fmt.Errorf("%w\nSee '%s --help'.", err, c.CommandPath())}
	})
	// An unknown command is a usage error; hab alone prints its help.
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
		}
		return nil
	}
	root.RunE = groupHelp

	pkg := &cobra.Command{Use: "pkg", Short: "Commands relating to Habitat packages"}
	origin := &cobra.Command{Use: "origin", Short: "Commands relating to Habitat origins"}
	ring := &cobra.Command{Use: "ring", Short: "Commands relating to Habitat rings"}
	svc := &cobra.Command{Use: "svc", Short: "Commands relating to Habitat services"}
	user := &cobra.Command{Use: "user", Short: "Commands relating to Habitat users"}
	plan := &cobra.Command{Use: "plan", Short: "Commands relating to plans and other app-specific configuration"}
	for _, group := range []*cobra.Command{pkg, origin, ring, svc, user, plan} {
		group.Args = cobra.NoArgs
		group.RunE = groupHelp
		root.AddCommand(group)
	}

	a.addHartCommands(pkg)
	a.addStoreCommands(pkg)
	a.addPkgBuildCommand(pkg)
	a.addExportCommands(pkg)
	a.addKeyCommands(root, origin, ring, svc, user)
	a.addPlanCommands(plan)
	a.addStudioCommands(root)
	root.AddCommand(a.depotCmd())
	a.addDepotClientCommands(root, pkg, origin)

	// The original's "hab cli setup" is the long form of "hab setup".
	cli := &cobra.Command{Use: "cli", Short: "Commands relating to Habitat runtime config", Args: cobra.NoArgs, RunE: groupHelp}
	cli.AddCommand(a.setupCmd(), a.completersCmd())
	root.AddCommand(cli, a.licenseCmd())
	a.addRenderCommand(plan)
	a.addSupCommands(root, svc)
	markUsage(root)
	a.addCompletions(root)
	return root
}

// markUsage makes the errors of the argument checks of c and its
// subcommands (wrong counts, unknown subcommands) usage errors, where
// they are made.
func markUsage(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &exitCodeError{code: exitUsage, err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markUsage(sub)
	}
}

// groupHelp prints a group's help (hab's too) on stderr when it is run
// without a subcommand, and fails with a usage error, as the original does.
func groupHelp(c *cobra.Command, _ []string) error {
	c.SetOut(c.ErrOrStderr())
	_ = c.Help()
	return usageError("%s requires a subcommand", c.CommandPath())
}
