// Package planoracle runs the reference evaluation of a plan — real bash,
// through shared/tools/plan-oracle.sh — and compares its JSON with ours, key
// by key, for the planner's conformance tests.
package planoracle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"maps"

	"github.com/habgo/hab/internal/conformance"
)

// Env is the environment the oracle gives plans.
var Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}

// Release is the pkg_release the oracle presets.
const Release = "20260101000000"

// Script returns the path of plan-oracle.sh, skipping the test when it (or
// bash and python3, which it runs) is absent; under CI that is a failure.
func Script(t testing.TB) string {
	t.Helper()
	root := conformance.Path(t)
	script := filepath.Join(filepath.Dir(root), "tools", "plan-oracle.sh")
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("the reference evaluation: %v", err)
	}
	for _, tool := range []string{"bash", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the reference evaluation needs %s: %v", tool, err)
			}
			t.Skipf("the reference evaluation needs %s: %v", tool, err)
		}
	}
	return script
}

// Run evaluates the plan in dir with real bash and returns its JSON.
func Run(script, dir string) ([]byte, error) {
	cmd := exec.Command("bash", script, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("plan oracle on %s: %w: %s", dir, err, stderr.Bytes())
	}
	return bytes.TrimSpace(out), nil
}

// Compare reports, as test errors, every key whose value differs between
// the oracle's JSON (want) and ours (got), with both values; then, if the
// values agree, whether the bytes differ. It returns whether the outputs
// are identical.
func Compare(t testing.TB, want, got []byte) bool {
	t.Helper()
	var w, g map[string]any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("oracle output is not JSON: %v\n%s", err, want)
	}
	if err := json.Unmarshal(bytes.TrimSpace(got), &g); err != nil {
		t.Fatalf("our output is not JSON: %v\n%s", err, got)
	}
	keys := map[string]bool{}
	for k := range w {
		keys[k] = true
	}
	for k := range g {
		keys[k] = true
	}
	ok := true
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		wv, wok := w[k]
		gv, gok := g[k]
		switch {
		case !wok:
			t.Errorf("%s: bash has no such key; we have %s", k, show(gv))
		case !gok:
			t.Errorf("%s: bash has %s; we have no such key", k, show(wv))
		case !reflect.DeepEqual(wv, gv):
			t.Errorf("%s: bash has %s; we have %s", k, show(wv), show(gv))
		default:
			continue
		}
		ok = false
	}
	if ok && !bytes.Equal(want, bytes.TrimSpace(got)) {
		t.Errorf("same values but different bytes:\nbash: %s\nours: %s", want, got)
		ok = false
	}
	return ok
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
