package plan

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkEvaluateTrivial measures the planner's own overhead: finding,
// parsing and evaluating a plan that only sets variables.
func BenchmarkEvaluateTrivial(b *testing.B) {
	dir := b.TempDir()
	writeBenchPlan(b, dir, minimalPlan+"pkg_deps=(core/glibc)\npkg_exports=([port]=srv.port)\n")
	for b.Loop() {
		if _, err := Evaluate(context.Background(), dir, testOpts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateNginx evaluates a real core plan (no processes run).
func BenchmarkEvaluateNginx(b *testing.B) {
	dir := filepath.Join(sharedDir, "conformance", "core-plans-sample", "nginx")
	if _, err := Find(dir, "x86_64-linux"); err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if _, err := Evaluate(context.Background(), dir, testOpts); err != nil {
			b.Fatal(err)
		}
	}
}

func writeBenchPlan(b *testing.B, dir, content string) {
	b.Helper()
	if err := writeFile(filepath.Join(dir, "plan.sh"), content); err != nil {
		b.Fatal(err)
	}
}
