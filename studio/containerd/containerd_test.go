package containerd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/habgo/hab/studio/studiotest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/containerd"
	"github.com/habgo/hab/studio/containerd/containerdtest"
	"github.com/habgo/hab/studio/rootfs"
	"github.com/habgo/hab/studio/runc"
)

func TestMain(m *testing.M) {
	os.Exit(studiotest.Run(m))
}

// newStudio lays out a studio with src at /src, run by the containerd at
// address, removed when the test ends.
func newStudio(t *testing.T, address, src string, opts ...studio.Option) *containerd.Studio {
	t.Helper()
	root := filepath.Join(t.TempDir(), "hab", "studios", rootfs.DirName(src))
	opts = append([]studio.Option{studio.WithMount(src, "/src"), studio.WithHabBinary(studiotest.HabBinary(t))}, opts...)
	s, err := containerd.New(root, address, opts...)
	if err != nil {
		t.Fatal(err)
	}
	studiotest.Create(t, s)
	return s
}

// leftovers lists the containers and tasks of the studio namespace of the
// containerd at address.
func leftovers(t *testing.T, address string) []string {
	t.Helper()
	ctx := context.Background()
	c, err := containerd.Connect(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var left []string
	ctrs, err := c.Containers(ctx)
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	for _, ctr := range ctrs {
		left = append(left, "container "+ctr.ID())
	}
	tasks, err := c.TaskService().List(ctx, nil)
	if err != nil {
		t.Fatalf("list tasks: %v", err)
	}
	for _, task := range tasks.Tasks {
		left = append(left, "task "+task.ID)
	}
	return left
}

func TestContainerd(t *testing.T) {
	address := containerdtest.Start(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("in the container\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(marker, []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Readlink("/proc/self/ns/pid")
	s := newStudio(t, address, src, studio.WithNetwork(false))
	tests := []struct {
		name, script, want string
		code               int
	}{
		{"hab", "hab --version", "hab ", 0},
		{"source", "cat /src/file", "in the container\n", 0},
		{"host file hidden", "cat " + marker + " 2>/dev/null || echo hidden", "hidden\n", 0},
		{"pid namespace", "readlink /proc/self/ns/pid | grep -vx '" + host + "'", "pid:", 0},
		{"no network", "ls /sys/class/net | tr '\\n' ' '", "lo ", 0},
		{"bundle and fifos hidden", "ls -A /.oci 2>/dev/null | wc -l", "0\n", 0},
		{"stderr", "echo oops >&2; exit 3", "oops\n", 3},
		{"status", "exit 7", "", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code, err := s.Run(context.Background(), []string{"sh", "-c", tt.script}, studio.Stdio{Stdout: &out, Stderr: &out})
			if err != nil {
				t.Fatalf("run %q: %v (%s)", tt.script, err, out.String())
			}
			if code != tt.code || !strings.HasPrefix(out.String(), tt.want) {
				t.Errorf("status %d, output %q; want %d, %q", code, out.String(), tt.code, tt.want)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		var out bytes.Buffer
		code, err := s.Run(context.Background(), []string{"sh", "-c", "tr a-z A-Z"}, studio.Stdio{Stdin: strings.NewReader("shout\n"), Stdout: &out, Stderr: &out})
		if err != nil || code != 0 || out.String() != "SHOUT\n" {
			t.Errorf("status %d, %v, output %q", code, err, out.String())
		}
	})
	t.Run("spec", func(t *testing.T) {
		// While a command runs, its container is in the studio namespace
		// with the studio's spec: the root directory, no rlimits.
		c, err := containerd.Connect(context.Background(), address)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := s.Run(ctx, []string{"sleep", "60"}, studio.Stdio{})
			done <- err
		}()
		defer func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled run: %v", err)
			}
		}()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); <-tick.C {
			ctrs, err := c.Containers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(ctrs) == 0 {
				continue
			}
			spec, err := ctrs[0].Spec(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			labels, _ := ctrs[0].Labels(context.Background())
			if spec.Root.Path != s.Root() || spec.Process.Rlimits != nil || labels[containerd.RootLabel] != s.Root() {
				t.Errorf("container root %s, rlimits %v, labels %v; want %s and none", spec.Root.Path, spec.Process.Rlimits, labels, s.Root())
			}
			return
		}
		t.Error("no container appeared in containerd within 10 s")
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		outs := make([]bytes.Buffer, 3)
		codes := make([]int, 3)
		errs := make([]error, 3)
		for i := range outs {
			wg.Go(func() {
				codes[i], errs[i] = s.Run(context.Background(), []string{"sh", "-c", fmt.Sprintf("sleep 0.2; echo run %d", i)}, studio.Stdio{Stdout: &outs[i]})
			})
		}
		wg.Wait()
		for i := range outs {
			if want := fmt.Sprintf("run %d\n", i); codes[i] != 0 || errs[i] != nil || outs[i].String() != want {
				t.Errorf("run %d: %d %v %q", i, codes[i], errs[i], outs[i].String())
			}
		}
	})
	if left := leftovers(t, address); len(left) > 0 {
		t.Errorf("left behind in containerd: %v", left)
	}
	if entries, _ := os.ReadDir(runc.BundleDir(s.Root())); len(entries) > 0 {
		t.Errorf("left in the bundle directory: %d entries", len(entries))
	}
}

func TestContainerdCancel(t *testing.T) {
	address := containerdtest.Start(t)
	s := newStudio(t, address, t.TempDir())
	studiotest.Cancel(t, s, 4, func(i int, delay time.Duration) {
		if left := leftovers(t, address); len(left) > 0 {
			t.Fatalf("run %d cancelled after %v left behind in containerd: %v", i, delay, left)
		}
	})
	if entries, _ := os.ReadDir(runc.BundleDir(s.Root())); len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left in the bundle directory: %v", names)
	}
}

