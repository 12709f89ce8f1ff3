package chroot_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
)

// BenchmarkExecTrue is the baseline: running true without a studio.
func BenchmarkExecTrue(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateRunRemove is what a studio adds to a build: lay out a
// studio, run true in it, remove it.
func BenchmarkCreateRunRemove(b *testing.B) {
	if why := studiosWork(); why != "" {
		b.Skip(why)
	}
	src := b.TempDir()
	hab := habBinary(b)
	ctx := context.Background()
	for b.Loop() {
		s, err := chroot.New(filepath.Join(b.TempDir(), "s"), chroot.WithMount(src, "/src"), chroot.WithHabBinary(hab))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Create(ctx); err != nil {
			b.Fatal(err)
		}
		if code, err := s.Run(ctx, []string{"true"}, studio.Stdio{}); code != 0 || err != nil {
			b.Fatal(code, err)
		}
		if err := s.Remove(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRun is entering an existing studio to run true.
func BenchmarkRun(b *testing.B) {
	if why := studiosWork(); why != "" {
		b.Skip(why)
	}
	ctx := context.Background()
	s, err := chroot.New(filepath.Join(b.TempDir(), "s"), chroot.WithMount(b.TempDir(), "/src"), chroot.WithHabBinary(habBinary(b)))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Create(ctx); err != nil {
		b.Fatal(err)
	}
	defer s.Remove(ctx)
	for b.Loop() {
		if code, err := s.Run(ctx, []string{"true"}, studio.Stdio{}); code != 0 || err != nil {
			b.Fatal(code, err)
		}
	}
}

// BenchmarkCheckUserNamespaces is what "hab studio" pays first as a
// non-root user: a short-lived init that mounts in a user namespace.
func BenchmarkCheckUserNamespaces(b *testing.B) {
	if os.Geteuid() == 0 {
		b.Skip("root needs no user namespace: the check returns at once")
	}
	ctx := context.Background()
	for b.Loop() {
		if err := chroot.CheckUserNamespaces(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
