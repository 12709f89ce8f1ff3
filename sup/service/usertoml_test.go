package service

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/spec"
	"github.com/habgo/hab/sup/watch"
)

// testPackage installs by hand, under a temporary FS_ROOT, a package
// whose config/message.conf renders cfg.message and whose run hook
// sleeps.
func testPackage(t *testing.T, root string) (*pkgs.Store, *pkgs.Package) {
	t.Helper()
	id := ident.Ident{Origin: "test", Name: "watched", Version: "0.1.0", Release: "20260101000000"}
	store := pkgs.New(paths.Root{FS: root}, ident.X86_64Linux)
	dir := store.PathFor(id)
	svcUser := "hab"
	if os.Geteuid() == 0 {
		svcUser = "root"
	}
	files := map[string]string{
		"IDENT":               id.String() + "\n",
		"TARGET":              "x86_64-linux\n",
		"SVC_USER":            svcUser + "\n",
		"SVC_GROUP":           svcUser + "\n",
		"default.toml":        "message = \"default\"\n",
		"config/message.conf": "{{cfg.message}}\n",
		"hooks/run":           "#!/bin/sh\nexec sleep 1000\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p, err := store.Load(id)
	if err != nil {
		t.Fatal(err)
	}
	return store, p
}

// testOptions are a service's options under root, with a census tick an
// hour long (only watches and the start make the service look again),
// its output going to out; the data directory exists.
func testOptions(t *testing.T, root string, store *pkgs.Store, out io.Writer) Options {
	t.Helper()
	opts := Options{
		Store: store, SvcRoot: filepath.Join(root, "hab", "svc"), UserRoot: filepath.Join(root, "hab", "user"),
		DataDir: filepath.Join(root, "hab", "sup", "default", "data"),
		Ring:    census.NewRing(census.Member{ID: "member"}),
		Sys:     templating.SystemInfo{MemberID: "member", IP: "127.0.0.1"},
		BaseEnv: []string{"PATH=/usr/bin:/bin"}, Getenv: func(string) string { return "" },
		Out: out, OutMu: &sync.Mutex{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		HookTimeout: time.Minute, Tick: time.Hour,
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return opts
}

// syncBuffer is the supervisor's output, read by the test; written
// signals that it grew.
type syncBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	written chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.written <- struct{}{}:
	default:
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestUserTOMLIsWatched runs a real service whose census tick is an hour
// long, so that only the watch of user.toml's directory can make it read
// user.toml again: the directory created after the service started,
// user.toml replaced by rename, edited in place, made invalid (reported,
// the configuration kept) and removed each reach the rendered
// configuration.
func TestUserTOMLIsWatched(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "own watcher", true: "shared watcher"}[shared], func(t *testing.T) {
			testUserTOMLIsWatched(t, shared)
		})
	}
}

func testUserTOMLIsWatched(t *testing.T, shared bool) {
	root := t.TempDir()
	store, pkg := testPackage(t, root)
	out := &syncBuffer{written: make(chan struct{}, 1)}
	opts := testOptions(t, root, store, out)
	if shared {
		w, err := watch.New()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		opts.Watch = w
	}
	s, err := New(opts, spec.New("test/watched"), pkg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	defer func() { cancel(); <-s.Done() }()

	rendered := filepath.Join(opts.SvcRoot, "watched", "config", "message.conf")
	userDir := filepath.Join(opts.UserRoot, "watched", "config")
	userTOML := filepath.Join(userDir, "user.toml")
	// The test waits on the rendered configuration's directory and on
	// the service's output.
	tw, err := watch.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Close()
	renderedDir, err := tw.Watch(filepath.Dir(rendered))
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.NewTimer(30 * time.Second)
		defer deadline.Stop()
		for !ok() {
			select {
			case <-renderedDir.Changed():
			case <-out.written:
			case <-deadline.C:
				t.Fatalf("%s: rendered %q; output:\n%s", what, content(rendered), out.String())
			}
		}
	}
	renders := func(msg string) func() bool { return func() bool { return content(rendered) == msg+"\n" } }
	waitFor("the default", renders("default"))
	for _, step := range []struct {
		name string
		do   func() error
		ok   func() bool
	}{
		{"directory and user.toml created after the start", func() error {
			if err := os.MkdirAll(userDir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(userTOML, []byte("message = \"created\"\n"), 0o644)
		}, renders("created")},
		{"replaced by rename", func() error {
			if err := os.WriteFile(userTOML+".new", []byte("message = \"renamed\"\n"), 0o644); err != nil {
				return err
			}
			return os.Rename(userTOML+".new", userTOML)
		}, renders("renamed")},
		{"edited in place", func() error {
			f, err := os.OpenFile(userTOML, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				return err
			}
			if _, err := f.WriteString("message = \"edited\"\n"); err != nil {
				return err
			}
			return f.Close()
		}, renders("edited")},
		// Renamed into place: written in place, the service might read
		// the emptied file first and render the default.
		{"made invalid", func() error {
			if err := os.WriteFile(userTOML+".new", []byte("message = \n"), 0o644); err != nil {
				return err
			}
			return os.Rename(userTOML+".new", userTOML)
		}, func() bool {
			return strings.Contains(out.String(), "user.toml is not valid TOML, keeping the previous configuration") && content(rendered) == "edited\n"
		}},
		{"removed", func() error { return os.Remove(userTOML) }, renders("default")},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		waitFor(step.name, step.ok)
	}
}

func content(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}
