package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/studio/rootfs"
	"github.com/habgo/hab/studio/studiotest"
)

// TestStudioPlantedLinks (issue 7, item 1): a build inside a studio
// replaces paths the host prepares by links to a host directory or file;
// the next hab studio new, run, enter or hab pkg build -R leaves the host
// paths exactly as they were, and either repairs the studio without
// following the link or refuses it, naming the path.
func TestStudioPlantedLinks(t *testing.T) {
	bin := needStudioRoot(t)
	tests := []struct {
		link    string
		toFile  bool
		refused bool
	}{
		{"/var/tmp", false, true},
		{"/etc/hosts.tmp", true, false},
		{"/etc/hosts", true, false},
		{"/etc", false, true},
		{"/dev", false, true},
		{"/tmp", false, true},
		{"/hab/cache", false, true}, // a middle component of a mount point
	}
	commands := [][]string{
		{"studio", "new"},
		{"studio", "run", "true"},
		{"studio", "enter"},
		{"pkg", "build", "-R", "plain"},
	}
	if _, err := exec.LookPath("runc"); err == nil {
		commands = append(commands, []string{"studio", "-D", "run", "true"}, []string{"pkg", "build", "-D", "-R", "plain"})
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.link, "/", "_"), func(t *testing.T) {
			src := t.TempDir()
			writePlans(t, src, map[string]string{"plain": "pkg_name=plain\npkg_origin=habtest\npkg_version=1.0.0\ndo_build() { return 0; }\ndo_install() { return 0; }\n"})
			env := pkgBuildEnv(t, bin, src)
			root := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))
			host := t.TempDir()
			hostFile := filepath.Join(host, "precious")
			if err := os.WriteFile(hostFile, []byte("host\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(host, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range commands {
				t.Run(strings.Join(cmd, "_"), func(t *testing.T) {
					if code, _, stderr := studioCLI(t, "", env, "studio", "new"); code != 0 {
						t.Fatalf("hab studio new: %d %s", code, stderr)
					}
					// What a build inside can do as root.
					p := filepath.Join(root, tt.link)
					if err := os.RemoveAll(p); err != nil {
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
					code, stdout, stderr := studioCLI(t, "exit\n", env, cmd...)
					if after := studiotest.HostState(host, hostFile); after != before {
						t.Errorf("hab %v changed the host through %s:\n%s\n%s", cmd, tt.link, before, after)
					}
					switch {
					case tt.refused && (code == 0 || !strings.Contains(stderr, tt.link)):
						t.Errorf("hab %v with %s linked out: exit %d, the error does not name it:\n%s", cmd, tt.link, code, stderr)
					case !tt.refused && code != 0:
						t.Errorf("hab %v with %s linked out: exit %d\n%s%s", cmd, tt.link, code, stdout, stderr)
					}
					if code, _, stderr := studioCLI(t, "", env, "studio", "rm"); code != 0 {
						t.Fatalf("hab studio rm: %d %s", code, stderr)
					}
				})
			}
		})
	}
}
