package tar_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	hartar "github.com/habgo/hab/exporters/tar"

	"github.com/habgo/hab/exporters/internal/exptest"
)

// TestTarUnpacksAndRuns: the tarball unpacks with tar into an empty root,
// where hab/bin/hab runs and finds the exported package and its closure
// in that root's store (under chroot, as root).
func TestTarUnpacksAndRuns(t *testing.T) {
	e := exptest.New(t)
	e.Build("sh")
	wr := e.Build("wrapper")
	out := t.TempDir()
	// From a hart: verified and installed with its dependency from the
	// artifact cache.
	path, err := hartar.Export(context.Background(), hartar.Request{Arg: wr.Artifact, Gather: e.Gather(), OutDir: out, WorkDir: e.Work})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(out, "habtest-wrapper-"+wr.Ident.Version+"-"+wr.Ident.Release+".tar.gz"); path != want {
		t.Errorf("tarball %s, want %s", path, want)
	}
	root := t.TempDir()
	exptest.Run(t, "tar", "-xzf", path, "-C", root)
	for _, f := range []string{"hab/bin/hab", "hab/pkgs/habtest/wrapper", "hab/pkgs/habtest/sh", "hab/pkgs/core/busybox-static", "hab/pkgs/core/hab"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("unpacked tarball lacks %s: %v", f, err)
		}
	}
	if v := exptest.Run(t, filepath.Join(root, "hab/bin/hab"), "--version"); !strings.Contains(v, "hab") {
		t.Errorf("hab --version: %q", v)
	}
	// Twice gives the same bytes.
	again, err := hartar.Export(context.Background(), hartar.Request{Arg: wr.Ident.String(), Gather: e.Gather(), OutDir: t.TempDir(), WorkDir: e.Work})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(again)
	if string(a) != string(b) {
		t.Error("two exports of one package differ (from the hart, then from the store)")
	}
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	cmd := exec.Command("chroot", root, "/hab/bin/hab", "pkg", "path", "habtest/wrapper")
	got, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "/hab/pkgs/"+strings.Join(wr.Ident.Parts(), "/") {
		t.Errorf("hab pkg path in the unpacked root: %q %v", got, err)
	}
}

// TestTarServiceRunsInChroot: the service fixture's tarball, unpacked into
// an empty root, runs under `/hab/bin/hab sup run IDENT` in a chroot (its
// own mount and PID namespaces, /dev and /proc mounted). Besides the
// tarball the root gets only what the documentation asks of the machine:
// its accounts (root, and the hab user and group it says to create) and
// its shell, /bin/sh (here the tarball's own busybox), as the service's
// scripts start with #!/bin/sh. The service (built in a studio, so its
// paths are /hab/...; busybox's httpd serves, as the root has no perl)
// answers on its port with the message of the user.toml the test wrote.
func TestTarServiceRunsInChroot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot and mounts need root")
	}
	e := exptest.New(t)
	svc := e.BuildInStudio("service")
	path, err := hartar.Export(context.Background(), hartar.Request{Arg: svc.Artifact, Gather: e.Gather(), OutDir: t.TempDir(), WorkDir: e.Work})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	exptest.Run(t, "tar", "-xzf", path, "-C", root)
	bbs, _ := filepath.Glob(filepath.Join(root, "hab/pkgs/core/busybox-static/*/*/bin/busybox"))
	if len(bbs) != 1 {
		t.Fatalf("busybox in the tarball: %v", bbs)
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for f, content := range map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nhab:x:42:42:hab:/:/bin/false\n",
		"etc/group":  "root:x:0:\nhab:x:42:hab\n",
	} {
		if err := os.WriteFile(filepath.Join(root, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(strings.TrimPrefix(bbs[0], root), filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	svcPort := exptest.FreePort(t)
	const message = "answered from the chroot"
	exptest.ServiceUserTOML(t, root, svcPort, message)
	port := exptest.FreePort(t)
	script := fmt.Sprintf("mount --rbind /dev %[1]s/dev && mount -t proc proc %[1]s/proc && exec chroot %[1]s /hab/bin/hab sup run habtest/service "+
		"--listen-http 127.0.0.1:%[2]d --listen-gossip 127.0.0.1:%[3]d --listen-ctl 127.0.0.1:%[4]d", root, port, exptest.FreePort(t), exptest.FreePort(t))
	p := exptest.Start(t, exec.Command("unshare", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c", script), nil)
	exptest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/services", port), p.Done, p.Output, `"`+svc.Ident.String()+`"`, `"desired_state":"Up"`)
	if body := exptest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", svcPort), p.Done, p.Output, message); body != message+"\n" {
		t.Errorf("the service answered %q, want %q", body, message+"\n")
	}
}

// TestTarErrors: a package that is not there fails naming it and writes
// nothing.
func TestTarErrors(t *testing.T) {
	e := exptest.New(t)
	out := t.TempDir()
	_, err := hartar.Export(context.Background(), hartar.Request{Arg: "habtest/nothing", Gather: e.Gather(), OutDir: out, WorkDir: e.Work})
	if err == nil || !strings.Contains(err.Error(), "habtest/nothing") {
		t.Fatalf("export of a missing package: %v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("left %v", ents)
	}
}
