package chroot_test

import (
	"fmt"
	"github.com/habgo/hab/internal/habbin"
	"os"
	"sync"
	"testing"

	"github.com/habgo/hab/studio/chroot"
)

func TestMain(m *testing.M) {
	chroot.MaybeInit()
	os.Exit(run(m))
}

// habDir holds the hab built for the tests (set once by TestMain).
var habDir string

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "studio-test-hab-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	habDir = dir
	return m.Run()
}

// buildHab builds hab from this tree once, for the studios under test to
// mount at /hab/bin/hab (the test binary itself is no hab command).
var buildHab = sync.OnceValues(func() (string, error) {
	// A test re-executed under another uid gets the hab its parent built.
	if bin := os.Getenv(habEnv); bin != "" {
		return bin, nil
	}
	return habbin.Build(habDir)
})

// habBinary is the hab the studios under test mount.
func habBinary(t testing.TB) string {
	t.Helper()
	bin, err := buildHab()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
