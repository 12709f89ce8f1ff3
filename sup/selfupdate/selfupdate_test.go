package selfupdate

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
)

func TestNewer(t *testing.T) {
	for _, c := range []struct {
		head, running string
		want          bool
	}{
		{"core/hab/0.6.0/20260102000000", "core/hab/0.5.0/20260101000000", true},
		{"core/hab/0.5.0/20260102000000", "core/hab/0.5.0/20260101000000", true}, // a later release of the same version
		{"core/hab/0.5.0/20260101000000", "core/hab/0.5.0/20260101000000", false},
		{"core/hab/0.4.0/20260109000000", "core/hab/0.5.0/20260101000000", false}, // older version, later release
		{"core/hab/0.5.0/20251231000000", "core/hab/0.5.0/20260101000000", false},
		{"core/hab/0.10.0/20260101000000", "core/hab/0.9.0/20260101000000", true}, // versions compare as numbers
		// A binary not from a package: its release is unknown, so only a greater version is newer.
		{"core/hab/0.6.0/20260101000000", "core/hab/0.5.0", true},
		{"core/hab/0.5.0/20990101000000", "core/hab/0.5.0", false},
		{"core/hab/0.4.0/20990101000000", "core/hab/0.5.0", false},
	} {
		if got := Newer(ident.MustParse(c.head), ident.MustParse(c.running)); got != c.want {
			t.Errorf("Newer(%s, %s) = %v, want %v", c.head, c.running, got, c.want)
		}
	}
}

// TestUsable: a real executable of this machine that runs is usable; a
// missing file, a directory, a file without the executable bit, a
// script (not ELF) and a binary that fails --version are refused, each
// with an error naming the file.
func TestUsable(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("no hab target for", runtime.GOARCH)
	}
	target := ident.X86_64Linux
	if runtime.GOARCH == "arm64" {
		target = ident.AArch64Linux
	}
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	trueBin, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true:", err)
	}
	for _, c := range []struct {
		name, path, wantErr string
	}{
		{"runs", write("true", string(trueBin), 0o755), ""},
		{"missing", filepath.Join(dir, "missing"), "no such file"},
		{"directory", dir, "not an executable file"},
		{"not executable", write("noexec", string(trueBin), 0o644), "not an executable file"},
		{"script", write("script", "#!/bin/sh\nexit 0\n", 0o755), "is not an ELF binary"},
		{"fails --version", "/bin/false", "does not run here"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Usable(context.Background(), c.path, target)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Usable(%s): %v", c.path, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("Usable(%s) = %v, want an error naming it with %q", c.path, err, c.wantErr)
			}
		})
	}
	if err := Usable(context.Background(), filepath.Join(dir, "true"), ident.Target("x86_64-windows")); err == nil {
		t.Error("a Linux binary was usable for a Windows target")
	}
}

// TestRunning: the release a hab binary is: the installed core/hab
// package it lives in (also through a link, as a binlink), else its
// version alone (a binary elsewhere, another package's, or a directory
// shaped as a package that is not installed).
func TestRunning(t *testing.T) {
	root := t.TempDir()
	store := pkgs.New(paths.Root{FS: root}, ident.X86_64Linux)
	install := func(id string, installed bool) string {
		dir := store.PathFor(ident.MustParse(id))
		bin := filepath.Join(dir, "bin", "hab")
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{bin: "binary"}
		if installed {
			files[filepath.Join(dir, "IDENT")] = id + "\n"
			files[filepath.Join(dir, "TARGET")] = "x86_64-linux\n"
		}
		for p, content := range files {
			if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return bin
	}
	pkgBin := install("core/hab/0.8.0/20260101000000", true)
	link := filepath.Join(root, "bin", "hab")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(pkgBin, link); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(root, "opt-hab")
	if err := os.WriteFile(elsewhere, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, exe, want string }{
		{"the package's", pkgBin, "core/hab/0.8.0/20260101000000"},
		{"through a link", link, "core/hab/0.8.0/20260101000000"},
		{"elsewhere", elsewhere, "core/hab/0.5.0"},
		{"another package's", install("core/other/1.0.0/20260101000000", true), "core/hab/0.5.0"},
		{"not installed", install("core/hab/0.9.0/20260101000000", false), "core/hab/0.5.0"},
	} {
		if got := Running(store, c.exe, "0.5.0"); got.String() != c.want {
			t.Errorf("%s: Running(%s) = %s, want %s", c.name, c.exe, got, c.want)
		}
	}
}
