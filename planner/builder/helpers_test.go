package builder

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/paths"
)

// env is a test build environment: a temporary FS_ROOT, key cache and
// work directory, with a signing key for the habtest origin.
type env struct {
	t       testing.TB
	root    string
	keys    crypto.Cache
	work    string
	release atomic.Int64
	extra   []string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	tmp := t.TempDir()
	e := &env{t: t, root: filepath.Join(tmp, "root"), keys: crypto.Cache{Dir: filepath.Join(tmp, "keys")}, work: filepath.Join(tmp, "work")}
	for _, d := range []string{e.root, e.keys.Dir, e.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.keys.NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	e.release.Store(20260101000000)
	return e
}

func (e *env) nextRelease() string {
	return strconv.FormatInt(e.release.Add(1), 10)
}

// fastHart compresses lightly: the tests are about the build.
var fastHart = hart.WriteOptions{Level: 1}

func (e *env) options(out *bytes.Buffer) Options {
	if out == nil {
		out = &bytes.Buffer{}
	}
	return Options{
		Root:    paths.At(e.root),
		Env:     append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.work, "TERM=dumb"}, e.extra...),
		Release: e.nextRelease(),
		WorkDir: e.work,
		Keys:    e.keys,
		Output:  out,
		Hart:    fastHart,
	}
}

// build builds a plan context and fails the test when it fails.
func (e *env) build(dir string) *Result {
	e.t.Helper()
	var out bytes.Buffer
	res, err := Build(context.Background(), dir, e.options(&out))
	if err != nil {
		e.t.Fatalf("build %s: %v\n%s", dir, err, out.String())
	}
	return res
}

// fixture is the path of a fixture plan context.
func fixture(name string) string {
	return filepath.Join("..", "..", "fixtures", name)
}

// writePlan writes a plan context with the given files into a new
// temporary directory.
func writePlan(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "hooks/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// lastRelease is the release of the last options() call.
func (e *env) lastRelease() string { return strconv.FormatInt(e.release.Load(), 10) }
