// Package chroot runs a studio as a chroot with Linux namespaces: the hab
// binary re-executes itself as the studio's init in new mount, PID, UTS and
// IPC namespaces (and a network namespace without --no-network's host
// network), makes its mounts private, mounts the studio's file systems,
// pivots into the root and runs the command. Every mount lives in the
// init's private mount namespace, so none outlives the studio, whatever
// happens to the command.
//
// As a non-root user, the init gets a user namespace too, in which the
// invoking user is root (and no one else is mapped): it can mount there,
// device nodes are the host's, bound, and what the user makes in /src is
// theirs. CheckUserNamespaces says whether the kernel allows that, and
// what would make it.
//
// A program using this package must call MaybeInit first thing in main.
package chroot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/rootfs"
)

// Option configures a studio (see the studio package's With* functions).
type Option = studio.Option

// The options of the studio package, here for callers' convenience.
func WithNetwork(on bool) Option                     { return studio.WithNetwork(on) }
func WithMount(source, target string) Option         { return studio.WithMount(source, target) }
func WithReadOnlyMount(source, target string) Option { return studio.WithReadOnlyMount(source, target) }
func WithHabBinary(path string) Option               { return studio.WithHabBinary(path) }
func WithEnv(env []string) Option                    { return studio.WithEnv(env) }
func WithHermetic(on bool) Option                    { return studio.WithHermetic(on) }
func WithOwner(uid, gid int) Option                  { return studio.WithOwner(uid, gid) }

// Studio is a chroot studio rooted at a host directory.
type Studio struct {
	root string
	cfg  studio.Config
}

var _ studio.Studio = (*Studio)(nil)

// New returns the chroot studio at root (an absolute path; it is created
// by Create).
func New(root string, opts ...Option) (*Studio, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("studio root %q is not an absolute path", root)
	}
	return &Studio{root: filepath.Clean(root), cfg: studio.NewConfig(opts...)}, nil
}

// Open is New as a studio.New.
func Open(root string, opts ...studio.Option) (studio.Studio, error) { return New(root, opts...) }

// Root is the studio's root directory on the host.
func (s *Studio) Root() string { return s.root }

// Create lays out the studio root (see rootfs.Prepare).
func (s *Studio) Create(ctx context.Context) error {
	_, err := rootfs.Prepare(ctx, s.root, s.cfg)
	return err
}

// Remove deletes the studio root; it refuses while anything is mounted
// under it.
func (s *Studio) Remove(ctx context.Context) error { return rootfs.Remove(ctx, s.root) }

// initEnv marks the re-executed hab as a studio init.
const initEnv = "_HAB_STUDIO_INIT"

// initConfig is what the parent sends the init through a pipe (never
// through the environment or a file: it carries the secrets).
type initConfig struct {
	Root     string
	Mounts   []rootfs.Mount
	Hostname string
	Network  bool
	Env      []string
	Workdir  string
	Argv     []string
	// UserNS is set when the init runs in a user namespace of its own
	// (a non-root user's studio): devices are bound, not made.
	UserNS bool
	// Probe only checks that the init can mount (CheckUserNamespaces).
	Probe bool
}

// Run runs argv in the studio and returns its exit status (128+N when a
// signal N killed it). Errors are for a studio that could not run the
// command, or a cancelled ctx: then the command and all it started are
// killed and the status is non-zero.
func (s *Studio) Run(ctx context.Context, argv []string, stdio studio.Stdio) (int, error) {
	if len(argv) == 0 {
		return -1, fmt.Errorf("run in studio %s: no command", s.root)
	}
	plan, err := rootfs.ForRun(s.root, s.cfg)
	if err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", s.root, err)
	}
	// The init compares its mount points with the real root.
	real, err := filepath.EvalSymlinks(s.root)
	if err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", s.root, err)
	}
	ic := initConfig{Root: real, Mounts: plan.Mounts, Hostname: s.cfg.Hostname, Network: s.cfg.Network,
		Env: plan.Env(s.cfg), Workdir: s.cfg.Workdir, Argv: argv}
	code, err := start(ctx, ic, stdio)
	if err != nil {
		err = fmt.Errorf("run in studio %s: %w", s.root, err)
	}
	if herr := rootfs.HandOverMounts(s.cfg); herr != nil && err == nil {
		err = herr
	}
	return code, err
}

// start runs the init for ic and waits for it. As a non-root user it
// adds a user namespace in which the invoking user is root.
func start(ctx context.Context, ic initConfig, stdio studio.Stdio) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return -1, err
	}
	defer cfgR.Close()
	defer cfgW.Close()
	statR, statW, err := os.Pipe()
	if err != nil {
		return -1, err
	}
	defer statR.Close()
	defer statW.Close()

	flags := unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC
	if !ic.Network {
		flags |= unix.CLONE_NEWNET
	}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"hab-studio-init"},
		Env:        []string{initEnv + "=1"},
		Stdin:      stdio.Stdin,
		Stdout:     stdio.Stdout,
		Stderr:     stdio.Stderr,
		ExtraFiles: []*os.File{cfgR, statW},
		SysProcAttr: &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGKILL,
		},
	}
	uid := os.Geteuid()
	if uid != 0 {
		// The invoking user is root inside, and only that user: files it
		// makes in /src are the user's outside.
		ic.UserNS = true
		flags |= unix.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr.Cloneflags = uintptr(flags)
	// An interactive studio gets the terminal's foreground, so that ^C
	// reaches the studio's shell and not the hab waiting for it.
	tty := -1
	if f, ok := stdio.Stdin.(*os.File); ok && foregroundTTY(int(f.Fd())) {
		tty = int(f.Fd())
		cmd.SysProcAttr.Foreground = true
		cmd.SysProcAttr.Ctty = tty
	}
	if err := cmd.Start(); err != nil {
		err = fmt.Errorf("start the studio init: %w", err)
		if uid != 0 {
			return -1, userNSError(err, true)
		}
		return -1, fmt.Errorf("%w (studios need namespaces)", err)
	}
	if tty >= 0 {
		defer takeForeground(tty)
	}
	cfgR.Close()
	statW.Close()

	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	defer stop()

	werr := json.NewEncoder(cfgW).Encode(ic)
	cfgW.Close()
	msg, _ := io.ReadAll(statR)
	err = cmd.Wait()
	if cerr := ctx.Err(); cerr != nil {
		return exitStatus(cmd.ProcessState), cerr
	}
	if len(msg) > 0 {
		err := errors.New(strings.TrimSpace(string(msg)))
		if uid != 0 && strings.Contains(err.Error(), "operation not permitted") {
			return -1, userNSError(err, false)
		}
		return -1, err
	}
	if werr != nil {
		return -1, fmt.Errorf("send the configuration to the init: %w", werr)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return -1, err
	}
	return exitStatus(cmd.ProcessState), nil
}

// exitStatus is the process's exit code, or 128+N for a signal N.
func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// foregroundTTY reports whether fd is this process's controlling terminal
// and this process is in its foreground.
func foregroundTTY(fd int) bool {
	if !term.IsTerminal(fd) {
		return false
	}
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// takeForeground gives the terminal back to this process's group after an
// interactive studio, which had it.
func takeForeground(tty int) {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	_ = unix.IoctlSetPointerInt(tty, unix.TIOCSPGRP, unix.Getpgrp())
}
