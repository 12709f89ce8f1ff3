package tar_test

import (
	"context"
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
