package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// The reference evaluation: real bash, as shared/tools/plan-oracle.sh runs
// it. Tests compare every plan with it key by key.
var (
	sharedDir = filepath.Join("..", "..", "..", "shared")
	oracle    = filepath.Join(sharedDir, "tools", "plan-oracle.sh")
)

// oracleEnv is the environment the oracle runs plans in.
var oracleEnv = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}

const oracleRelease = "20260101000000"

func needOracle(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(oracle); err != nil {
		t.Skipf("the reference evaluation %s is absent: %v", oracle, err)
	}
	for _, tool := range []string{"bash", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the reference evaluation needs %s: %v", tool, err)
		}
	}
}

// runOracle evaluates the plan in dir with real bash and returns its JSON.
func runOracle(t *testing.T, dir string) []byte {
	t.Helper()
	cmd := exec.Command("bash", oracle, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle on %s: %v\n%s", dir, err, stderr.Bytes())
	}
	return bytes.TrimSpace(out)
}

func evalForOracle(t *testing.T, dir string) *Plan {
	t.Helper()
	p, err := Evaluate(context.Background(), dir, Options{Target: "x86_64-linux", Env: oracleEnv, Release: oracleRelease})
	if err != nil {
		t.Fatalf("evaluate %s: %v", dir, err)
	}
	return p
}

// compareJSON reports every key whose value differs between the oracle's
// output and ours, with both values.
func compareJSON(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g map[string]any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("oracle output is not JSON: %v\n%s", err, want)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("our output is not JSON: %v\n%s", err, got)
	}
	keys := map[string]bool{}
	for k := range w {
		keys[k] = true
	}
	for k := range g {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		wv, wok := w[k]
		gv, gok := g[k]
		switch {
		case !wok:
			t.Errorf("%s: bash has no such key; we have %s", k, show(gv))
		case !gok:
			t.Errorf("%s: bash has %s; we have no such key", k, show(wv))
		case !reflect.DeepEqual(wv, gv):
			t.Errorf("%s: bash has %s; we have %s", k, show(wv), show(gv))
		}
	}
	if !t.Failed() && !bytes.Equal(want, got) {
		t.Errorf("same values but different bytes:\nbash: %s\nours: %s", want, got)
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// TestFeaturePlansMatchBash evaluates the plans under testdata/plans, each
// exercising bash features real plans use, and compares them with bash.
func TestFeaturePlansMatchBash(t *testing.T) {
	needOracle(t)
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
			want := runOracle(t, dir)
			got := MarshalValues(evalForOracle(t, dir).Values())
			compareJSON(t, want, got)
		})
	}
}
