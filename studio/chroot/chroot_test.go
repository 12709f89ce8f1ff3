package chroot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/habgo/hab/studio/studiotest"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/rootfs"
)

// studiosWork says why studios cannot run here, once.
var studiosWork = sync.OnceValue(func() string {
	if os.Geteuid() != 0 {
		if err := chroot.CheckUserNamespaces(context.Background()); err != nil {
			return "studios need root, or user namespaces for a non-root user: " + err.Error()
		}
	}
	root, err := os.MkdirTemp("", "studio-probe-")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(root)
	s, err := chroot.New(filepath.Join(root, "s"))
	if err != nil {
		return err.Error()
	}
	ctx := context.Background()
	if err := s.Create(ctx); err != nil {
		return "cannot lay out a studio: " + err.Error()
	}
	if code, err := s.Run(ctx, []string{"true"}, studio.Stdio{}); err != nil || code != 0 {
		return "namespaces are unavailable here: a studio cannot run true: " + errString(err)
	}
	return ""
})

func errString(err error) string {
	if err == nil {
		return "non-zero status"
	}
	return err.Error()
}

func needStudios(t *testing.T) {
	t.Helper()
	if why := studiosWork(); why != "" {
		t.Skip(why)
	}
}

// newStudio creates a studio under a temporary FS_ROOT-like tree with src
// mounted at /src, and removes it at the end of the test, checking that
// nothing stays mounted.
func newStudio(t *testing.T, src string, opts ...chroot.Option) *chroot.Studio {
	t.Helper()
	needStudios(t)
	fsRoot := t.TempDir()
	root := filepath.Join(fsRoot, "hab", "studios", rootfs.DirName(src))
	opts = append([]chroot.Option{chroot.WithMount(src, "/src"), chroot.WithHabBinary(habBinary(t))}, opts...)
	s, err := chroot.New(root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: Remove, then the check that it removed all.
	t.Cleanup(func() {
		if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("studio root %s is still there after Remove", root)
		}
	})
	studiotest.Create(t, s)
	return s
}

// sh runs a shell command in s and returns its status and output.
func sh(t *testing.T, s *chroot.Studio, script string) (int, string) {
	t.Helper()
	return studiotest.Sh(t, s, script)
}

