package pkgs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

func TestInstallHooks(t *testing.T) {
	ctx := context.Background()
	e := newInstallEnv(t)
	marker := filepath.Join(t.TempDir(), "ran")
	// The dependency's hook runs before the package's; both see their
	// package's runtime environment and run in the package directory.
	e.build(e.artifacts, spec{id: "core/dep/1.0/20200101000000", files: map[string]string{
		"hooks/install": "#!/bin/sh\necho \"dep $(basename $(pwd))\" >> " + marker + "\n",
	}})
	app := e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", tdeps: []string{"core/dep/1.0/20200101000000"}, files: map[string]string{
		"hooks/install":                "#!/bin/sh\necho \"app $GREETING\" >> " + marker + "\necho hook output\n",
		pkgmeta.FileRuntimeEnvironment: "GREETING=hi\n",
	}})
	var out bytes.Buffer
	in := e.installer()
	in.Hooks = ExecHooks{Env: []string{"PATH=" + os.Getenv("PATH")}, Stdout: &out, Stderr: &out}
	if _, err := in.InstallAll(ctx, []string{app}); err != nil {
		t.Fatalf("%v\n%s", err, e.rec)
	}
	got, _ := os.ReadFile(marker)
	if string(got) != "dep 20200101000000\napp hi\n" {
		t.Errorf("hooks ran: %q", got)
	}
	if out.String() != "hook output\n" {
		t.Errorf("hook output %q", out.String())
	}
	for _, id := range []string{"core/dep/1.0/20200101000000", "acme/app/1.0/20200101000000"} {
		if st, err := os.ReadFile(filepath.Join(e.store.PathFor(ident.MustParse(id)), pkgmeta.FileInstallHookStatus)); err != nil || string(st) != "0" {
			t.Errorf("%s INSTALL_HOOK_STATUS = %q, %v", id, st, err)
		}
	}
	if !strings.Contains(e.rec.String(), "Executing install hook for 'acme/app/1.0/20200101000000'") {
		t.Errorf("report:\n%s", e.rec)
	}
	// A hook that succeeded once does not run again.
	if _, err := in.InstallAll(ctx, []string{app}); err != nil {
		t.Fatal(err)
	}
	if got2, _ := os.ReadFile(marker); string(got2) != string(got) {
		t.Errorf("hooks ran again: %q", got2)
	}
}

func TestInstallHookFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, hook, want string
		status           string
	}{
		{"failing hook", "#!/bin/sh\nexit 3\n", "install hook of acme/app/1.0/20200101000000 failed: 'install' exited with status code 3", "3"},
		{"template hook", "#!/bin/sh\necho {{pkg.name}}\n", "is a template", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newInstallEnv(t)
			app := e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", files: map[string]string{"hooks/install": tt.hook}})
			in := e.installer()
			in.Hooks = ExecHooks{Env: []string{"PATH=" + os.Getenv("PATH")}}
			_, err := in.InstallAll(ctx, []string{app})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			// A hook that exited non-zero says its status (hab exits with it).
			var hf *HookFailedError
			if got := errors.As(err, &hf); got != (tt.status != "") || got && strconv.Itoa(hf.Status) != tt.status {
				t.Errorf("error %#v: HookFailedError %v, want one with status %q", err, got, tt.status)
			}
			// As in the original, the package stays installed and the
			// hook's status is recorded, so that the next install retries it.
			p := e.store.PathFor(ident.MustParse("acme/app/1.0/20200101000000"))
			st, _ := os.ReadFile(filepath.Join(p, pkgmeta.FileInstallHookStatus))
			if string(st) != tt.status {
				t.Errorf("status %q, want %q", st, tt.status)
			}
			if _, err := in.InstallAll(ctx, []string{app}); err == nil {
				t.Error("second install did not retry the failing hook")
			}
			// Without hooks (--ignore-install-hook) it installs quietly.
			in.Hooks = nil
			if _, err := in.InstallAll(ctx, []string{app}); err != nil {
				t.Errorf("with hooks ignored: %v", err)
			}
		})
	}
}

func TestUninstallHook(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	marker := filepath.Join(t.TempDir(), "ran")
	hook := "#!/bin/sh\necho uninstalled >> " + marker + "\n"
	put(t, s, fakePkg{id: "acme/app/1.0/1", files: map[string]string{"hooks/uninstall": hook}})
	put(t, s, fakePkg{id: "acme/app/2.0/1", files: map[string]string{"hooks/uninstall": hook}})
	hooks := ExecHooks{Env: []string{"PATH=" + os.Getenv("PATH")}}
	// Not the last release: the original skips the hook.
	rec := &recorder{}
	if _, err := s.Uninstall(ctx, ident.MustParse("acme/app/2.0"), UninstallOptions{Hooks: hooks, Reporter: rec}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) || !strings.Contains(rec.String(), "execution of uninstall hook for acme/app/2.0/1. 2 packages are installed") {
		t.Errorf("hook ran for a non-last release: %v\n%s", err, rec)
	}
	if _, err := s.Uninstall(ctx, ident.MustParse("acme/app"), UninstallOptions{Hooks: hooks}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(marker); string(got) != "uninstalled\n" {
		t.Errorf("uninstall hook: %q", got)
	}
}
