package pkgs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/pkgmeta"
)

func TestReadArchiveInfo(t *testing.T) {
	e := newInstallEnv(t)
	p := e.build(e.harts, spec{id: "acme/web/1.0/20200101000000", tdeps: []string{"core/glibc/2.27/20190115002733"}, deps: []string{"core/glibc/2.27/20190115002733"},
		files: map[string]string{
			pkgmeta.FileExposes: "80 443\n", pkgmeta.FileExports: "port=http.port\n", pkgmeta.FileBinds: "db=port host\n", pkgmeta.FileBindsOptional: "cache=port\n",
			pkgmeta.FileSvcUser: "hab\n", pkgmeta.FileSvcGroup: "hab\n", pkgmeta.FileLDFlags: "-L/x\n",
			"default.toml": "[http]\nport = 80\n", pkgmeta.FileManifest: "# acme / web\n",
		}})
	info, err := ReadArchiveInfo(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	checks := []struct {
		name      string
		got, want any
	}{
		{"ident", info.Ident, "acme/web/1.0/20200101000000"},
		{"key", info.KeyName, e.sec.NamedRevision.String()},
		{"is_a_service", info.IsAService, true},
		{"deps", info.Deps, []string{"core/glibc/2.27/20190115002733"}},
		{"build_deps", info.BuildDeps, []string{}},
		{"exposes", info.Exposes, []uint16{80, 443}},
		{"exports", info.Exports, map[string]string{"port": "http.port"}},
		{"binds", info.Binds, []pkgmeta.Bind{{Name: "db", Exports: []string{"port", "host"}}}},
		{"binds_optional", info.BindsOptional, []pkgmeta.Bind{{Name: "cache", Exports: []string{"port"}}}},
		{"config", *info.Config, "[http]\nport = 80"},
		{"svc_group", *info.SvcGroup, "hab"},
		{"ldflags", *info.LDFlags, "-L/x"},
		{"cflags", info.CFlags, (*string)(nil)},
		{"manifest", info.Manifest, "# acme / web"},
		{"size", info.Size, fi.Size()},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	js, _ := json.Marshal(info)
	if !strings.HasPrefix(string(js), `{"format_version":"HART-1","key_name":`) || !strings.Contains(string(js), `"binds":[{"service":"db","exports":["port","host"]}]`) {
		t.Errorf("json: %s", js)
	}

	bad := e.build(e.harts, spec{id: "acme/bad/1.0/20200101000000", files: map[string]string{pkgmeta.FileExposes: "http\n"}})
	if _, err := ReadArchiveInfo(context.Background(), bad); !errors.Is(err, pkgmeta.ErrMalformed) || !strings.Contains(err.Error(), `EXPOSES: invalid port "http"`) {
		t.Errorf("bad EXPOSES: %v", err)
	}
}

// TestReadArchiveInfoTruncated: a hart cut anywhere (even after its
// metadata, which info reads first) is an error, not an info.
func TestReadArchiveInfoTruncated(t *testing.T) {
	e := newInstallEnv(t)
	big := strings.Repeat("incompressible? no, but long enough to make a payload of some size\n", 40000)
	p := e.build(e.harts, spec{id: "acme/web/1.0/20200101000000", files: map[string]string{"share/zz-data": big, "default.toml": "a = 1\n"}})
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArchiveInfo(context.Background(), p); err != nil {
		t.Fatalf("intact: %v", err)
	}
	for _, cut := range []int{len(b) - 1, len(b) - 12, len(b) - 40, len(b) * 3 / 4, len(b) / 2, 200} {
		q := filepath.Join(t.TempDir(), "cut.hart")
		os.WriteFile(q, b[:cut], 0o644)
		if info, err := ReadArchiveInfo(context.Background(), q); err == nil || !errors.Is(err, hart.ErrFormat) || !strings.Contains(err.Error(), q) {
			t.Errorf("cut at %d of %d: %v, %v; want a format error naming the file", cut, len(b), info, err)
		}
	}
}

// TestReadArchiveInfoKeepsOnlyKnownMetadata: many large top-level
// upper-case files hab does not read cost no memory in info; the known
// ones are all read.
func TestReadArchiveInfoKeepsOnlyKnownMetadata(t *testing.T) {
	e := newInstallEnv(t)
	files := map[string]string{pkgmeta.FileManifest: "# acme / web\n", "default.toml": "x = 1\n"}
	blob := strings.Repeat("A", 4<<20)
	for i := range 24 { // 96 MiB
		files[fmt.Sprintf("JUNK_%02d", i)] = blob
	}
	p := e.build(e.harts, spec{id: "acme/web/1.0/20200101000000", files: files})
	blob = ""
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	info, err := ReadArchiveInfo(context.Background(), p)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if info.Manifest != "# acme / web" || info.Config == nil || len(info.Metadata.Other) != 0 {
		t.Errorf("info: manifest %q, config %v, other %d files", info.Manifest, info.Config, len(info.Metadata.Other))
	}
	// Held after the call (the info is still referenced): far less than
	// the 96 MiB of unknown files.
	if after.HeapAlloc > before.HeapAlloc && after.HeapAlloc-before.HeapAlloc > 32<<20 {
		t.Errorf("info holds %d MiB", (after.HeapAlloc-before.HeapAlloc)>>20)
	}
}

// TestInstallLimits: the installer's limits reach extraction: a hart
// over them is refused naming the limit, nothing is installed; raised,
// the same hart installs.
func TestInstallLimits(t *testing.T) {
	e := newInstallEnv(t)
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("share/f%02d", i)] = strings.Repeat("x", 1000)
	}
	p := e.build(e.harts, spec{id: "acme/many/1.0/20200101000000", files: files})
	for _, lim := range []hart.Limits{{MaxEntries: 10}, {MaxBytes: 10_000}} {
		in := e.installer()
		in.Limits = lim
		_, err := in.InstallAll(context.Background(), []string{p})
		if !errors.Is(err, hart.ErrLimit) || !strings.Contains(err.Error(), p) {
			t.Fatalf("%+v: %v; want ErrLimit naming the hart", lim, err)
		}
		if got := e.installed(); len(got) != 0 {
			t.Fatalf("%+v: installed %v", lim, got)
		}
		e.assertClean()
	}
	in := e.installer()
	in.Limits = hart.Limits{MaxEntries: 1000}
	if _, err := in.InstallAll(context.Background(), []string{p}); err != nil {
		t.Fatal(err)
	}
}