// TestContainerdNotListening needs no daemon: an address where nothing
// listens is an error naming it, before anything is laid out.
func TestContainerdNotListening(t *testing.T) {
	dir := t.TempDir()
	notSocket := filepath.Join(dir, "file")
	if err := os.WriteFile(notSocket, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, address := range []string{filepath.Join(dir, "missing.sock"), "unix://" + filepath.Join(dir, "missing.sock"), notSocket} {
		t.Run(address, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "s")
			s, err := containerd.New(root, address, studio.WithRuntime("/bin/true"))
			if err != nil {
				t.Fatal(err)
			}
			code, err := s.Run(context.Background(), []string{"true"}, studio.Stdio{})
			if err == nil || code == 0 {
				t.Fatalf("ran with nothing listening at %s: %d", address, code)
			}
			if !strings.Contains(err.Error(), address) || !strings.Contains(err.Error(), "nothing listens") {
				t.Errorf("error %q does not name the address %s", err, address)
			}
			if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the studio root %s was made: %v", root, err)
			}
		})
	}
	if _, err := containerd.New(filepath.Join(dir, "s"), "", studio.WithRuntime("/bin/true")); err == nil {
		t.Error("a studio with no containerd address was accepted")
	}
}

// TestContainerdTerminal: a terminal as stdin gives the command a
// terminal inside (the shim's pty), and the caller's terminal is left as
// it was.
func TestContainerdTerminal(t *testing.T) {
	address := containerdtest.Start(t)
	s := newStudio(t, address, t.TempDir())
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 33, Cols: 99}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, err := s.Run(context.Background(), []string{"sh", "-c", "test -t 0 && test -t 1 && echo terminal; stty size"}, studio.Stdio{Stdin: tty, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("%d %v %q", code, err, out.String())
	}
	if got := strings.ReplaceAll(out.String(), "\r", ""); got != "terminal\n33 99\n" {
		t.Errorf("output %q, want a terminal of 33 rows and 99 columns", got)
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *before != *after {
		t.Errorf("the terminal's modes changed: %+v, then %+v", before, after)
	}
}

// TestContainerdTerminalResize: a change of the caller's terminal size
// (SIGWINCH) reaches the command's terminal while it runs.
func TestContainerdTerminalResize(t *testing.T) {
	address := containerdtest.Start(t)
	s := newStudio(t, address, t.TempDir())
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 20, Cols: 60}); err != nil {
		t.Fatal(err)
	}
	out := &lineWriter{lines: make(chan string, 10)}
	script := `echo ready; for i in $(seq 200); do [ "$(stty size)" = "40 120" ] && { echo resized; exit 0; }; sleep 0.05; done; stty size; exit 1`
	done := make(chan int, 1)
	go func() {
		code, err := s.Run(context.Background(), []string{"sh", "-c", script}, studio.Stdio{Stdin: tty, Stdout: out, Stderr: out})
		if err != nil {
			t.Error(err)
		}
		done <- code
	}()
	select {
	case line := <-out.lines:
		if line != "ready" {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not start within 20 s")
	}
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Errorf("the command's terminal did not follow the resize: status %d", code)
	}
}

// lineWriter sends each line written to it on lines.
type lineWriter struct {
	mu    sync.Mutex
	buf   []byte
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		select {
		case w.lines <- line:
		default:
		}
	}
}
