package rootfs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/rootfs"
)

func TestDirName(t *testing.T) {
	tests := []struct{ src, want string }{
		{"/", "root"},
		{"/src", "src"},
		{"/home/me/plans/redis", "home--me--plans--redis"},
		{"/home/me/my plans", "home--me--my-plans"},
	}
	for _, tt := range tests {
		if got := rootfs.DirName(tt.src); got != tt.want {
			t.Errorf("DirName(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestPrepareLayout(t *testing.T) {
	root := filepath.Join(t.TempDir(), "studio")
	src := t.TempDir()
	host := t.TempDir()
	// A host toolchain with a directory and a merged-/usr style symlink.
	if err := os.MkdirAll(filepath.Join(host, "usr", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(host, "bin")); err != nil {
		t.Fatal(err)
	}
	cfg := studio.NewConfig(studio.WithMount(src, "/src"), studio.WithHabBinary("/proc/self/exe"),
		studio.WithHostTools(filepath.Join(host, "usr"), filepath.Join(host, "bin"), filepath.Join(host, "absent")))
	plan, err := rootfs.Prepare(context.Background(), root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.HostTools) != 1 || plan.HostTools[0] != filepath.Join(host, "usr") {
		t.Errorf("host tools %v, want only the directory", plan.HostTools)
	}
	if l, err := os.Readlink(filepath.Join(root, host, "bin")); err != nil || l != "usr/bin" {
		t.Errorf("host symlink not recreated: %q %v", l, err)
	}
	for _, p := range []string{"dev", "proc", "sys", "tmp", "src", "hab/pkgs", "hab/cache/artifacts", "hab/cache/keys", "etc/passwd", "etc/group", "etc/profile", "etc/hosts", "hab/bin/hab", rootfs.MarkerFile} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("layout lacks %s: %v", p, err)
		}
	}
	fi, _ := os.Stat(filepath.Join(root, "tmp"))
	if fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("/tmp mode %v", fi.Mode())
	}
	var targets []string
	for _, m := range plan.Mounts {
		targets = append(targets, m.Target)
	}
	got := strings.Join(targets, " ")
	want := "/dev /dev/pts /dev/shm /proc /sys /run /tmp " + filepath.Join(host, "usr") + " /hab/bin/hab /src"
	if got != want {
		t.Errorf("mount targets %q, want %q", got, want)
	}
	// Idempotent.
	if _, err := rootfs.Prepare(context.Background(), root, cfg); err != nil {
		t.Errorf("second Prepare: %v", err)
	}
}

func TestPlanWithBasePackages(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"core/bash/5.1/20240101000000", "core/coreutils/9.4/20240101000000"} {
		if err := os.MkdirAll(filepath.Join(root, "hab", "pkgs", p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := rootfs.MakePlan(root, studio.NewConfig(studio.WithHermetic(true)))
	if err != nil {
		t.Fatalf("hermetic with base packages: %v", err)
	}
	if len(plan.HostTools) != 0 {
		t.Errorf("host tools mounted despite base packages: %v", plan.HostTools)
	}
}

func TestRemoveRefusesForeign(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := rootfs.Remove(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Remove(foreign) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mine")); err != nil {
		t.Error("Remove deleted a foreign directory's file")
	}
	if err := rootfs.Remove(context.Background(), filepath.Join(dir, "absent")); err != nil {
		t.Errorf("Remove(absent) = %v", err)
	}
}

func TestMountsUnder(t *testing.T) {
	m, err := rootfs.MountsUnder("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 || m[0] != "/proc" {
		t.Errorf("MountsUnder(/proc) = %v", m)
	}
	if m, _ := rootfs.MountsUnder(t.TempDir()); len(m) != 0 {
		t.Errorf("mounts under a fresh directory: %v", m)
	}
}

func TestHandOver(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("handing files over to another user needs root")
	}
	mine := t.TempDir()
	os.MkdirAll(filepath.Join(mine, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(mine, "a", "b", "f"), nil, 0o644)
	os.Chown(mine, 1500, 1501)
	os.WriteFile(filepath.Join(mine, "other"), nil, 0o644)
	os.Chown(filepath.Join(mine, "other"), 77, 77)
	if err := rootfs.HandOver(mine, 1500, 1501); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]uint32{"a": 1500, "a/b": 1500, "a/b/f": 1500, "other": 77} {
		fi, _ := os.Stat(filepath.Join(mine, p))
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != want {
			t.Errorf("%s belongs to %d, want %d", p, uid, want)
		}
	}
	// A tree that is not the user's (a root-owned cache) is left alone.
	roots := t.TempDir()
	os.WriteFile(filepath.Join(roots, "f"), nil, 0o644)
	if err := rootfs.HandOver(roots, 1500, 1501); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(roots, "f"))
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Errorf("a root-owned tree was handed over (%d)", uid)
	}
	if err := rootfs.HandOver(filepath.Join(roots, "absent"), 1, 1); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("HandOver(absent) = %v", err)
	}
}

