package builder

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/core/pkgs"
)

func loadMeta(t *testing.T, e *env, id ident.Ident) (*pkgs.Package, *pkgmeta.Metadata) {
	t.Helper()
	store := pkgs.New(paths.At(e.root), ident.X86_64Linux)
	p, err := store.Load(id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	return p, m
}

// installFresh installs harts into a new root with core/pkgs.
func installFresh(t *testing.T, e *env, harts ...string) *pkgs.Store {
	t.Helper()
	root := t.TempDir()
	store := pkgs.New(paths.At(root), ident.X86_64Linux)
	in := &pkgs.Installer{Store: store, Keys: e.keys, ArtifactCache: filepath.Join(root, "hab", "cache", "artifacts")}
	if _, err := in.InstallAll(context.Background(), harts); err != nil {
		t.Fatalf("install %v into a fresh root: %v", harts, err)
	}
	return store
}

// TestServiceFixture builds the service fixture: its run script, service
// metadata, configuration, hooks (extensions dropped) and default.toml.
func TestServiceFixture(t *testing.T) {
	e := newEnv(t)
	res := e.build(fixture("service"))
	p, m := loadMeta(t, e, res.Ident)
	if m.SvcUser != "root" || m.SvcGroup != "root" || !m.IsService() {
		t.Errorf("SVC_USER/SVC_GROUP = %q/%q", m.SvcUser, m.SvcGroup)
	}
	if !slices.Equal(m.Exposes, []string{"8080"}) {
		t.Errorf("EXPOSES = %v", m.Exposes)
	}
	if m.Exports["port"] != "port" || m.Exports["host"] != "listen.host" || len(m.Exports) != 2 {
		t.Errorf("EXPORTS = %v", m.Exports)
	}
	if len(m.BindsOptional) != 1 || m.BindsOptional[0].Name != "database" || !slices.Equal(m.BindsOptional[0].Exports, []string{"port", "host"}) || m.Binds != nil {
		t.Errorf("BINDS_OPTIONAL = %v, BINDS = %v", m.BindsOptional, m.Binds)
	}
	if m.ShutdownSignal != "TERM" || m.ShutdownTimeout == nil || *m.ShutdownTimeout != 5 {
		t.Errorf("SHUTDOWN_SIGNAL/TIMEOUT = %q/%v", m.ShutdownSignal, m.ShutdownTimeout)
	}
	for _, f := range []string{"config/service.conf", "hooks/init", "hooks/health_check", "default.toml", "run", "bin/habtest-service"} {
		if _, err := os.Stat(filepath.Join(p.Path, f)); err != nil {
			t.Errorf("package lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(p.Path, "hooks", "init.sh")); err == nil {
		t.Error("hooks/init.sh kept its extension")
	}
	run := readFile(t, filepath.Join(p.Path, "run"))
	for _, want := range []string{"#!/bin/sh\n", "-U root:root", "exec habtest-service " + filepath.Join(e.root, "hab/svc/service/config/service.conf") + " 2>&1"} {
		if !strings.Contains(run, want) {
			t.Errorf("run script lacks %q:\n%s", want, run)
		}
	}
	if fi, _ := os.Stat(filepath.Join(p.Path, "hooks", "init")); fi == nil || fi.Mode().Perm()&0o100 == 0 {
		t.Error("hooks/init is not executable")
	}
	if _, err := hart.Verify(context.Background(), res.Artifact, e.keys); err != nil {
		t.Fatalf("verify %s: %v", res.Artifact, err)
	}
	store := installFresh(t, e, res.Artifact)
	ip, err := store.Load(res.Ident)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := ip.DefaultConfig(); err != nil || !strings.Contains(string(cfg), "port = 8080") {
		t.Errorf("installed default.toml = %q, %v", cfg, err)
	}
}

// TestWrapperFixture builds sh (an interpreter package) and wrapper (a
// prebuilt binary from an xz tarball, with a wrapper script whose #! line
// fix_interpreter points at sh), installs both into a fresh root and runs
// the wrapper there.
func TestWrapperFixture(t *testing.T) {
	e := newEnv(t)
	sh := e.build(fixture("sh"))
	w := e.build(fixture("wrapper"))
	_, shm := loadMeta(t, e, sh.Ident)
	if !slices.Equal(shm.Interpreters, []string{pkgmeta.InstallPrefix(sh.Ident) + "/bin/sh"}) {
		t.Errorf("sh INTERPRETERS = %v", shm.Interpreters)
	}
	script := readFile(t, filepath.Join(w.Prefix, "bin", "prebuilt"))
	if want := "#!" + filepath.Join(sh.Prefix, "bin", "sh") + "\n"; !strings.HasPrefix(script, want) {
		t.Errorf("wrapper script starts %q, want %q", strings.SplitN(script, "\n", 2)[0], want)
	}
	out, err := exec.Command(filepath.Join(w.Prefix, "bin", "prebuilt"), "plans").CombinedOutput()
	if err != nil || string(out) != "prebuilt binary says hi to plans\n" {
		t.Errorf("wrapper: %v: %q", err, out)
	}
	// Installed from the harts into a fresh root at the build root's
	// path (the #! line names it), the wrapper runs.
	for _, r := range []*Result{sh, w} {
		if _, err := hart.Verify(context.Background(), r.Artifact, e.keys); err != nil {
			t.Fatalf("verify %s: %v", r.Artifact, err)
		}
	}
	if err := os.RemoveAll(e.root); err != nil {
		t.Fatal(err)
	}
	store := pkgs.New(paths.At(e.root), ident.X86_64Linux)
	in := &pkgs.Installer{Store: store, Keys: e.keys, ArtifactCache: filepath.Join(e.root, "hab", "cache", "artifacts")}
	if _, err := in.InstallAll(context.Background(), []string{w.Artifact, sh.Artifact}); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(filepath.Join(w.Prefix, "bin", "prebuilt"), "a fresh root").CombinedOutput()
	if err != nil || string(out) != "prebuilt binary says hi to a fresh root\n" {
		t.Errorf("installed wrapper: %v: %q", err, out)
	}
}

// TestCompositeFixture builds two services and a composite of them:
// SERVICES as the plan gives them, RESOLVED_SERVICES with the exact
// releases, BIND_MAP, TYPE.
func TestCompositeFixture(t *testing.T) {
	e := newEnv(t)
	svc := e.build(fixture("service"))
	client := e.build(fixture("service-client"))
	comp := e.build(fixture("composite"))
	m := loadMetaRaw(t, comp.Prefix)
	if got := m["SERVICES"]; got != "habtest/service\nhabtest/service-client\n" {
		t.Errorf("SERVICES = %q", got)
	}
	// Sorted bytewise: "service-client/..." before "service/...".
	if got, want := m["RESOLVED_SERVICES"], client.Ident.String()+"\n"+svc.Ident.String()+"\n"; got != want {
		t.Errorf("RESOLVED_SERVICES = %q, want %q", got, want)
	}
	if got := m["BIND_MAP"]; got != "habtest/service-client=backend:habtest/service\n" {
		t.Errorf("BIND_MAP = %q", got)
	}
	if m["TYPE"] != "composite\n" || m["IDENT"] != comp.Ident.String()+"\n" {
		t.Errorf("TYPE = %q, IDENT = %q", m["TYPE"], m["IDENT"])
	}
	for name := range m {
		switch name {
		case "SERVICES", "RESOLVED_SERVICES", "BIND_MAP", "TYPE", "IDENT", "TARGET":
		default:
			t.Errorf("a composite has metadata file %s", name)
		}
	}
	if entries, _ := os.ReadDir(comp.Prefix); len(entries) != len(m) {
		t.Errorf("a composite holds more than metadata: %v", entries)
	}
}

// loadMetaRaw reads the metadata files of the package at dir as strings.
func loadMetaRaw(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := pkgmeta.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range files {
		out[k] = string(v)
	}
	return out
}

// TestCompositeErrors: fewer than two services, a package that is not a
// service, a bind the service does not have, an export the satisfying
// service lacks.
func TestCompositeErrors(t *testing.T) {
	e := newEnv(t)
	e.build(fixture("service"))
	e.build(fixture("service-client"))
	e.build(fixture("greetdata"))
	head := "pkg_name=comp\npkg_origin=habtest\npkg_version=1\npkg_type=composite\n"
	tests := []struct{ name, plan, want string }{
		{"one service", head + "pkg_services=(habtest/service)\n",
			"build failed in composite: A composite package should have at least two services specified in $pkg_services; otherwise just build a non-composite Habitat package"},
		{"not a service", head + "pkg_services=(habtest/service habtest/greetdata)\n",
			"is not a service. Only services are allowed in composite packages"},
		{"unknown bind", head + "pkg_services=(habtest/service habtest/service-client)\npkg_bind_map=([habtest/service-client]=\"nobind:habtest/service\")\n",
			"The bind 'nobind' specified in $pkg_bind_map for the package 'habtest/service-client' does not exist in /hab/pkgs/habtest/service-client/"},
		{"unknown service", head + "pkg_services=(habtest/service habtest/nothere)\n",
			"build failed in resolve dependencies: Resolving 'habtest/nothere' failed, should this be built first?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePlan(t, map[string]string{"plan.sh": tt.plan})
			_, err := Build(context.Background(), dir, e.options(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
			assertNothingLeft(t, e, "comp")
		})
	}
}

// TestCompositeInstall: the composite's hart verifies; core/pkgs installs
// it with its services once core/pkgs reads SERVICES as the original
// writes it (identifiers as the plan gives them, not fully qualified).
func TestCompositeInstall(t *testing.T) {
	e := newEnv(t)
	svc := e.build(fixture("service"))
	client := e.build(fixture("service-client"))
	comp := e.build(fixture("composite"))
	if _, err := hart.Verify(context.Background(), comp.Artifact, e.keys); err != nil {
		t.Fatalf("verify %s: %v", comp.Artifact, err)
	}
	store := installFresh(t, e, comp.Artifact, svc.Artifact, client.Artifact)
	// SERVICES keeps the plan's origin/name; RESOLVED_SERVICES the exact releases.
	p, err := store.Load(comp.Ident)
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Services) != 2 || len(m.ResolvedServices) != 2 {
		t.Fatalf("SERVICES %v, RESOLVED_SERVICES %v: want two of each", m.Services, m.ResolvedServices)
	}
	for _, r := range m.ResolvedServices {
		if !r.FullyQualified() {
			t.Errorf("RESOLVED_SERVICES entry %s is not fully qualified", r)
		}
	}
}
