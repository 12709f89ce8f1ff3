// Package studiotest holds what the tests of every studio kind share: the
// benchmarks that measure what a studio adds to a build, run the same way
// for chroot, runc and containerd studios.
package studiotest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/habgo/hab/studio"
)

// BenchCreateRunRemove measures what a studio adds to a build: lay out a
// studio with open, run true in it, remove it. hab is the binary mounted
// at /hab/bin/hab.
func BenchCreateRunRemove(b *testing.B, open studio.New, hab string) {
	src := b.TempDir()
	ctx := context.Background()
	for b.Loop() {
		s, err := open(filepath.Join(b.TempDir(), "s"), studio.WithMount(src, "/src"), studio.WithHabBinary(hab))
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

// BenchRun measures running true in an existing studio.
func BenchRun(b *testing.B, open studio.New, hab string) {
	ctx := context.Background()
	s, err := open(filepath.Join(b.TempDir(), "s"), studio.WithMount(b.TempDir(), "/src"), studio.WithHabBinary(hab))
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
