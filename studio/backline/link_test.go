package backline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/backline"
)

// TestLink: /bin/sh goes to sh, else bash; /bin/bash and /usr/bin/env only
// when provided; a symlinked /bin (the host fallback's layout) becomes a
// directory; no shell at all is an error naming the PATH.
func TestLink(t *testing.T) {
	tests := []struct {
		name    string
		bins    map[string][]string // PATH directory -> programs
		oldBin  bool                // root/bin is a symlink to usr/bin
		want    map[string]string   // link -> target ("" for absent)
		wantErr string
	}{
		{"busybox", map[string][]string{"/p/bb/bin": {"sh", "env"}}, false,
			map[string]string{"/bin/sh": "/p/bb/bin/sh", "/bin/bash": "", "/usr/bin/env": "/p/bb/bin/env"}, ""},
		{"bash and coreutils", map[string][]string{"/p/bash/bin": {"bash"}, "/p/cu/bin": {"env"}}, true,
			map[string]string{"/bin/sh": "/p/bash/bin/bash", "/bin/bash": "/p/bash/bin/bash", "/usr/bin/env": "/p/cu/bin/env"}, ""},
		{"first on the PATH wins", map[string][]string{"/p/a/bin": {"sh"}, "/p/b/bin": {"sh", "bash"}}, false,
			map[string]string{"/bin/sh": "/p/a/bin/sh", "/bin/bash": "/p/b/bin/bash"}, ""},
		{"no shell", map[string][]string{"/p/cu/bin": {"env"}}, false, nil, "no sh nor bash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			var path []string
			for _, d := range []string{"/p/a/bin", "/p/b/bin", "/p/bb/bin", "/p/bash/bin", "/p/cu/bin"} {
				progs, ok := tt.bins[d]
				if !ok {
					continue
				}
				path = append(path, d)
				for _, p := range progs {
					f := filepath.Join(root, d, p)
					if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(f, []byte("#!x\n"), 0o755); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tt.oldBin {
				if err := os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
					t.Fatal(err)
				}
			}
			err := backline.Link(root, "/hab/bin:"+strings.Join(path, ":"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "/p/cu/bin") {
					t.Fatalf("Link: %v, want an error with %q naming the PATH", err, tt.wantErr)
				}
				if _, err := os.Lstat(filepath.Join(root, "bin", "sh")); !os.IsNotExist(err) {
					t.Errorf("a failed Link made /bin/sh (%v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Lstat(filepath.Join(root, "bin")); err != nil || !fi.IsDir() {
				t.Errorf("/bin is not a directory: %v %v", fi, err)
			}
			for link, want := range tt.want {
				got, err := os.Readlink(filepath.Join(root, link))
				if want == "" {
					if !os.IsNotExist(err) {
						t.Errorf("%s -> %q (%v), want no link", link, got, err)
					}
					continue
				}
				if err != nil || got != want {
					t.Errorf("%s -> %q (%v), want %q", link, got, err, want)
				}
			}
			// Idempotent.
			if err := backline.Link(root, "/hab/bin:"+strings.Join(path, ":")); err != nil {
				t.Errorf("second Link: %v", err)
			}
		})
	}
}

func TestWhere(t *testing.T) {
	tests := []struct {
		b    studio.Backline
		want string
	}{
		{studio.Backline{}, "the backline package core/hab-backline (set HAB_STUDIO_BACKLINE_PKG to choose another) was not found in /s/hab/pkgs"},
		{studio.Backline{Ident: "a/b", HostRoot: "/h", ArtifactCache: "/c"},
			"the backline package a/b (set HAB_STUDIO_BACKLINE_PKG to choose another) was found neither in /s/hab/pkgs nor in /h/hab/pkgs nor in harts in /c"},
	}
	for _, tt := range tests {
		if got := backline.Where("/s", tt.b); got != tt.want {
			t.Errorf("Where(%+v) = %q, want %q", tt.b, got, tt.want)
		}
	}
}
