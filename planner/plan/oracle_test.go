package plan

import (
	"context"
	"github.com/habgo/hab/internal/planoracle"
	"os"
	"path/filepath"
	"testing"
)

func evalForOracle(t *testing.T, dir string) *Plan {
	t.Helper()
	p, err := Evaluate(context.Background(), dir, Options{Target: "x86_64-linux", Env: planoracle.Env, Release: planoracle.Release})
	if err != nil {
		t.Fatalf("evaluate %s: %v", dir, err)
	}
	return p
}

// TestFeaturePlansMatchBash evaluates the plans under testdata/plans, each
// exercising bash features real plans use, and compares them with bash.
func TestFeaturePlansMatchBash(t *testing.T) {
	script := planoracle.Script(t)
	entries, err := os.ReadDir(filepath.Join("testdata", "plans"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join("testdata", "plans", e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			want, err := planoracle.Run(script, dir)
			if err != nil {
				t.Fatal(err)
			}
			planoracle.Compare(t, want, MarshalValues(evalForOracle(t, dir).Values()))
		})
	}
}