func TestStudiosDir(t *testing.T) {
	tests := []struct {
		name string
		r    paths.Root
		want string
	}{
		{"root", paths.Root{FS: "/", Home: "/root", Root: true}, "/hab/studios"},
		{"root under FS_ROOT", paths.Root{FS: "/tmp/fs", Home: "/root", Root: true}, "/tmp/fs/hab/studios"},
		{"a user", paths.Root{FS: "/", Home: "/home/me", Root: false}, "/home/me/.hab/studios"},
		{"a user under FS_ROOT", paths.Root{FS: "/tmp/fs", Home: "/home/me", Root: false}, "/home/me/.hab/studios"},
		{"a user without a home", paths.Root{FS: "/", Root: false}, "/hab/studios"},
	}
	for _, tt := range tests {
		if got := rootfs.StudiosDir(tt.r); got != tt.want {
			t.Errorf("%s: StudiosDir = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A build may leave directories without write permission (a Go module
// cache does); Remove deletes them all the same, for root and for the
// non-root user whose studio it is.
func TestRemoveReadOnlyDirectories(t *testing.T) {
	root := filepath.Join(t.TempDir(), "studio")
	if _, err := rootfs.Prepare(context.Background(), root, studio.NewConfig(studio.WithHostTools())); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "root", "go", "pkg", "mod", "example.com", "m@v1")
	if err := os.MkdirAll(filepath.Join(deep, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deep, "sub", "f.go"), []byte("package m\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(deep, "sub"), deep, filepath.Dir(deep)} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink out of the studio to a read-only directory is not
	// followed: that directory keeps its mode.
	outside := t.TempDir()
	if err := os.Chmod(outside, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(outside, 0o755)
	if err := os.Symlink(outside, filepath.Join(root, "root", "link")); err != nil {
		t.Fatal(err)
	}
	if err := rootfs.Remove(context.Background(), root); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Lstat(root); !os.IsNotExist(err) {
		t.Errorf("studio root %s still there: %v", root, err)
	}
	if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("a directory outside the studio changed: %v %v", fi.Mode(), err)
	}
}

// TestPrepareFailureLeavesNothing: a new studio whose preparation fails
// (a mount whose source is missing) is removed again; an existing one is
// kept as it was.
func TestPrepareFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-source")
	root := filepath.Join(dir, "studio")
	cfg := studio.NewConfig(studio.WithMount(missing, "/src"), studio.WithHostTools())
	if _, err := rootfs.Prepare(context.Background(), root, cfg); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("prepare with a missing mount source: %v", err)
	}
	if _, err := os.Lstat(root); !os.IsNotExist(err) {
		t.Errorf("a failed new studio left %s behind (%v)", root, err)
	}
	if _, err := rootfs.Prepare(context.Background(), root, studio.NewConfig(studio.WithHostTools())); err != nil {
		t.Fatal(err)
	}
	if _, err := rootfs.Prepare(context.Background(), root, cfg); err == nil {
		t.Fatal("prepare with a missing mount source succeeded")
	}
	if _, err := os.Stat(filepath.Join(root, rootfs.MarkerFile)); err != nil {
		t.Errorf("a failed preparation removed the existing studio: %v", err)
	}
}
