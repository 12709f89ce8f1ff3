// Package runc runs a studio as an OCI container: the same root and mounts
// as studio/chroot, described by a runtime spec (config.json) and run by
// runc. The bundle lives beside the studio root, never in it (a build could
// plant links there, and the spec holds the secrets), in BundleDir, and is
// deleted after each run; runc keeps its state there too.
// studio/containerd runs the same spec through a containerd daemon.
package runc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/term"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/rootfs"
)

// BundleDir is the directory holding a container studio's bundles and
// runtime state: beside the root (.NAME.run), outside what the studio
// can see or change.
func BundleDir(root string) string {
	root = filepath.Clean(root)
	return filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+".run")
}

// MakeBundleDir makes BundleDir(root) (0700), or checks that the one there
// is this user's own directory that no one else can write.
func MakeBundleDir(root string) (string, error) {
	dir := BundleDir(root)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create the bundle directory of studio %s: %w", root, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("bundle directory of studio %s: %w", root, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("bundle directory %s of studio %s is not a private directory of this user (%v); remove it", dir, root, fi.Mode())
	}
	return dir, nil
}

// Studio is a container studio rooted at a host directory.
type Studio struct {
	root string
	cfg  studio.Config
}

var _ studio.Studio = (*Studio)(nil)

// New returns the container studio at root (an absolute path; it is
// created by Create). The runtime is studio.WithRuntime's, else runc on
// the PATH.
func New(root string, opts ...studio.Option) (*Studio, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("studio root %q is not an absolute path", root)
	}
	cfg := studio.NewConfig(opts...)
	if cfg.Runtime == "" {
		p, err := exec.LookPath("runc")
		if err != nil {
			return nil, fmt.Errorf("container studio %s: the OCI runtime runc is not installed: %w", root, err)
		}
		cfg.Runtime = p
	}
	return &Studio{root: filepath.Clean(root), cfg: cfg}, nil
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

// Remove deletes the studio root and its bundle directory; it refuses
// while anything is mounted under the root.
func (s *Studio) Remove(ctx context.Context) error {
	if err := rootfs.Remove(ctx, s.root); err != nil {
		return err
	}
	if err := os.RemoveAll(BundleDir(s.root)); err != nil {
		return fmt.Errorf("remove studio %s: %w", s.root, err)
	}
	return nil
}

// Spec is the runtime spec of a run of argv in the studio at root: the
// plan's mounts, new PID, mount, UTS and IPC namespaces (and network
// without cfg.Network), and no rlimits.
func Spec(root string, plan rootfs.Plan, cfg studio.Config, argv []string, terminal bool) *specs.Spec {
	env := plan.Env(cfg)
	caps := []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
		"CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
	}
	spec := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: root},
		Hostname: cfg.Hostname,
		Process: &specs.Process{
			Terminal:     terminal,
			Args:         argv,
			Env:          env,
			Cwd:          cfg.Workdir,
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.IPCNamespace},
			},
			RootfsPropagation: "rprivate",
		},
	}
	if !cfg.Network {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	for _, m := range plan.Mounts {
		spec.Mounts = append(spec.Mounts, specMount(m))
	}
	return spec
}

func specMount(m rootfs.Mount) specs.Mount {
	var opts []string
	if m.Data != "" {
		opts = strings.Split(m.Data, ",")
	}
	switch m.Kind {
	case rootfs.Tmpfs:
		base := []string{"nosuid", "nodev"}
		if m.Target == "/dev" {
			base = []string{"nosuid", "strictatime"}
		}
		return specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: append(base, opts...)}
	case rootfs.Devpts:
		return specs.Mount{Destination: m.Target, Type: "devpts", Source: "devpts", Options: append([]string{"nosuid", "noexec"}, opts...)}
	case rootfs.Proc:
		return specs.Mount{Destination: m.Target, Type: "proc", Source: "proc", Options: []string{"nosuid", "nodev", "noexec"}}
	case rootfs.Sysfs:
		return specs.Mount{Destination: m.Target, Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}}
	}
	o := []string{"rbind"}
	if m.ReadOnly {
		o = append(o, "ro")
	}
	return specs.Mount{Destination: m.Target, Type: "bind", Source: m.Source, Options: o}
}

// Run runs argv in a container and returns its exit status (128+N when a
// signal N killed it). Cancelling ctx kills the container.
func (s *Studio) Run(ctx context.Context, argv []string, stdio studio.Stdio) (int, error) {
	if len(argv) == 0 {
		return -1, fmt.Errorf("run in studio %s: no command", s.root)
	}
	plan, err := rootfs.ForRun(s.root, s.cfg)
	if err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", s.root, err)
	}
	terminal := false
	if f, ok := stdio.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		terminal = true
	}
	id, err := ContainerID(s.root)
	if err != nil {
		return -1, err
	}
	base, err := MakeBundleDir(s.root)
	if err != nil {
		return -1, err
	}
	bundle := filepath.Join(base, id)
	state := filepath.Join(base, "runc")
	if err := os.Mkdir(bundle, 0o700); err != nil {
		return -1, fmt.Errorf("run in studio %s: create bundle: %w", s.root, err)
	}
	defer os.RemoveAll(bundle)
	data, err := json.Marshal(Spec(s.root, plan, s.cfg, argv, terminal))
	if err != nil {
		return -1, fmt.Errorf("run in studio %s: encode the runtime spec: %w", s.root, err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil { // a new directory of ours
		return -1, fmt.Errorf("run in studio %s: write the runtime spec: %w", s.root, err)
	}
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("run in studio %s: %w", s.root, err)
	}
	runtime := s.cfg.Runtime
	cmd := exec.Command(runtime, "--root", state, "run", "--bundle", bundle, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("run in studio %s: start %s: %w", s.root, runtime, err)
	}
	stop := context.AfterFunc(ctx, func() {
		_ = exec.Command(runtime, "--root", state, "kill", id, "KILL").Run()
		// Before the container exists, only runc itself can be stopped.
		time.AfterFunc(100*time.Millisecond, func() { _ = cmd.Process.Kill() })
	})
	werr := cmd.Wait()
	stop()
	// The container is gone when runc run returns, unless runc itself was
	// killed on its way; delete whatever it left.
	_ = exec.Command(runtime, "--root", state, "delete", "--force", id).Run()
	code := cmd.ProcessState.ExitCode()
	if cerr := ctx.Err(); cerr != nil {
		if code == 0 {
			code = -1
		}
		return code, fmt.Errorf("run in studio %s: %w", s.root, cerr)
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return -1, fmt.Errorf("run in studio %s: %s: %w", s.root, runtime, werr)
	}
	if err := rootfs.HandOverMounts(s.cfg); err != nil {
		return code, err
	}
	return code, nil
}

// ContainerID names one run of the studio at root: the studio's directory
// name and a random suffix. Letters and digits are kept and every other
// run of characters becomes one "-", as containerd requires (runc allows
// more).
func ContainerID(root string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("container id: %w", err)
	}
	var clean strings.Builder
	sep := false
	for _, r := range filepath.Base(root) {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			if sep && clean.Len() > 0 {
				clean.WriteByte('-')
			}
			clean.WriteRune(r)
			sep = false
		} else {
			sep = true
		}
	}
	name := clean.String()
	if len(name) > 40 {
		name = strings.TrimLeft(name[len(name)-40:], "-")
	}
	if name == "" {
		return "hab-studio-" + hex.EncodeToString(b[:]), nil
	}
	return "hab-studio-" + name + "-" + hex.EncodeToString(b[:]), nil
}
