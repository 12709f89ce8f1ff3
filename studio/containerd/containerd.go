// Package containerd runs a studio as a container of a containerd daemon:
// the root, mounts and runtime spec of studio/runc (a host directory as the
// container's root, no image, no snapshot), handed to containerd's
// io.containerd.runc.v2 runtime. Each run creates a container and its task
// in the namespace "hab", waits for the task and deletes both, whatever
// happens. The command's environment (secrets included) is part of the
// spec, so it stays in the daemon's metadata (root-only) for the length of
// the run.
package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"golang.org/x/term"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/rootfs"
	"github.com/habgo/hab/studio/runc"
)

const (
	// Namespace is the containerd namespace studio containers live in.
	Namespace = "hab"
	// Runtime is the containerd runtime (shim) that runs them.
	Runtime = "io.containerd.runc.v2"
	// RootLabel is the label of a studio container naming its root.
	RootLabel = "sh.habitat.studio.root"
)

const (
	// cleanupTimeout bounds the calls that remove a container after a
	// run.
	cleanupTimeout = 30 * time.Second
	// drainTimeout bounds the wait for the output of a container whose
	// command has exited.
	drainTimeout = 10 * time.Second
)

// Studio is a container studio run by the containerd daemon listening at
// an address.
type Studio struct {
	*runc.Studio // the root on disk: Root, Create, Remove
	address      string
	cfg          studio.Config
}

var _ studio.Studio = (*Studio)(nil)

// New returns the studio at root (an absolute path; Create lays it out)
// run by the containerd listening at address (a unix socket path, with or
// without "unix://"). Nothing is dialled before Run.
func New(root, address string, opts ...studio.Option) (*Studio, error) {
	if address == "" {
		return nil, fmt.Errorf("container studio %s: no containerd address", root)
	}
	base, err := runc.New(root, opts...)
	if err != nil {
		return nil, err
	}
	return &Studio{Studio: base, address: address, cfg: studio.NewConfig(opts...)}, nil
}

// Opener is New for the containerd at address, as a studio.New.
func Opener(address string) studio.New {
	return func(root string, opts ...studio.Option) (studio.Studio, error) {
		return New(root, address, opts...)
	}
}

// Address is the containerd address the studio runs through.
func (s *Studio) Address() string { return s.address }

// Connect returns a client of the containerd at address, in the studio
// namespace, after checking that something listens there (so that a
// wrong address is a clear error at once, not a timeout).
func Connect(ctx context.Context, address string) (*client.Client, error) {
	sock := strings.TrimPrefix(address, "unix://")
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("containerd at %s: nothing listens there: %w", address, err)
	}
	conn.Close()
	c, err := client.New(sock, client.WithDefaultNamespace(Namespace), client.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("containerd at %s: connect: %w", address, err)
	}
	return c, nil
}

