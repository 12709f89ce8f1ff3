package rootfs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/rootfs"
	"github.com/habgo/hab/studio/studiotest"
)

// TestPlantedLinksAreNotFollowed plants, inside a studio, links to a host
// directory and a host file in every place the host side creates,
// changes or writes (issue 7, item 1), then prepares the studio again (what
// new, enter, run and build -R do) and makes a run's plan: the host paths
// stay exactly as they were, and the studio is either repaired without
// following the link or refused with an error naming it.
func TestPlantedLinksAreNotFollowed(t *testing.T) {
	tests := []struct {
		link    string // planted at this path inside the studio
		toFile  bool   // pointing at the host file (else the host directory)
		refused bool   // the studio is refused (else repaired)
		run     bool   // a run is refused too (a mount point, or the marker)
	}{
		{link: "/var/tmp", refused: true},            // chmod 1777 would open the host directory
		{run: true, link: "/tmp", refused: true},     // a mount point and a chmod
		{run: true, link: "/etc", refused: true},     // every /etc file is written in it
		{link: "/etc/hosts.tmp", toFile: true},       // the old temporary name: now never used
		{link: "/etc/hosts", toFile: true},           // replaced, not written through
		{link: "/etc/passwd", toFile: true},          // likewise
		{link: "/etc/resolv.conf", toFile: true},     // likewise
		{run: true, link: "/dev", refused: true},     // a mount point
		{run: true, link: "/proc", refused: true},    // a mount point
		{link: "/hab/cache/keys", refused: true},     // the secret key import
		{link: "/hab/cache", refused: true},          // a middle component
		{run: true, link: "/hab", refused: true},     // a middle component of several
		{run: true, link: "/hab/bin", refused: true}, // the hab binary's file mount point
		{link: "/root", refused: true},               // chmod 0750
		{link: "/var", refused: true},
		{link: "/hab/pkgs/core", refused: true},                        // where the backline is installed
		{link: "/hab/pkgs/habtest/x/1.0.0", refused: true},             // a deeper level                                  // a middle component
		{run: true, link: "/src", refused: true},                       // the source mount point
		{run: true, link: "/hab/bin/hab", toFile: true, refused: true}, // a file mount point
		{run: true, link: "/" + rootfs.MarkerFile, toFile: true, refused: true},
	}
	keys := t.TempDir()
	if _, _, err := (crypto.Cache{Dir: keys}).NewSigningPair("escape", time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.link, "/", "_"), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "studio")
			host := t.TempDir()
			hostFile := filepath.Join(host, "precious")
			if err := os.WriteFile(hostFile, []byte("host data\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(host, 0o700); err != nil {
				t.Fatal(err)
			}
			cfg := studio.NewConfig(studio.WithMount(t.TempDir(), "/src"), studio.WithHabBinary("/proc/self/exe"),
				studio.WithHostTools(), studio.WithOriginKeys(keys, "escape"))
			ctx := context.Background()
			if _, err := rootfs.Prepare(ctx, root, cfg); err != nil {
				t.Fatal(err)
			}
			// What a build inside the studio can do as root: replace a
			// path by a link out of the root.
			p := filepath.Join(root, tt.link)
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			to := host
			if tt.toFile {
				to = hostFile
			}
			if err := os.Symlink(to, p); err != nil {
				t.Fatal(err)
			}
			before := studiotest.HostState(host, hostFile)

			_, perr := rootfs.Prepare(ctx, root, cfg)
			_, rerr := rootfs.ForRun(root, cfg)
			if after := studiotest.HostState(host, hostFile); after != before {
				t.Errorf("the host changed through %s:\nbefore %s\nafter  %s", tt.link, before, after)
			}
			for what, err := range map[string]error{"prepare": perr, "run": rerr} {
				refused := tt.refused && (what == "prepare" || tt.run)
				switch {
				case refused && err == nil:
					t.Errorf("%s: a studio with %s linked out of it was not refused", what, tt.link)
				case refused && !strings.Contains(err.Error(), tt.link) && !strings.Contains(err.Error(), "not appear to be a studio"):
					t.Errorf("%s: the error does not name %s: %v", what, tt.link, err)
				case !refused && err != nil:
					t.Errorf("%s: %v", what, err)
				}
			}
			if !tt.refused && tt.link != "/etc/hosts.tmp" {
				if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
					t.Errorf("%s not replaced by a file of the studio: %v %v", tt.link, fi.Mode(), err)
				}
			}
		})
	}
}

