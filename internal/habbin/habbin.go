// Package habbin builds the hab command from this tree, for tests that run
// it as a real process (in studios, under tmux, from scripts).
package habbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Build builds hab, static (CGO off) as it ships, into dir/hab and returns
// its path. VCS stamping is off so that the build also works for a user who
// does not own the checkout.
func Build(dir string) (string, error) {
	return BuildFor(dir, runtime.GOARCH)
}

// BuildFor builds hab as Build does for the Linux architecture goarch
// (GOARCH: amd64, arm64), cross-compiled when it is not this machine's,
// for tests that need another target's binary.
func BuildFor(dir, goarch string) (string, error) {
	return BuildVersion(dir, goarch, "")
}

// BuildVersion builds hab as BuildFor does, reporting version (its
// main.version, set with -ldflags as a release build sets it, and
// stripped as a release is) unless version is empty, for tests that
// need several hab releases.
func BuildVersion(dir, goarch, version string) (string, error) {
	bin := filepath.Join(dir, "hab")
	args := []string{"build", "-buildvcs=false", "-o", bin}
	if version != "" {
		args = append(args, "-ldflags", "-s -w -X main.version="+version)
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, "github.com/habgo/hab/cmd/hab")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hab %s for %s: %v\n%s", version, goarch, err, out)
	}
	return bin, nil
}
