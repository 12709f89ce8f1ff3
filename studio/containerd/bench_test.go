package containerd_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/containerd"
	"github.com/habgo/hab/studio/containerd/containerdtest"
)

// BenchmarkCreateRunRemove is what a containerd studio adds to a build:
// lay out a studio, run true in it through containerd, remove it.
func BenchmarkCreateRunRemove(b *testing.B) {
	address := containerdtest.Start(b)
	src := b.TempDir()
	hab := habBinary(b)
	ctx := context.Background()
	for b.Loop() {
		s, err := containerd.New(filepath.Join(b.TempDir(), "s"), address, studio.WithMount(src, "/src"), studio.WithHabBinary(hab))
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

// BenchmarkRun is running true in an existing studio through containerd.
func BenchmarkRun(b *testing.B) {
	address := containerdtest.Start(b)
	ctx := context.Background()
	s, err := containerd.New(filepath.Join(b.TempDir(), "s"), address, studio.WithMount(b.TempDir(), "/src"), studio.WithHabBinary(habBinary(b)))
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
