package plan

import (
	"context"
	"github.com/habgo/hab/internal/conformance"
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
	dir := conformance.Path(b, "core-plans-sample", "nginx")
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
