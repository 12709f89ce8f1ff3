package oci_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/oci"
)

// BenchmarkCreateRunRemove is what a container studio adds to a build:
// lay out a studio, run true in it with runc, remove it.
func BenchmarkCreateRunRemove(b *testing.B) {
	if why := containersWork(); why != "" {
		b.Skip(why)
	}
	src := b.TempDir()
	hab := habBinary(b)
	ctx := context.Background()
	for b.Loop() {
		s, err := oci.New(filepath.Join(b.TempDir(), "s"), studio.WithMount(src, "/src"), studio.WithHabBinary(hab))
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

// BenchmarkRun is running true in an existing container studio.
func BenchmarkRun(b *testing.B) {
	if why := containersWork(); why != "" {
		b.Skip(why)
	}
	ctx := context.Background()
	s, err := oci.New(filepath.Join(b.TempDir(), "s"), studio.WithMount(b.TempDir(), "/src"), studio.WithHabBinary(habBinary(b)))
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
