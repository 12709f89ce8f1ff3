package backline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/backline"
)

// hostState describes host paths by what an escape would change: mode,
// modification time, content and directory entries (recursively).
func hostState(t *testing.T, paths ...string) string {
	t.Helper()
	var b strings.Builder
	for _, top := range paths {
		filepath.Walk(top, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", p, err)
				return nil
			}
			fmt.Fprintf(&b, "%s %v %d", p, fi.Mode(), fi.ModTime().UnixNano())
			if fi.Mode().IsRegular() {
				data, _ := os.ReadFile(p)
				fmt.Fprintf(&b, " %q", data)
			}
			b.WriteByte('\n')
			return nil
		})
	}
	return b.String()
}

// plantedStudio is a studio root with links planted at each of links
// (path inside the root -> host target), and the host directory and
// file they may point at.
func plantedStudio(t *testing.T, links map[string]string) (root, hostDir, hostFile string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "studio")
	hostDir = filepath.Join(base, "host")
	hostFile = filepath.Join(base, "host-file")
	for _, d := range []string{root, filepath.Join(hostDir, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(hostFile, []byte("host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(links))
	for n := range links {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		to := strings.NewReplacer("HOSTDIR", hostDir, "HOSTFILE", hostFile).Replace(links[name])
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
	}
	return root, hostDir, hostFile
}

// TestInstallFollowsNoPlantedLink plants, inside a studio, links to a
// host directory in every place installing the backline creates
// directories, renames packages or writes keys (what a build running in
// the studio meanwhile could swap in), and installs the backline, from
// harts and from installed packages: the host directory and file stay
// exactly as they were, and the install either succeeds without
// following the link or fails naming it.
func TestInstallFollowsNoPlantedLink(t *testing.T) {
	needRoot(t) // the installed packages belong to root
	fh := fixtures(t)
	h := newHost(t, true)
	sources := map[string]studio.Backline{
		"harts":     h.backline(),
		"installed": {Ident: "habtest/hab-backline", HostRoot: fh.buildRoot, ArtifactCache: t.TempDir()},
	}
	tests := []struct {
		name  string
		links map[string]string
		ok    bool   // installs (the link is not in the way), else refused
		names string // the link the error names
	}{
		{"hab", map[string]string{"hab": "HOSTDIR"}, false, "/hab"},
		{"hab/pkgs", map[string]string{"hab/pkgs": "HOSTDIR"}, false, "/hab/pkgs"},
		{"origin", map[string]string{"hab/pkgs/habtest": "HOSTDIR"}, false, "/hab/pkgs/habtest"},
		{"name", map[string]string{"hab/pkgs/habtest/busybox": "HOSTDIR"}, false, "/hab/pkgs/habtest/busybox"},
		{"version, relative", map[string]string{"hab/pkgs/habtest/hab-backline/1.0.0": "../../../../../host"}, false, "/hab/pkgs/habtest/hab-backline/1.0.0"},
		{"release", map[string]string{"hab/pkgs/habtest/busybox/1.0.0/20260101000000": "HOSTDIR/sub"}, false, "20260101000000"},
		{"key cache", map[string]string{"hab/cache/keys": "HOSTDIR"}, false, "/hab/cache/keys"},
		{"key file", map[string]string{"hab/cache/keys/habtest-20260101000000.pub": "HOSTFILE"}, true, ""},
		{"dangling release", map[string]string{"hab/pkgs/habtest/busybox/1.0.0/20260101000000": "HOSTDIR/new"}, false, "20260101000000"},
	}
	for srcName, b := range sources {
		for _, tt := range tests {
			if srcName == "installed" && strings.HasPrefix(tt.name, "key") {
				continue // copying installed packages imports no key
			}
			t.Run(srcName+"/"+tt.name, func(t *testing.T) {
				root, hostDir, hostFile := plantedStudio(t, tt.links)
				before := hostState(t, hostDir, hostFile)
				p, err := backline.Install(context.Background(), root, b)
				if after := hostState(t, hostDir, hostFile); after != before {
					t.Errorf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				if tt.ok {
					if err != nil {
						t.Fatalf("install: %v", err)
					}
					if p.Ident.String() != "habtest/hab-backline/1.0.0/20260101000001" {
						t.Errorf("installed %s", p.Ident)
					}
					return
				}
				if err == nil {
					t.Fatalf("installed through the planted link %v", tt.links)
				}
				if errors.Is(err, backline.ErrNotFound) {
					t.Errorf("a planted link is not a missing backline: %v", err)
				}
				if !strings.Contains(err.Error(), tt.names) {
					t.Errorf("error %q does not name %s", err, tt.names)
				}
				// Nothing is left staged beside the studio.
				if left, _ := filepath.Glob(filepath.Join(filepath.Dir(root), ".studio.backline-*")); len(left) > 0 {
					t.Errorf("staging left: %v", left)
				}
			})
		}
	}
}

// TestLinkFollowsNoPlantedLink: the /bin/sh, /bin/bash and /usr/bin/env
// links are made without following links planted at their directories,
// their names or the temporary names beside them: the host stays as it
// was; a link at /bin or /usr/bin gives way to a directory, one at /usr
// is refused naming it.
func TestLinkFollowsNoPlantedLink(t *testing.T) {
	tests := []struct {
		name  string
		links map[string]string
		err   string // the error names this, else Link succeeds
	}{
		{"bin to a host dir", map[string]string{"bin": "HOSTDIR"}, ""},
		{"usr/bin to a host dir", map[string]string{"usr/bin": "HOSTDIR"}, ""},
		{"usr to a host dir", map[string]string{"usr": "HOSTDIR"}, "/usr"},
		{"sh to a host file", map[string]string{"bin/sh": "HOSTFILE"}, ""},
		{"sh.tmp to a host file", map[string]string{"bin/sh.tmp": "HOSTFILE", "usr/bin/env.tmp": "HOSTDIR"}, ""},
		{"env to a host dir", map[string]string{"usr/bin/env": "HOSTDIR"}, ""},
		{"PATH directory is a link", map[string]string{"p": "HOSTDIR"}, "no sh nor bash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, hostDir, hostFile := plantedStudio(t, tt.links)
			if _, ok := tt.links["p"]; !ok {
				for _, prog := range []string{"sh", "env"} {
					f := filepath.Join(root, "p", "bin", prog)
					if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(f, []byte("#!x\n"), 0o755); err != nil {
						t.Fatal(err)
					}
				}
			} else if err := os.WriteFile(filepath.Join(hostDir, "sh"), []byte("#!host\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			before := hostState(t, hostDir, hostFile)
			err := backline.Link(root, "/hab/bin:/p/bin:/p")
			if after := hostState(t, hostDir, hostFile); after != before {
				t.Errorf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Link: %v, want an error naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for link, want := range map[string]string{"bin/sh": "/p/bin/sh", "usr/bin/env": "/p/bin/env"} {
				if got, err := os.Readlink(filepath.Join(root, link)); err != nil || got != want {
					t.Errorf("/%s -> %q (%v), want %q", link, got, err, want)
				}
			}
		})
	}
}