func mountinfo(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func nsOf(t *testing.T, kind string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + kind)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestInsideTheStudio(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("from the source tree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStudio(t, src)
	hostName, _ := os.Hostname()
	// Something in the studio's on-disk /tmp must be hidden by the private
	// /tmp.
	if err := os.WriteFile(filepath.Join(s.Root(), "tmp", "on-disk"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, script, want string
	}{
		{"source tree at /src", "cat /src/file", "from the source tree\n"},
		{"working directory is /src", "pwd", "/src\n"},
		{"hab at /hab/bin/hab on PATH", "command -v hab && hab --version", "/hab/bin/hab\nhab "},
		{"hab is read-only", "(echo x > /hab/bin/hab) 2>/dev/null || echo refused", "refused\n"},
		{"init is PID 1", "tr '\\0' ' ' < /proc/1/cmdline", "hab-studio-init "},
		{"own PID namespace", "readlink /proc/self/ns/pid", "!" + nsOf(t, "pid")},
		{"own mount namespace", "readlink /proc/self/ns/mnt", "!" + nsOf(t, "mnt")},
		{"own UTS namespace", "readlink /proc/self/ns/uts", "!" + nsOf(t, "uts")},
		{"own IPC namespace", "readlink /proc/self/ns/ipc", "!" + nsOf(t, "ipc")},
		{"host network shared", "readlink /proc/self/ns/net", nsOf(t, "net") + "\n"},
		{"only the init, the shell and ls", "ls /proc > /tmp/p; grep -c '^[0-9]' /tmp/p", "3\n"},
		{"host name", "hostname", "studio\n"},
		{"host name differs", "hostname", "!" + hostName + "\n"},
		{"private /tmp", "ls -A /tmp | wc -l", "0\n"},
		{"/tmp writable", "echo x > /tmp/y && cat /tmp/y", "x\n"},
		{"/sys read-only", "(touch /sys/x) 2>/dev/null || echo refused; awk '$2 == \"/sys\" {print $4}' /proc/mounts | cut -d, -f1", "refused\nro\n"},
		{"/proc fresh", "awk '$2 == \"/proc\" {print $3}' /proc/mounts", "proc\n"},
		{"/dev nodes", "for n in null zero full random urandom tty; do test -c /dev/$n || echo missing $n; done; test -e /dev/ptmx && test -d /dev/pts && test -d /dev/shm && echo ok", "ok\n"},
		{"/dev/null works", "echo gone > /dev/null; head -c 4 /dev/zero | wc -c", "4\n"},
		{"pty", "test -c /dev/pts/ptmx && echo ok", "ok\n"},
		{"host /dev not visible", "ls /dev | grep -c -e '^vd' -e '^sd' -e '^loop' || true", "0\n"},
		{"own package store", "ls -A /hab/pkgs | wc -l", "0\n"},
		{"host toolchain read-only", "(touch /usr/x) 2>/dev/null || echo refused", "refused\n"},
		{"shell and tools", "for c in sh bash tar xz gzip sed grep make gcc; do command -v $c >/dev/null || echo missing $c; done; echo done", "done\n"},
		{"minimal /etc", "grep -c '^hab:' /etc/passwd /etc/group", "/etc/passwd:1\n/etc/group:1\n"},
		{"studio root not visible", "ls / | grep -c oldroot || true", "0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := sh(t, s, tt.script)
			if code != 0 {
				t.Fatalf("status %d, output %q", code, out)
			}
			if not, ok := strings.CutPrefix(tt.want, "!"); ok {
				if out == not+"\n" || out == not || out == "" {
					t.Errorf("output %q, want something else than %q", out, not)
				}
				return
			}
			if !strings.HasPrefix(out, tt.want) {
				t.Errorf("output %q, want %q", out, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "tmp", "y")); err == nil {
		t.Error("a file written to the studio's /tmp reached its on-disk root")
	}
}

func TestIsolation(t *testing.T) {
	needStudios(t)
	fsRoot := t.TempDir()
	// A host package store next to the studios: none of it may show.
	hostPkg := filepath.Join(fsRoot, "hab", "pkgs", "core", "secret", "1.0", "20200101000000")
	if err := os.MkdirAll(hostPkg, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(marker, []byte("host only"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	s, err := chroot.New(filepath.Join(fsRoot, "hab", "studios", "iso"), chroot.WithMount(src, "/src"), chroot.WithHabBinary(habBinary(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Create(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Remove(ctx)
	for _, script := range []string{
		"cat " + marker,
		"ls " + filepath.Dir(marker),
		"ls /hab/pkgs/core/secret",
		"ls " + hostPkg,
		"ls /work /root/.cache 2>&1 | grep -v 'No such'; test -e /work",
		"test -e /hab/studios",
	} {
		code, out := sh(t, s, script)
		if code == 0 {
			t.Errorf("%q succeeded inside the studio: %q", script, out)
		}
	}
}

func TestFilesInSrcBelongToTheUser(t *testing.T) {
	tests := []struct {
		name     string
		opts     []chroot.Option
		uid, gid int
		root     bool // needs root
	}{
		{"invoking user", nil, os.Geteuid(), os.Getegid(), false},
		{"sudo user", []chroot.Option{chroot.WithOwner(1234, 1235)}, 1234, 1235, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			needStudios(t)
			if tt.root && os.Geteuid() != 0 {
				t.Skip("handing files over to another user needs root")
			}
			src := t.TempDir()
			if err := os.Chown(src, tt.uid, tt.gid); err != nil {
				t.Fatal(err)
			}
			s := newStudio(t, src, tt.opts...)
			if code, out := sh(t, s, "mkdir -p /src/out/sub && echo x > /src/out/sub/file && ln -s file /src/out/link"); code != 0 {
				t.Fatalf("status %d: %s", code, out)
			}
			for _, p := range []string{"out", "out/sub", "out/sub/file", "out/link"} {
				fi, err := os.Lstat(filepath.Join(src, p))
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				if int(st.Uid) != tt.uid || int(st.Gid) != tt.gid {
					t.Errorf("%s belongs to %d:%d, want %d:%d", p, st.Uid, st.Gid, tt.uid, tt.gid)
				}
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	s := newStudio(t, t.TempDir())
	tests := []struct {
		script string
		want   int
	}{
		{"true", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + 15},
		{"kill -KILL $$", 128 + 9},
		{"nonexistent-command-xyz", 127},
	}
	for _, tt := range tests {
		if code, out := sh(t, s, tt.script); code != tt.want {
			t.Errorf("%q: status %d, want %d (%s)", tt.script, code, tt.want, out)
		}
	}
}

func TestOrphansAreReapedAndKilled(t *testing.T) {
	s := newStudio(t, t.TempDir())
	// The command leaves a background sleeper behind (for longer than any
	// test may run): the studio must end when the command does, and the
	// sleeper with it.
	code, out := sh(t, s, "sleep 424242.5 & echo started")
	if code != 0 || out != "started\n" {
		t.Fatalf("status %d output %q", code, out)
	}
	if pids := processesWith("424242.5"); len(pids) > 0 {
		t.Errorf("processes left behind: %v", pids)
	}
}

// TestLeftProcessesAreTerminatedFirst: what the command leaves running
// (the background Supervisor of hab studio enter) gets SIGTERM when the
// command ends, so it can stop cleanly (its trap runs and writes to
// /src), before anything is killed; none is left.
func TestLeftProcessesAreTerminatedFirst(t *testing.T) {
	src := t.TempDir()
	s := newStudio(t, src)
	code, out := sh(t, s, `sh -c 'trap "echo terminated > /src/term; exit 0" TERM; echo ready > /src/ready; while :; do sleep 0.05; done; : 424242.6' >/dev/null 2>&1 &
while [ ! -e /src/ready ]; do sleep 0.01; done; echo started`)
	if code != 0 || out != "started\n" {
		t.Fatalf("status %d output %q", code, out)
	}
	if b, err := os.ReadFile(filepath.Join(src, "term")); err != nil || string(b) != "terminated\n" {
		t.Errorf("the process left running was not sent SIGTERM before the studio ended: %q %v", b, err)
	}
	if pids := processesWith("424242.6"); len(pids) > 0 {
		t.Errorf("processes left behind: %v", pids)
	}
}

// processesWith lists the host processes whose command line contains arg.
func processesWith(arg string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cl, []byte(arg)) {
			out = append(out, e.Name()+":"+strings.ReplaceAll(string(cl), "\x00", " "))
		}
	}
	return out
}

// TestCancelLeavesNothingBehind cancels 50 runs at random points (issue
// 4: no mount may outlive the studio, even when the build is killed):
// the mount table stays as it was and no process is left.
func TestCancelLeavesNothingBehind(t *testing.T) {
	src := t.TempDir()
	s := newStudio(t, src)
	runs := 50
	if testing.Short() {
		runs = 5
	}
	before := mountinfo(t)
	for i := range runs {
		delay := time.Duration(rand.IntN(150)) * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(delay, cancel)
		code, err := s.Run(ctx, []string{"sh", "-c", "echo x > /src/f; sleep 424243." + strconv.Itoa(i)}, studio.Stdio{})
		timer.Stop()
		cancel()
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("run %d cancelled after %v: error %v, want context.Canceled", i, delay, err)
		}
		if code == 0 {
			t.Errorf("run %d cancelled after %v: status 0", i, delay)
		}
		if after := mountinfo(t); after != before {
			t.Fatalf("run %d cancelled after %v changed the mount table:\nbefore:\n%s\nafter:\n%s", i, delay, before, after)
		}
		if pids := processesWith("424243." + strconv.Itoa(i)); len(pids) > 0 {
			t.Errorf("run %d: processes left behind: %v", i, pids)
		}
	}
	if m, err := rootfs.MountsUnder(s.Root()); err != nil || len(m) > 0 {
		t.Errorf("mounts under the studio: %v %v", m, err)
	}
}

func TestFailingCommandLeavesNothingMounted(t *testing.T) {
	s := newStudio(t, t.TempDir())
	before := mountinfo(t)
	if code, _ := sh(t, s, "exit 42"); code != 42 {
		t.Errorf("status %d", code)
	}
	var out bytes.Buffer
	_, err := s.Run(context.Background(), []string{"no-such-command"}, studio.Stdio{Stderr: &out})
	if err == nil || !strings.Contains(err.Error(), "no-such-command") {
		t.Errorf("missing command: error %v, want one naming it", err)
	}
	if after := mountinfo(t); after != before {
		t.Errorf("mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestNoNetwork(t *testing.T) {
	tests := []struct {
		name    string
		network bool
	}{{"isolated", false}, {"shared", true}}
	hostIfs, _ := os.ReadDir("/sys/class/net")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStudio(t, t.TempDir(), chroot.WithNetwork(tt.network))
			code, out := sh(t, s, "ls /sys/class/net | tr '\\n' ' '; echo; readlink /proc/self/ns/net")
			if code != 0 {
				t.Fatalf("status %d: %s", code, out)
			}
			ifs, ns, _ := strings.Cut(out, "\n")
			if !tt.network {
				if ifs != "lo " {
					t.Errorf("interfaces %q, want only lo", ifs)
				}
				if strings.TrimSpace(ns) == nsOf(t, "net") {
					t.Error("the studio shares the host's network namespace")
				}
				if code, out := sh(t, s, "grep -c . /sys/class/net/lo/operstate >/dev/null && cat /sys/class/net/lo/flags"); code != 0 || out == "0x8\n" {
					t.Errorf("lo: %q (status %d), want up", out, code)
				}
				return
			}
			if got := len(strings.Fields(ifs)); got != len(hostIfs) {
				t.Errorf("interfaces %q, want the host's %d", ifs, len(hostIfs))
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	host := []string{"HAB_ORIGIN=acme", "HAB_STUDIO_SECRET_TOKEN=s3cret", "SECRET_HOST_VAR=no", "TERM=xterm", "http_proxy=http://p:3128"}
	env := studio.Environ(host, "default")
	s := newStudio(t, t.TempDir(), chroot.WithEnv(env))
	code, out := sh(t, s, "env | sort")
	if code != 0 {
		t.Fatal(out)
	}
	for _, want := range []string{"HAB_ORIGIN=acme\n", "TOKEN=s3cret\n", "TERM=xterm\n", "http_proxy=http://p:3128\n", "STUDIO_TYPE=default\n", "HOME=/root\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("environment lacks %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"SECRET_HOST_VAR", "HAB_STUDIO_SECRET_"} {
		if strings.Contains(out, not) {
			t.Errorf("environment has %q:\n%s", not, out)
		}
	}
}

func TestPlanShowInside(t *testing.T) {
	src := t.TempDir()
	plan := filepath.Join(src, "habitat")
	if err := os.MkdirAll(plan, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plan, "plan.sh"), []byte("pkg_name=hello\npkg_origin=acme\npkg_version=1.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStudio(t, src)
	code, out := sh(t, s, "hab plan show /src/habitat")
	if code != 0 {
		t.Fatalf("hab plan show in the studio: status %d: %s", code, out)
	}
	if !strings.Contains(out, "hello") || !strings.Contains(out, "1.2.3") {
		t.Errorf("hab plan show printed %q", out)
	}
}

func TestOriginKeysImported(t *testing.T) {
	needStudios(t)
	keys := t.TempDir()
	cache := crypto.Cache{Dir: keys}
	pub, sec, err := cache.NewSigningPair("acme", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	_ = pub
	_ = sec
	s := newStudio(t, t.TempDir(), studio.WithOriginKeys(keys, "acme"))
	code, out := sh(t, s, "ls /hab/cache/keys")
	if code != 0 {
		t.Fatal(out)
	}
	if out != "acme-20240102030405.pub\nacme-20240102030405.sig.key\n" {
		t.Errorf("studio key cache holds %q", out)
	}

	// A missing key fails before anything is written.
	root := filepath.Join(t.TempDir(), "studio")
	bad, _ := chroot.New(root, studio.WithOriginKeys(keys, "nokey"))
	err = bad.Create(context.Background())
	if err == nil || !strings.Contains(err.Error(), "nokey") {
		t.Errorf("Create with a missing origin key: %v, want an error naming it", err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed Create left %s behind", root)
	}
}

func TestBadInputs(t *testing.T) {
	needStudios(t)
	ctx := context.Background()
	if _, err := chroot.New("relative/root"); err == nil || !strings.Contains(err.Error(), "relative/root") {
		t.Errorf("relative root: %v", err)
	}
	dir := t.TempDir()
	s, _ := chroot.New(filepath.Join(dir, "never-created"))
	if _, err := s.Run(ctx, []string{"true"}, studio.Stdio{}); err == nil || !strings.Contains(err.Error(), "never-created") {
		t.Errorf("run before create: %v", err)
	}
	if _, err := s.Run(ctx, nil, studio.Stdio{}); err == nil {
		t.Error("run without a command succeeded")
	}
	missing := filepath.Join(dir, "no-such-src")
	s, _ = chroot.New(filepath.Join(dir, "s1"), chroot.WithMount(missing, "/src"))
	if err := s.Create(ctx); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing mount source: %v", err)
	}
	s, _ = chroot.New(filepath.Join(dir, "s2"), chroot.WithMount(dir, "src"))
	if err := s.Create(ctx); err == nil || !strings.Contains(err.Error(), `"src"`) {
		t.Errorf("relative mount target: %v", err)
	}
	s, _ = chroot.New(filepath.Join(dir, "s3"), chroot.WithHermetic(true))
	if err := s.Create(ctx); err == nil || !strings.Contains(err.Error(), "--hermetic") || !strings.Contains(err.Error(), "s3") {
		t.Errorf("hermetic without base packages: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "s3")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused hermetic studio left its root behind")
	}

	// A directory that is not a studio is neither taken over nor removed.
	foreign := filepath.Join(dir, "foreign")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "precious"), []byte("x"), 0o644)
	s, _ = chroot.New(foreign)
	if err := s.Create(ctx); err == nil || !strings.Contains(err.Error(), foreign) {
		t.Errorf("create over a foreign directory: %v", err)
	}
	if err := s.Remove(ctx); err == nil || !strings.Contains(err.Error(), foreign) {
		t.Errorf("remove a foreign directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious")); err != nil {
		t.Errorf("foreign directory damaged: %v", err)
	}
}

func TestRemoveRefusesWhileMounted(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStudio(t, src)
	// A mount made on the host (as a crashed original studio would leave):
	// Remove must refuse rather than delete through it.
	target := filepath.Join(s.Root(), "src")
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount on the host: %v", err)
	}
	err := s.Remove(context.Background())
	if uerr := unix.Unmount(target, unix.MNT_DETACH); uerr != nil {
		t.Fatalf("unmount %s: %v", target, uerr)
	}
	if err == nil || !strings.Contains(err.Error(), target) {
		t.Errorf("Remove with %s mounted: %v, want a refusal naming it", target, err)
	}
	if _, err := os.Stat(filepath.Join(src, "keep")); err != nil {
		t.Errorf("source tree damaged: %v", err)
	}
}

func TestSymlinkedMountPointRefused(t *testing.T) {
	needStudios(t)
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "s")
	first, _ := chroot.New(root)
	if err := first.Create(ctx); err != nil {
		t.Fatal(err)
	}
	// An earlier build replaced its /src with a symlink out of the root.
	elsewhere := t.TempDir()
	if err := os.Remove(filepath.Join(root, "src")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(root, "src")); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	s, _ := chroot.New(root, chroot.WithMount(src, "/src"))
	before := mountinfo(t)
	_, err := s.Run(ctx, []string{"true"}, studio.Stdio{})
	if err == nil || !strings.Contains(err.Error(), "/src is a symlink") {
		t.Errorf("run with a symlinked mount point: %v", err)
	}
	if after := mountinfo(t); after != before {
		t.Error("the mount table changed")
	}
	if err := s.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(elsewhere); err != nil {
		t.Errorf("Remove followed the symlink: %v", err)
	}
}

// A studio under a symlinked directory works (the root is resolved).
func TestSymlinkedRootWorks(t *testing.T) {
	needStudios(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	s, _ := chroot.New(filepath.Join(dir, "link", "s"), chroot.WithMount(t.TempDir(), "/src"))
	ctx := context.Background()
	if err := s.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if code, err := s.Run(ctx, []string{"true"}, studio.Stdio{}); code != 0 || err != nil {
		t.Errorf("run in a studio under a symlink: %d %v", code, err)
	}
	if err := s.Remove(ctx); err != nil {
		t.Error(err)
	}
}

// Runs in one studio are independent: each has its own namespaces and
// mounts.
func TestConcurrentRuns(t *testing.T) {
	src := t.TempDir()
	s := newStudio(t, src)
	before := mountinfo(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			script := "echo $1 > /tmp/me && sleep 0.2 && cat /tmp/me > /src/out$1"
			code, err := s.Run(context.Background(), []string{"sh", "-c", script, "sh", strconv.Itoa(i)}, studio.Stdio{Stdout: &out, Stderr: &out})
			if err != nil || code != 0 {
				errs <- fmt.Errorf("run %d: %d %v %s", i, code, err, out.String())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range 4 {
		data, err := os.ReadFile(filepath.Join(src, "out"+strconv.Itoa(i)))
		if err != nil || string(data) != strconv.Itoa(i)+"\n" {
			t.Errorf("run %d saw another run's /tmp: %q %v", i, data, err)
		}
	}
	if after := mountinfo(t); after != before {
		t.Error("the mount table changed")
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	s := newStudio(t, t.TempDir())
	if err := s.Create(context.Background()); err != nil {
		t.Fatalf("second Create: %v", err)
	}
	if code, out := sh(t, s, "true"); code != 0 {
		t.Fatal(out)
	}
}