// Run runs argv in a new container and returns its exit status (128+N
// when a signal N killed it). Cancelling ctx kills the task; the task and
// the container are deleted in every case.
func (s *Studio) Run(ctx context.Context, argv []string, stdio studio.Stdio) (code int, err error) {
	root := s.Root()
	if len(argv) == 0 {
		return -1, fmt.Errorf("run in studio %s: no command", root)
	}
	c, err := Connect(ctx, s.address)
	if err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", root, err)
	}
	defer c.Close()
	plan, err := rootfs.ForRun(root, s.cfg)
	if err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", root, err)
	}
	var tty *os.File
	if f, ok := stdio.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = f
	}
	id, err := runc.ContainerID(root)
	if err != nil {
		return -1, err
	}
	spec := runc.Spec(root, plan, s.cfg, argv, tty != nil)
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", root, err)
	}

	// The daemon's calls are not cut short by ctx: a create abandoned
	// half-way could leave a task nobody deletes. Cancellation is
	// checked between the steps and kills the task once it runs.
	op := context.WithoutCancel(ctx)
	fail := func(what string, err error) (int, error) {
		return -1, fmt.Errorf("run in studio %s: %s container %s through containerd at %s: %w", root, what, id, s.address, err)
	}
	ctr, err := c.NewContainer(op, id,
		client.WithSpec(spec),
		client.WithRuntime(Runtime, nil),
		client.WithContainerLabels(map[string]string{RootLabel: root}),
	)
	if err != nil {
		return fail("create", err)
	}
	defer func() {
		if cerr := Delete(op, c, id); cerr != nil && err == nil {
			code, err = -1, fmt.Errorf("run in studio %s: %w", root, cerr)
		}
	}()
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", root, err)
	}

	// The FIFOs between the shim and this process, in a directory of
	// this run (hidden inside like the runc bundles).
	base, err := runc.MakeBundleDir(root)
	if err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", root, err)
	}
	fifos := filepath.Join(base, id)
	defer os.RemoveAll(fifos)
	// The shim keeps the container's stdin open until told otherwise:
	// the end of the caller's stdin is passed on with CloseIO.
	stdin := stdio.Stdin
	var closer *stdinCloser
	if stdin != nil && tty == nil {
		closer = &stdinCloser{r: stdin, ready: make(chan struct{})}
		stdin = closer
	}
	// The output is copied by one goroutine for each stream: when both
	// are the same writer (a bytes.Buffer), their writes must not
	// interleave.
	// containerd 1.6's shim wants both output FIFOs or neither.
	var mu sync.Mutex
	stdout, stderr := lockWriter(&mu, stdio.Stdout), lockWriter(&mu, stdio.Stderr)
	if stdout == nil && stderr != nil {
		stdout = io.Discard
	}
	if stderr == nil && stdout != nil {
		stderr = io.Discard
	}
	ioOpts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(fifos)}
	if tty != nil {
		ioOpts = append(ioOpts, cio.WithTerminal)
	}
	task, err := ctr.NewTask(op, cio.NewCreator(ioOpts...))
	if closer != nil {
		closer.ctx, closer.task = op, task
		close(closer.ready)
	}
	if err != nil {
		return fail("create the task of", err)
	}
	exited, err := task.Wait(op)
	if err != nil {
		return fail("wait for the task of", err)
	}
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", root, err)
	}
	if tty != nil {
		if old, err := term.MakeRaw(int(tty.Fd())); err == nil {
			defer term.Restore(int(tty.Fd()), old)
		}
	}
	// The terminal's size is the pty's before the command starts, and
	// follows the terminal's (SIGWINCH) while it runs.
	if tty != nil {
		resize := func() {
			if w, h, err := term.GetSize(int(tty.Fd())); err == nil {
				_ = task.Resize(op, uint32(w), uint32(h))
			}
		}
		resize()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		ended := make(chan struct{})
		defer func() { signal.Stop(winch); close(ended) }()
		go func() {
			for {
				select {
				case <-winch:
					resize()
				case <-ended:
					return
				}
			}
		}()
	}
	if err := task.Start(op); err != nil {
		return fail("start the task of", err)
	}
	stop := context.AfterFunc(ctx, func() {
		kctx, cancel := context.WithTimeout(op, cleanupTimeout)
		defer cancel()
		_ = task.Kill(kctx, 9)
	})
	status := <-exited
	stop()
	status32, _, werr := status.Result()
	code = int(status32)
	// The output still in the FIFOs is copied out before the task is
	// deleted (deleting it closes them); the shim closes them once the
	// container's processes are gone.
	drained := make(chan struct{})
	go func() { task.IO().Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		s.cfg.Log.Warn("the container's output did not end; deleting it", "container", id)
	}
	dctx, cancel := context.WithTimeout(op, cleanupTimeout)
	defer cancel()
	if _, err := task.Delete(dctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		return fail("delete the task of", err)
	}
	if werr != nil {
		return fail("wait for the task of", werr)
	}
	if cerr := ctx.Err(); cerr != nil {
		if code == 0 {
			code = 137
		}
		return code, fmt.Errorf("run in studio %s: %w", root, cerr)
	}
	if err := rootfs.HandOverMounts(s.cfg); err != nil {
		return code, err
	}
	return code, nil
}

// Delete removes the container id and its task (killed if it still runs)
// from the studio namespace of c; a container that is not there is no
// error.
func Delete(ctx context.Context, c *client.Client, id string) error {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	ctr, err := c.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	var errs []error
	if task, err := ctr.Task(ctx, nil); err == nil {
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete the task of container %s: %w", id, err))
		}
	} else if !errdefs.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("load the task of container %s: %w", id, err))
	}
	if err := ctr.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete container %s: %w", id, err))
	}
	return errors.Join(errs...)
}

// stdinCloser passes the caller's stdin to the container and, at its end,
// closes the task's stdin so that the command reads end-of-file.
type stdinCloser struct {
	r     io.Reader
	ready chan struct{} // closed once task is set (nil when creating it failed)
	ctx   context.Context
	task  client.Task
	once  sync.Once
}

func (s *stdinCloser) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.once.Do(func() {
			<-s.ready
			if s.task != nil {
				_ = s.task.CloseIO(s.ctx, client.WithStdinCloser)
			}
		})
	}
	return n, err
}

// lockedWriter serialises the writes of the output streams to their
// writers.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func lockWriter(mu *sync.Mutex, w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	return lockedWriter{mu: mu, w: w}
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
