package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/habgo/hab/internal/habbin"
	"github.com/habgo/hab/studio/pkgbuild"
)

// TestDepotShareAndInstall is the flow of the README with real processes:
// the fixtures/hello chain built by the planner (hab plan build), a depot
// served in the background (hab depot serve) with a token from hab depot
// token create, hab origin create, hab origin key upload, hab pkg upload
// (the dependencies come along from beside the hart), hab pkg promote ...
// stable, then hab pkg install of hello into an empty FS_ROOT with an
// empty key cache, from the depot, and hello runs.
func TestDepotShareAndInstall(t *testing.T) {
	for _, tool := range []string{"gcc", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the fixture compiles C code", tool)
		}
	}
	bin, err := habbin.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	root := filepath.Join(base, "root") // where hello is built, then installed
	src := copyFixtures(t, "greetdata", "libgreet", "hello")
	env := map[string]string{
		"FS_ROOT":            root,
		"HAB_CACHE_KEY_PATH": filepath.Join(base, "keys"),
		"HOME":               filepath.Join(base, "home"),
		"HAB_ORIGIN":         "habtest",
		"HAB_BLDR_URL":       "",
		"HAB_DEPOT_URL":      "",
		"HAB_AUTH_TOKEN":     "",
		"HAB_BLDR_CHANNEL":   "",
	}
	hab := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("hab %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	hab(src, "origin", "key", "generate", "habtest")
	for _, plan := range []string{"greetdata", "libgreet", "hello"} {
		hab(src, "plan", "build", plan)
	}
	lb, err := pkgbuild.ReadLastBuild(filepath.Join(src, "results", "last_build.env"))
	if err != nil {
		t.Fatal(err)
	}
	helloHart := filepath.Join(src, "results", lb["pkg_artifact"])

	// The depot, on a free loopback port, with a real token.
	depotRoot := t.TempDir()
	tok := exec.Command(bin, "depot", "token", "create", "--account", "builder")
	tok.Env = append(os.Environ(), "FS_ROOT="+depotRoot)
	out, err := tok.Output()
	if err != nil {
		t.Fatal(err)
	}
	p := startDepot(t, bin, depotRoot, freePort(t))
	env["HAB_BLDR_URL"] = p.url
	env["HAB_AUTH_TOKEN"] = strings.TrimSpace(string(out))

	hab(src, "origin", "create", "habtest")
	hab(src, "origin", "key", "upload", "habtest")
	up := hab(src, "pkg", "upload", helloHart)
	for _, dep := range []string{"habtest/greetdata/", "habtest/libgreet/"} {
		if !strings.Contains(up, "Uploading dependency "+dep) {
			t.Errorf("hab pkg upload did not upload %s from beside the hart:\n%s", dep, up)
		}
	}
	hab(src, "pkg", "promote", lb["pkg_ident"], "stable")

	// An empty FS_ROOT in the place of the build root (the binaries name
	// it), and an empty key cache: everything comes from the depot.
	if err := os.Rename(root, root+".built"); err != nil {
		t.Fatal(err)
	}
	env["HAB_CACHE_KEY_PATH"] = filepath.Join(base, "fresh-keys")
	got := hab(base, "pkg", "install", "habtest/hello")
	for _, want := range []string{"✓ Installed habtest/greetdata/", "✓ Installed habtest/libgreet/", "✓ Installed " + lb["pkg_ident"], "☑ Cached habtest-"} {
		if !strings.Contains(got, want) {
			t.Errorf("hab pkg install lacks %q:\n%s", want, got)
		}
	}
	os.RemoveAll(root + ".built")
	hello := filepath.Join(root, "hab", "pkgs", lb["pkg_ident"], "bin", "hello")
	run, err := exec.Command(hello).CombinedOutput()
	if err != nil || string(run) != "Hello from greetdata, through libgreet!\n" {
		t.Errorf("installed hello: %v %q", err, run)
	}

	// The depot stops cleanly on SIGTERM.
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("depot after SIGTERM: %v\n%s", err, p.stderr.String())
	}
}
