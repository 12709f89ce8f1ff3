package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/studio/containerd"
	"github.com/habgo/hab/studio/containerd/containerdtest"
	"github.com/habgo/hab/studio/rootfs"
	"github.com/habgo/hab/studio/runc"
)

// TestStudioContainerd: with -D, CONTAINERD_ADDRESS (or
// --containerd-address) makes hab studio run its container through that
// containerd (seen in the daemon's events), statuses pass through, and an
// address where nothing listens is an error naming it.
func TestStudioContainerd(t *testing.T) {
	if why := containerdtest.Why(); why != "" {
		t.Skip(why)
	}
	bin := needStudioRoot(t)
	address := containerdtest.Start(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(marker, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := studioTestEnv(t, bin, src)
	env["CONTAINERD_ADDRESS"] = address
	root := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := containerd.Connect(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	events, _ := c.Subscribe(ctx, `topic=="/containers/create"`)

	code, stdout, stderr := studioCLI(t, "", env, "studio", "run", "-D", "cat", "/src/file", "&&", "hab", "--version", "&&", "(cat "+marker+" 2>/dev/null || echo hidden)")
	if code != 0 || !strings.HasPrefix(stdout, "source\nhab "+version+"\n") || !strings.HasSuffix(stdout, "\nhidden\n") {
		t.Errorf("hab studio run -D: %d %q %q", code, stdout, stderr)
	}
	select {
	case e := <-events:
		t.Logf("containerd event %s in namespace %s", e.Topic, e.Namespace)
		if e.Namespace != containerd.Namespace {
			t.Errorf("container created in namespace %q, want %q", e.Namespace, containerd.Namespace)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("hab studio run -D with CONTAINERD_ADDRESS created no container in the containerd at %s", address)
	}
	if _, err := os.Stat(filepath.Join(runc.BundleDir(root), "runc")); err == nil {
		t.Errorf("runc ran the studio: its state is in %s", filepath.Join(runc.BundleDir(root), "runc"))
	}

	code, _, stderr = studioCLI(t, "", env, "studio", "run", "-D", "exit", "3")
	if code != 3 {
		t.Errorf("hab studio run -D exit 3: status %d (%s)", code, stderr)
	}
	ctrs, err := c.Containers(ctx)
	if err != nil || len(ctrs) != 0 {
		t.Errorf("containers left in containerd: %v %v", ctrs, err)
	}

	missing := filepath.Join(t.TempDir(), "nothing.sock")
	for _, tt := range []struct {
		name string
		env  string
		args []string
	}{
		{"env", missing, []string{"studio", "run", "-D", "true"}},
		{"flag", "", []string{"studio", "run", "-D", "--containerd-address", missing, "true"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := studioTestEnv(t, bin, src)
			env["CONTAINERD_ADDRESS"] = tt.env
			code, _, stderr := studioCLI(t, "", env, tt.args...)
			if code == 0 || !strings.Contains(stderr, "containerd at "+missing+": nothing listens there") {
				t.Errorf("hab %s with nothing at %s: %d %q", strings.Join(tt.args, " "), missing, code, stderr)
			}
		})
	}
}