// TestHandOverFollowsNoLink: the source tree a build wrote may hold links
// to host paths (a file, a directory, a middle component); handing the
// tree to the sudo user changes none of the host's owners.
func TestHandOverFollowsNoLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	src := t.TempDir()
	host := t.TempDir()
	hostFile := filepath.Join(host, "f")
	if err := os.WriteFile(hostFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(src, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	for name, to := range map[string]string{"results": host, "file-link": hostFile, "dangling": filepath.Join(host, "none")} {
		if err := os.Symlink(to, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "made-by-root"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rootfs.HandOver(src, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{host, hostFile} {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil || st.Uid != 0 {
			t.Errorf("host %s handed over through a link: uid %d %v", p, st.Uid, err)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(src, "made-by-root"), &st); err != nil || st.Uid != 4321 {
		t.Errorf("the build's file was not handed over: uid %d %v", st.Uid, err)
	}
}

// TestBacklineLinksFollowNoLink: the backline's /bin/sh, /bin/bash and
// /usr/bin/env go into directories made beneath the root: a /usr linked
// to a host directory is refused (the links would replace the host's
// /usr/bin/env), a /bin linked out is replaced by a directory, and the
// host is left as it was.
func TestBacklineLinksFollowNoLink(t *testing.T) {
	const id = "habtest/fakeline/1.0.0/20260101000000"
	for _, tt := range []struct {
		link    string
		refused bool
	}{{"/usr", true}, {"/usr/bin", true}, {"/bin", false}} {
		t.Run(strings.ReplaceAll(tt.link, "/", "_"), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "studio")
			prefix := filepath.Join(root, "hab", "pkgs", id)
			files := map[string]string{"IDENT": id + "\n", "TARGET": "x86_64-linux\n", "PATH": "/hab/pkgs/" + id + "/bin\n", "bin/sh": "#!/bin/sh\n", "bin/env": "#!/bin/sh\n"}
			for name, content := range files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(prefix, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(prefix, name), []byte(content), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, rootfs.MarkerFile), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := studio.NewConfig(studio.WithHabBinary("/proc/self/exe"), studio.WithBackline(studio.Backline{Ident: "habtest/fakeline"}))
			ctx := context.Background()
			plan, err := rootfs.Prepare(ctx, root, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Path == "" {
				t.Fatal("the fake backline was not found")
			}
			host := t.TempDir()
			if err := os.MkdirAll(filepath.Join(host, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root, tt.link)
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(host, p); err != nil {
				t.Fatal(err)
			}
			before := studiotest.HostState(host, filepath.Join(host, "bin"))
			_, err = rootfs.Prepare(ctx, root, cfg)
			if after := studiotest.HostState(host, filepath.Join(host, "bin")); after != before {
				t.Errorf("the host changed through %s:\n%s\n%s", tt.link, before, after)
			}
			switch {
			case tt.refused && (err == nil || !strings.Contains(err.Error(), tt.link)):
				t.Errorf("%s linked out: %v", tt.link, err)
			case !tt.refused && err != nil:
				t.Errorf("%s linked out: %v", tt.link, err)
			case !tt.refused:
				if l, err := os.Readlink(filepath.Join(root, "bin", "sh")); err != nil || l != "/hab/pkgs/"+id+"/bin/sh" {
					t.Errorf("/bin/sh: %q %v", l, err)
				}
			}
		})
	}
}
