package runc_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/habgo/hab/studio/studiotest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/rootfs"
	"github.com/habgo/hab/studio/runc"
)

func TestMain(m *testing.M) {
	os.Exit(studiotest.Run(m))
}

var containersWork = sync.OnceValue(func() string {
	if os.Geteuid() != 0 {
		return "container studios need root; run the tests as root"
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return "runc is not installed (apt-get install runc)"
	}
	dir, err := os.MkdirTemp("", "studio-oci-probe-")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	s, err := runc.New(filepath.Join(dir, "s"))
	if err == nil {
		err = s.Create(context.Background())
	}
	if err != nil {
		return "cannot lay out a studio: " + err.Error()
	}
	var out bytes.Buffer
	if code, err := s.Run(context.Background(), []string{"true"}, studio.Stdio{Stdout: &out, Stderr: &out}); err != nil || code != 0 {
		return fmt.Sprintf("runc cannot run containers here: %d %v: %s", code, err, out.String())
	}
	return ""
})

func newStudio(t *testing.T, src string, opts ...studio.Option) *runc.Studio {
	t.Helper()
	if why := containersWork(); why != "" {
		t.Skip(why)
	}
	root := filepath.Join(t.TempDir(), "hab", "studios", rootfs.DirName(src))
	opts = append([]studio.Option{studio.WithMount(src, "/src"), studio.WithHabBinary(studiotest.HabBinary(t))}, opts...)
	s, err := runc.New(root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	studiotest.Create(t, s)
	return s
}

func sh(t *testing.T, s *runc.Studio, script string) (int, string) {
	t.Helper()
	return studiotest.Sh(t, s, script)
}

func TestSpecHasNoRlimits(t *testing.T) {
	root := t.TempDir()
	cfg := studio.NewConfig(studio.WithMount(root, "/src"), studio.WithNetwork(false))
	plan, err := rootfs.MakePlan(root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec := runc.Spec(root, plan, cfg, []string{"true"}, false)
	if spec.Process.Rlimits != nil {
		t.Errorf("spec carries rlimits: %v", spec.Process.Rlimits)
	}
	var kinds []string
	for _, ns := range spec.Linux.Namespaces {
		kinds = append(kinds, string(ns.Type))
	}
	if got := strings.Join(kinds, " "); got != "pid mount uts ipc network" {
		t.Errorf("namespaces %q", got)
	}
	var src bool
	for _, m := range spec.Mounts {
		if m.Destination == "/src" && m.Source == root && m.Type == "bind" {
			src = true
		}
	}
	if !src || spec.Process.Cwd != "/src" {
		t.Errorf("spec lacks the /src mount or working directory: %+v", spec)
	}
}

func TestContainer(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("in the container\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "marker")
	os.WriteFile(marker, []byte("host"), 0o644)
	host, _ := os.Readlink("/proc/self/ns/pid")
	s := newStudio(t, src, studio.WithNetwork(false), studio.WithEnv(studio.Environ([]string{"HAB_STUDIO_SECRET_TOKEN=s3cret", "OTHER=x"}, "default")))
	tests := []struct{ name, script, want string }{
		{"hab", "hab --version", "hab "},
		{"source", "cat /src/file", "in the container\n"},
		{"hostname", "hostname", "studio\n"},
		{"pid namespace", "readlink /proc/self/ns/pid | grep -vx '" + host + "'", "pid:"},
		{"no network", "ls /sys/class/net | tr '\\n' ' '", "lo "},
		{"host file hidden", "cat " + marker + " 2>/dev/null || echo hidden", "hidden\n"},
		{"bundle hidden", "ls -A /.oci 2>/dev/null | wc -l", "0\n"},
		{"secret", "echo $TOKEN ${OTHER:-unset}", "s3cret unset\n"},
		{"private /tmp", "ls -A /tmp | wc -l", "0\n"},
		{"/sys read-only", "(touch /sys/x) 2>/dev/null || echo refused", "refused\n"},
		{"status", "exit 7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := sh(t, s, tt.script)
			if tt.name == "status" {
				if code != 7 {
					t.Errorf("status %d, want 7", code)
				}
				return
			}
			if code != 0 || !strings.HasPrefix(out, tt.want) {
				t.Errorf("status %d, output %q, want %q", code, out, tt.want)
			}
		})
	}
}

func TestContainerCancel(t *testing.T) {
	s := newStudio(t, t.TempDir())
	studiotest.Cancel(t, s, 5, nil)
	entries, _ := os.ReadDir(runc.BundleDir(s.Root()))
	for _, e := range entries {
		if e.Name() != "runc" {
			t.Errorf("bundle %s left behind", e.Name())
		}
	}
}

func TestContainerID(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$`)
	tests := []struct{ root, prefix string }{
		{"/hab/studios/src", "hab-studio-src-"},
		{"/hab/studios/tmp--TestX--001", "hab-studio-tmp-TestX-001-"},
		{"/hab/studios/home--me--my-plan_v1.2", "hab-studio-home-me-my-plan-v1-2-"},
		{"/hab/studios/--", "hab-studio-"},
		{"/hab/studios/" + strings.Repeat("ab-", 30), "hab-studio-b-ab-"},
	}
	for _, tt := range tests {
		id, err := runc.ContainerID(tt.root)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, tt.prefix) || !valid.MatchString(id) || len(id) > 76 {
			t.Errorf("ContainerID(%q) = %q, want %q and a valid containerd identifier", tt.root, id, tt.prefix+"…")
		}
		if again, _ := runc.ContainerID(tt.root); again == id {
			t.Errorf("ContainerID(%q) gave %q twice", tt.root, id)
		}
	}
}
