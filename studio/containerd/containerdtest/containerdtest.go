// Package containerdtest starts a private containerd daemon for tests:
// its own root, state, socket and configuration in a temporary directory,
// stopped and removed when the test ends.
package containerdtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/studio/containerd"
)

// Why says why a containerd cannot be started here ("" when it can): the
// tests need root and Debian's containerd package (containerd,
// containerd-shim-runc-v2 and runc on the PATH).
func Why() string {
	if os.Geteuid() != 0 {
		return "containerd needs root; run the tests as root"
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin + " is not installed (apt-get install containerd)"
		}
	}
	return ""
}

// config is a containerd configuration (version 2, as containerd 1.6 and
// 1.7 read it) with everything a studio does not use switched off: the
// CRI plugin, snapshotters other than native, the optional-binaries
// directory, and the debug and metrics listeners.
const config = `version = 2
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.overlayfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  address = ""
  level = "warn"

[metrics]
  address = ""
`

// Start starts a containerd for the test and returns the address of its
// socket. It skips the test (saying why) when containerd cannot run here,
// and fails it when the daemon does not come up. The daemon is stopped
// and its directories removed when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	if why := Why(); why != "" {
		t.Skip(why)
	}
	// A short directory: a unix socket's path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "hab-ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	address := filepath.Join(dir, "containerd.sock")
	conf := filepath.Join(dir, "config.toml")
	text := fmt.Sprintf(config, filepath.Join(dir, "root"), filepath.Join(dir, "state"), address, address+".ttrpc")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	cmd := exec.Command("containerd", "--config", conf)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start containerd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		// Shims outlive their daemon: whatever a failed test left is
		// deleted (its task killed) first.
		if left := deleteAll(address); len(left) > 0 {
			t.Logf("containerd at %s: deleted the containers left behind: %v", address, left)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove the test containerd's directory: %v", err)
		}
	}
	t.Cleanup(stop)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "unix", address)
		if err == nil {
			c.Close()
			return address
		}
		select {
		case err := <-exited:
			stopped = true
			os.RemoveAll(dir)
			t.Fatalf("containerd exited before listening on %s: %v\n%s", address, err, log.String())
		case <-ctx.Done():
			stop()
			t.Fatalf("containerd did not listen on %s within 30 s\n%s", address, log.String())
		case <-tick.C:
		}
	}
}

// syncBuffer is the daemon's output, written by exec's copying goroutine
// and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(s.b.String())
}

// deleteAll deletes every container (and task) of the studio namespace of
// the containerd at address, and returns their names.
func deleteAll(address string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := containerd.Connect(ctx, address)
	if err != nil {
		return nil
	}
	defer c.Close()
	ctrs, err := c.Containers(ctx)
	if err != nil {
		return nil
	}
	var left []string
	for _, ctr := range ctrs {
		left = append(left, ctr.ID())
		_ = containerd.Delete(ctx, c, ctr.ID())
	}
	return left
}
