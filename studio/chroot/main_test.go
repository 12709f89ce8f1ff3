package chroot_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/habgo/hab/studio/chroot"
)

// habBin is a hab built from this tree for the studios under test.
var habBin string

func TestMain(m *testing.M) {
	chroot.MaybeInit()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "studio-test-hab-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	habBin = filepath.Join(dir, "hab")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", habBin, "github.com/habgo/hab/cmd/hab")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build hab for the studio tests: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}
