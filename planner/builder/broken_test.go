package builder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrokenFixtures builds each broken-* fixture: each fails in its phase
// with its exact error and leaves no package, hart or build report behind.
func TestBrokenFixtures(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		fixture string
		phase   string
		status  int
		err     string
		output  []string // lines the build prints
	}{
		{"broken-download", "do_download", 1,
			"build failed in do_download: download missing-1.0.0.tar.gz: source file " + abs(fixture("broken-download")) + "/missing-1.0.0.tar.gz does not exist",
			[]string{"   broken-download: Downloading 'missing-1.0.0.tar.gz' to 'missing-1.0.0.tar.gz'"}},
		{"broken-shasum", "do_verify", 1,
			"build failed in do_verify: Checksum invalid for hello-1.0.0.tar.gz: Expected: 1111111111111111111111111111111111111111111111111111111111111111 Computed: fb6c0b2298739a33f3b895485090325eca1aa05932ea0d2ce41a206aaf179778",
			[]string{
				"   broken-shasum: WARN: Checksum invalid for hello-1.0.0.tar.gz:",
				"   broken-shasum: WARN:    Expected: 1111111111111111111111111111111111111111111111111111111111111111",
				"   broken-shasum: WARN:    Computed: fb6c0b2298739a33f3b895485090325eca1aa05932ea0d2ce41a206aaf179778",
			}},
		{"broken-unpack", "do_unpack", 1,
			"build failed in do_unpack: unpack source-1.0.0.tar.gz: read source-1.0.0.tar.gz: gzip: invalid header",
			[]string{"   broken-unpack: Unpacking source-1.0.0.tar.gz"}},
		{"broken-build", "do_build", 1, "build failed in do_build: do_build exited with status 1",
			[]string{"compiling...", "   broken-build: Exiting on error"}},
		{"broken-install", "do_install", 1, "build failed in do_install: do_install exited with status 1", nil},
		{"broken-dependency", "resolve dependencies", 1,
			"build failed in resolve dependencies: Resolving 'habtest/no-such-package' failed, should this be built first?",
			[]string{"   broken-dependency: WARN: Could not find a suitable installed package for 'habtest/no-such-package'"}},
		{"broken-recursion", "do_build", 1,
			"build failed in do_build: " + abs(fixture("broken-recursion")) + "/plan.sh:8: walk: maximum function nesting level exceeded: unbounded recursion?",
			[]string{"   broken-recursion: Exiting on error"}},
		{"broken-version", "load plan", 1,
			"build failed in load plan: " + abs(fixture("broken-version")) + "/plan.sh:6: pkg_version \"../../..\" contains '/'",
			nil},
		{"broken-syntax", "load plan", 1,
			"build failed in load plan: " + abs(fixture("broken-syntax")) + "/plan.sh:9: syntax error: `}` can only be used to close a block",
			nil},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			var out bytes.Buffer
			res, err := Build(context.Background(), fixture(tt.fixture), e.options(&out))
			if err == nil {
				t.Fatalf("built %v", res.Ident)
			}
			var be *Error
			if !errors.As(err, &be) || be.Phase != tt.phase || be.Status != tt.status || err.Error() != tt.err {
				t.Errorf("error = %q (%#v)\nwant  %q in %s with status %d", err, be, tt.err, tt.phase, tt.status)
			}
			if tt.fixture == "broken-dependency" && strings.Contains(out.String(), "hab-plan-build setup") {
				t.Error("a phase ran before the dependencies were resolved")
			}
			if strings.Contains(tt.fixture, "build") && strings.Contains(out.String(), "never reached") {
				t.Error("the phase went on after a failing command")
			}
			for _, l := range tt.output {
				if !strings.Contains(out.String(), l+"\n") {
					t.Errorf("output lacks %q:\n%s", l, out.String())
				}
			}
			assertNothingLeft(t, e, tt.fixture)
			logs, _ := filepath.Glob(filepath.Join(e.work, "results", "logs", "*"+e.lastRelease()+".log"))
			if len(logs) != 1 || !strings.Contains(readFile(t, logs[0]), "Exiting on error") {
				t.Errorf("no complete build log of the failed build: %v", logs)
			}
		})
	}
}

// assertNothingLeft checks that no package, hart or report of name exists.
func assertNothingLeft(t *testing.T, e *env, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(e.root, "hab", "pkgs", "habtest", name)); !os.IsNotExist(err) {
		t.Errorf("a failed build left %s in the store (%v)", name, err)
	}
	for _, dir := range []string{filepath.Join(e.work, "results"), filepath.Join(e.root, "hab", "cache", "artifacts")} {
		m, _ := filepath.Glob(filepath.Join(dir, "*"+name+"*.hart"))
		if len(m) > 0 {
			t.Errorf("a failed build left %v", m)
		}
	}
	if _, err := os.Stat(filepath.Join(e.work, "results", "last_build.env")); err == nil {
		if strings.Contains(readFile(t, filepath.Join(e.work, "results", "last_build.env")), "pkg_name="+name+"\n") {
			t.Errorf("a failed build wrote last_build.env")
		}
	}
}
