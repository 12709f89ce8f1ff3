// Package conformance finds the shared conformance data (real artifacts,
// keys, templates and plans from the original Habitat) that tests compare
// against. It lives beside the repository, in ../shared/conformance, or
// where HAB_CONFORMANCE_DIR points.
package conformance

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Root returns the conformance directory, or an error saying where it was
// looked for.
func Root() (string, error) {
	if d := os.Getenv("HAB_CONFORMANCE_DIR"); d != "" {
		if _, err := os.Stat(d); err != nil {
			return "", err
		}
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(filepath.Dir(dir), "shared", "conformance")
			if _, err := os.Stat(d); err != nil {
				return "", err
			}
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Path returns a path inside the conformance data. When the data is
// absent the test is skipped, saying so, except under CI (CI set), where
// missing data is a failure: CI always has it.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance data not found (CI must have ../shared/conformance beside the repository): %v", err)
		}
		t.Skipf("conformance data not found beside the repository (../shared/conformance): %v", err)
	}
	p := filepath.Join(append([]string{root}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("conformance data: %v", err)
	}
	return p
}
