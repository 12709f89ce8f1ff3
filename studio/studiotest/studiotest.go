// Package studiotest holds what the tests of every studio kind (chroot,
// runc, containerd) share: the hab their studios mount, creating a studio
// for a test, running a script in it, and the benchmarks that measure what a
// studio adds to a build.
package studiotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/habgo/hab/internal/habbin"
	"github.com/habgo/hab/studio"
)

// habDir is where HabBinary builds hab; Run creates and removes it.
var habDir string

// hab builds hab from this tree once per test binary.
var hab = sync.OnceValues(func() (string, error) {
	if habDir == "" {
		return "", errors.New("build hab for the studio tests: TestMain does not call studiotest.Run")
	}
	return habbin.Build(habDir)
})

// Run runs a studio package's tests (its TestMain calls
// os.Exit(studiotest.Run(m))) with a temporary directory for the hab that
// HabBinary builds, and removes that directory afterwards.
func Run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "studio-test-hab-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	habDir = dir
	return m.Run()
}

// HabBinary is the hab, built from this tree on first use, that the
// studios under test mount at /hab/bin/hab (the test binary itself is no
// hab command).
func HabBinary(t testing.TB) string {
	t.Helper()
	bin, err := hab()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// BenchCreateRunRemove measures what a studio adds to a build: lay out a
// studio with open, run true in it, remove it. hab is the binary mounted
// at /hab/bin/hab.
func BenchCreateRunRemove(b *testing.B, open studio.New, hab string) {
	src := b.TempDir()
	ctx := context.Background()
	for b.Loop() {
		s, err := open(filepath.Join(b.TempDir(), "s"), studio.WithMount(src, "/src"), studio.WithHabBinary(hab))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Create(ctx); err != nil {
			b.Fatal(err)
		}
		if code, err := s.Run(ctx, []string{"true"}, studio.Stdio{}); code != 0 || err != nil {
			b.Fatal(code, err)
		}
		if err := s.Remove(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// benchStudio creates a studio with open for a benchmark, removed when it
// ends.
func benchStudio(b *testing.B, open studio.New, hab string) studio.Studio {
	s, err := open(filepath.Join(b.TempDir(), "s"), studio.WithMount(b.TempDir(), "/src"), studio.WithHabBinary(hab))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Create(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Remove(context.Background()) })
	return s
}

// BenchRun measures running true in an existing studio.
func BenchRun(b *testing.B, open studio.New, hab string) {
	ctx := context.Background()
	s := benchStudio(b, open, hab)
	for b.Loop() {
		if code, err := s.Run(ctx, []string{"true"}, studio.Stdio{}); code != 0 || err != nil {
			b.Fatal(code, err)
		}
	}
}

// BenchStop measures how long a studio takes to stop a running command
// once its context is cancelled (the figure the cancellation tests once
// asserted): a command that would run for days, printing a line when it
// starts, is cancelled as soon as that line arrives; the metric
// "ms-to-stop" is the time from the cancel to Run's return.
func BenchStop(b *testing.B, open studio.New, hab string) {
	ctx := context.Background()
	s := benchStudio(b, open, hab)
	var total time.Duration
	for b.Loop() {
		rctx, cancel := context.WithCancel(ctx)
		var at time.Time
		started := &lineWriter{line: func() { at = time.Now(); cancel() }}
		_, err := s.Run(rctx, []string{"sh", "-c", "echo started; exec sleep 864000"}, studio.Stdio{Stdout: started})
		total += time.Since(at)
		cancel()
		if err == nil {
			b.Fatal("a cancelled run returned no error")
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-stop")
}

// lineWriter calls line once, at the first newline written to it.
type lineWriter struct {
	mu   sync.Mutex
	done bool
	line func()
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done && bytes.IndexByte(p, '\n') >= 0 {
		w.done = true
		w.line()
	}
	return len(p), nil
}

// Create creates s and removes it when the test ends, failing the test if
// either goes wrong.
func Create(t testing.TB, s studio.Studio) {
	t.Helper()
	if err := s.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Remove(context.Background()); err != nil {
			t.Errorf("remove studio: %v", err)
		}
	})
}

// Sh runs a shell script in s and returns its status and combined output;
// a failure to run at all fails the test.
func Sh(t testing.TB, s studio.Studio, script string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code, err := s.Run(context.Background(), []string{"sh", "-c", script}, studio.Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("run %q: %v (%s)", script, err, out.String())
	}
	return code, out.String()
}

// Cancel runs a command that would outlast any test in s, runs times (two
// with -short), cancelling each run after a random delay under 400ms, and
// fails the test unless every run reports the cancellation with a non-zero
// status and leaves the host's mount table as it was. check, if not nil, is
// called after each run with its number and delay, for what the kind of
// studio must also have cleaned up.
func Cancel(t *testing.T, s studio.Studio, runs int, check func(i int, delay time.Duration)) {
	t.Helper()
	if testing.Short() {
		runs = 2
	}
	mounts := func() []byte {
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := mounts()
	for i := range runs {
		delay := time.Duration(rand.IntN(400)) * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(delay, cancel)
		code, err := s.Run(ctx, []string{"sleep", "864000"}, studio.Stdio{})
		cancel()
		if !errors.Is(err, context.Canceled) || code == 0 {
			t.Errorf("run %d cancelled after %v: %d %v", i, delay, code, err)
		}
		if check != nil {
			check(i, delay)
		}
		if !bytes.Equal(before, mounts()) {
			t.Fatalf("run %d changed the mount table", i)
		}
	}
}

// HostState describes host paths by what a studio escape would change:
// mode, modification time, content and directory entries; a path that
// cannot be read is described by its error.
func HostState(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", p, err)
			continue
		}
		fmt.Fprintf(&b, "%s %v %d", p, fi.Mode(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			fmt.Fprintf(&b, " %q %v", data, err)
		} else if fi.IsDir() {
			entries, err := os.ReadDir(p)
			fmt.Fprintf(&b, " %v", err)
			for _, e := range entries {
				b.WriteString(" " + e.Name())
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
