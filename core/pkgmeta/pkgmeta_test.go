package pkgmeta

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
)

func TestParseMetadataFormats(t *testing.T) {
	id := ident.MustParse("core/redis/4.0.14/20200101000000")
	files := map[string][]byte{
		FileIdent:                   []byte("core/redis/4.0.14/20200101000000\n"),
		FileTarget:                  []byte("x86_64-linux\n"),
		FileDeps:                    []byte("core/glibc/2.27/20190115002733\ncore/openssl/1.0.2/20190115014206\n"),
		FileTDeps:                   []byte("core/glibc/2.27/20190115002733\r\ncore/linux-headers/4.17.12/20190115002705\r\n"),
		FileExposes:                 []byte("6379 16379\n"),
		FileExports:                 []byte("port=port\nstatus-port=status.port\nurl=a=b\n"),
		FileBinds:                   []byte("backend=port host\nleader=ip\n"),
		FileBindsOptional:           []byte("cache=port\n"),
		FilePath:                    []byte("/hab/pkgs/core/redis/4.0.14/20200101000000/bin:/hab/pkgs/core/redis/4.0.14/20200101000000/sbin:/usr/bin\n"),
		FileRuntimePath:             []byte("/hab/pkgs/core/redis/4.0.14/20200101000000/bin:/hab/pkgs/core/glibc/2.27/20190115002733/bin\n"),
		FileRuntimeEnvironment:      []byte("PATH=/x\nLD_LIBRARY_PATH=/hab/pkgs/a/b/1/2/lib\nEMPTY=\n"),
		FileRuntimeEnvironmentPaths: []byte("PYTHONPATH=/hab/pkgs/a/b/1/2/lib/python\n"),
		FileSvcUser:                 []byte("hab\n"),
		FileSvcGroup:                []byte("hab\n"),
		FileShutdownSignal:          []byte("TERM\n"),
		FileShutdownTimeout:         []byte("15\n"),
		FileInterpreters:            []byte("/hab/pkgs/core/redis/4.0.14/20200101000000/bin/sh\n"),
		FileLDRunPath:               []byte("/hab/pkgs/core/redis/4.0.14/20200101000000/lib\n"),
		FileCFlags:                  []byte("-I/hab/pkgs/core/redis/4.0.14/20200101000000/include\n"),
		FileBindMap:                 []byte("core/web=db:core/postgres cache:core/redis\n"),
		FilePackageType:             []byte("native\n"),
		"RUNTIME_SANDBOX":           []byte("yes\n"),
		FileInstallHookStatus:       []byte("0"),
	}
	m, err := Parse(id, files)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Ident", m.Ident, id},
		{"Target", m.Target, ident.X86_64Linux},
		{"Deps", identStrings(m.Deps), []string{"core/glibc/2.27/20190115002733", "core/openssl/1.0.2/20190115014206"}},
		{"TDeps (CRLF)", identStrings(m.TDeps), []string{"core/glibc/2.27/20190115002733", "core/linux-headers/4.17.12/20190115002705"}},
		{"Exposes", m.Exposes, []string{"6379", "16379"}},
		{"Exports", m.Exports, map[string]string{"port": "port", "status-port": "status.port", "url": "a=b"}},
		{"Binds", m.Binds, []Bind{{"backend", []string{"port", "host"}}, {"leader", []string{"ip"}}}},
		{"BindsOptional", m.BindsOptional, []Bind{{"cache", []string{"port"}}}},
		{"Path", len(m.Path), 3},
		{"BinDirs", m.BinDirs(), []string{"/hab/pkgs/core/redis/4.0.14/20200101000000/bin", "/hab/pkgs/core/redis/4.0.14/20200101000000/sbin"}},
		{"HasRuntimePath", m.HasRuntimePath, true},
		{"RuntimePath", len(m.RuntimePath), 2},
		{"RuntimeEnvironment", m.RuntimeEnvironment, map[string]string{"PATH": "/x", "LD_LIBRARY_PATH": "/hab/pkgs/a/b/1/2/lib", "EMPTY": ""}},
		{"RuntimeEnvironmentPaths", m.RuntimeEnvironmentPaths, map[string]string{"PYTHONPATH": "/hab/pkgs/a/b/1/2/lib/python"}},
		{"SvcUser", m.SvcUser, "hab"},
		{"IsService", m.IsService(), true},
		{"ShutdownSignal", m.ShutdownSignal, "TERM"},
		{"ShutdownTimeout", *m.ShutdownTimeout, 15},
		{"Interpreters", m.Interpreters, []string{"/hab/pkgs/core/redis/4.0.14/20200101000000/bin/sh"}},
		{"LDRunPath", m.LDRunPath, "/hab/pkgs/core/redis/4.0.14/20200101000000/lib"},
		{"BindMap", m.BindMap[ident.MustParse("core/web")], []BindMapping{{"db", ident.MustParse("core/postgres")}, {"cache", ident.MustParse("core/redis")}}},
		{"PackageType", m.PackageType, "native"},
		{"Other", m.Other, map[string][]byte{"RUNTIME_SANDBOX": []byte("yes\n")}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestParseMetadataDefaults(t *testing.T) {
	// The oldest harts have only IDENT and MANIFEST.
	m, err := Parse(ident.Ident{}, map[string][]byte{FileIdent: []byte("happyhumans/possums/8.1.4/20160427165340\n"), FileManifest: []byte("# possums\n")})
	if err != nil {
		t.Fatal(err)
	}
	if m.Ident.String() != "happyhumans/possums/8.1.4/20160427165340" || m.Target != ident.X86_64Linux {
		t.Fatalf("got %s %s", m.Ident, m.Target)
	}
	if m.Deps != nil || m.Exports != nil || m.HasRuntimePath || m.ShutdownTimeout != nil || m.IsService() {
		t.Fatalf("absent files gave values: %+v", m)
	}
	// An empty PATH file (as the neurosis/testapp harts carry) is no path.
	m, err = Parse(ident.MustParse("neurosis/testapp/0.1.3/20171205003213"), map[string][]byte{FilePath: []byte("\n")})
	if err != nil || m.Path != nil {
		t.Fatalf("empty PATH: %v %#v", err, m.Path)
	}
}

func TestParseMetadataErrors(t *testing.T) {
	id := ident.MustParse("acme/broken/1.0/20200101000000")
	tests := []struct {
		file, content, want string
	}{
		{FileIdent, "acme/other/1.0/20200101000000", "names acme/other/1.0/20200101000000, but the package is acme/broken"},
		{FileIdent, "acme/broken", "fully qualified"},
		{FileTarget, "sparc-solaris", `invalid package target "sparc-solaris"`},
		{FileDeps, "core/glibc/2.27/20190115002733\ncore/openssl", "line 2"},
		{FileTDeps, "Not An Ident", "line 1"},
		{FileExports, "port=port\nnoequals", `line 2: "noequals" is not KEY=VALUE`},
		{FileRuntimeEnvironment, "PATH", `"PATH" is not KEY=VALUE`},
		{FileBinds, "backend port", `"backend port" is not NAME=EXPORT`},
		{FileBindsOptional, "=port", "is not NAME=EXPORT"},
		{FileShutdownTimeout, "soon", `"soon" is not a number of seconds`},
		{FilePackageType, "weird", `unknown package type "weird"`},
		{FileBindMap, "core/web=db", `"db" is not BIND:SERVICE`},
		{FileServices, "core/web\ncore", "line 2"},
		{FileResolvedServices, "core/web/1.0", "line 1"},
		{FileSvcUser, "\xff\xfe", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Parse(id, map[string][]byte{tt.file: []byte(tt.content)})
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			for _, want := range []string{id.String(), tt.file, tt.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
	if _, err := Parse(ident.Ident{}, map[string][]byte{}); err == nil || !strings.Contains(err.Error(), "IDENT") {
		t.Errorf("no IDENT and no ident: %v", err)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	timeout := 30
	m := &Metadata{
		Ident:                   ident.MustParse("acme/web/1.2.3/20200101000000"),
		Target:                  ident.X86_64Linux,
		Deps:                    idents("core/glibc/2.27/20190115002733"),
		TDeps:                   idents("core/glibc/2.27/20190115002733", "core/linux-headers/4.17.12/20190115002705"),
		BuildDeps:               idents("core/gcc/9.1.0/20200101000000"),
		Exposes:                 []string{"80", "443"},
		Exports:                 map[string]string{"port": "http.port", "ssl-port": "https.port"},
		Binds:                   []Bind{{"database", []string{"port", "host"}}},
		BindsOptional:           []Bind{{"cache", []string{"port"}}},
		Path:                    []string{"/hab/pkgs/acme/web/1.2.3/20200101000000/bin"},
		RuntimePath:             []string{"/hab/pkgs/acme/web/1.2.3/20200101000000/bin", "/hab/pkgs/core/glibc/2.27/20190115002733/bin"},
		HasRuntimePath:          true,
		RuntimeEnvironment:      map[string]string{"PATH": "/hab/pkgs/acme/web/1.2.3/20200101000000/bin", "WEB_HOME": "/hab/pkgs/acme/web/1.2.3/20200101000000"},
		RuntimeEnvironmentPaths: map[string]string{"WEB_HOME": "/hab/pkgs/acme/web/1.2.3/20200101000000"},
		BuildtimeEnvironment:    map[string]string{"CC": "gcc"},
		LDRunPath:               "/hab/pkgs/acme/web/1.2.3/20200101000000/lib",
		LDFlags:                 "-L/hab/pkgs/acme/web/1.2.3/20200101000000/lib",
		CFlags:                  "-I/hab/pkgs/acme/web/1.2.3/20200101000000/include",
		CPPFlags:                "-I/hab/pkgs/acme/web/1.2.3/20200101000000/include",
		CXXFlags:                "-I/hab/pkgs/acme/web/1.2.3/20200101000000/include",
		PkgConfigPath:           "/hab/pkgs/acme/web/1.2.3/20200101000000/lib/pkgconfig",
		SvcUser:                 "hab",
		SvcGroup:                "hab",
		ShutdownSignal:          "INT",
		ShutdownTimeout:         &timeout,
		Interpreters:            []string{"/hab/pkgs/acme/web/1.2.3/20200101000000/bin/env"},
		Manifest:                "# acme / web",
		Other:                   map[string][]byte{"BUILDTIME_ENVIRONMENT_PROVENANCE": []byte("CC=core/gcc\n")},
	}
	files := m.Encode()
	if got := string(files[FileExports]); got != "port=http.port\nssl-port=https.port\n" {
		t.Errorf("EXPORTS = %q", got)
	}
	if got := string(files[FileBinds]); got != "database=port host\n" {
		t.Errorf("BINDS = %q", got)
	}
	if got := string(files[FileExposes]); got != "80 443\n" {
		t.Errorf("EXPOSES = %q", got)
	}
	if got := string(files[FileTDeps]); got != "core/glibc/2.27/20190115002733\ncore/linux-headers/4.17.12/20190115002705\n" {
		t.Errorf("TDEPS = %q", got)
	}
	if _, ok := files[FileBindMap]; ok {
		t.Error("empty BIND_MAP written")
	}
	back, err := Parse(m.Ident, files)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, m)
	}

	dir := t.TempDir()
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	read, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, files) {
		t.Errorf("Write then ReadDir differ:\n got %q\nwant %q", read, files)
	}
}

func TestIsMetadataName(t *testing.T) {
	for name, want := range map[string]bool{"IDENT": true, "LD_RUN_PATH": true, "BUILD_TDEPS": true, "default.toml": false, "Makefile": false, "": false, "bin": false} {
		if IsName(name) != want {
			t.Errorf("IsName(%q) = %v", name, !want)
		}
	}
}

// SERVICES holds the services as the composite's plan names them, partial
// idents included, as the original writes it.
func TestParseMetadataPartialServices(t *testing.T) {
	id := ident.MustParse("acme/comp/1.0/20200101000000")
	m, err := Parse(id, map[string][]byte{
		FileServices:         []byte("acme/web\nacme/db/2.0\n"),
		FileResolvedServices: []byte("acme/web/1.1/20200101000000\nacme/db/2.0/20200101000000\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Services) != 2 || m.Services[0].String() != "acme/web" || m.Services[1].String() != "acme/db/2.0" {
		t.Errorf("Services = %v", m.Services)
	}
	if len(m.ResolvedServices) != 2 || !m.ResolvedServices[0].FullyQualified() {
		t.Errorf("ResolvedServices = %v", m.ResolvedServices)
	}
}

func identStrings(ids []ident.Ident) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.String())
	}
	return out
}

func idents(ss ...string) []ident.Ident {
	var out []ident.Ident
	for _, s := range ss {
		out = append(out, ident.MustParse(s))
	}
	return out
}

// TestBounds: a metadata file may hold at most MaxLines lines and
// MaxFileBytes bytes, a package MaxTotalBytes in all; beyond that the
// error wraps ErrTooLarge and names the package and the file. Files of
// unknown names are never read from a package directory.
func TestBounds(t *testing.T) {
	id := ident.MustParse("acme/big/1.0.0/20200101000000")
	many := strings.Repeat("core/glibc/2.27/20190115002733\n", MaxLines+1)
	manyKV := strings.Repeat("A=b\n", MaxLines+1)
	for _, c := range []struct {
		file, content string
	}{
		{FileDeps, many},
		{FileTDeps, many},
		{FileBuildTDeps, many},
		{FileRuntimeEnvironment, manyKV},
		{FileExports, manyKV},
		{FileBinds, manyKV},
		{FileInterpreters, strings.Repeat("/bin/sh\n", MaxLines+1)},
		{FileManifest, strings.Repeat("x", MaxFileBytes+1)},
	} {
		_, err := Parse(id, map[string][]byte{c.file: []byte(c.content)})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), id.String()) || !strings.Contains(err.Error(), c.file) {
			t.Errorf("%s: err = %.200v, want ErrTooLarge naming %s and the file", c.file, err, id)
		}
	}
	// At the bound: accepted.
	ok := strings.Repeat("core/glibc/2.27/20190115002733\n", 1000)
	if m, err := Parse(id, map[string][]byte{FileDeps: []byte(ok)}); err != nil || len(m.Deps) != 1000 {
		t.Errorf("1000 DEPS lines: %v", err)
	}

	sparse := func(dir, name string, size int64) {
		t.Helper()
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileIdent), []byte(id.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sparse(dir, "HUGE_UNKNOWN", 1<<40) // never read
	files, err := ReadDir(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("unknown file: %v %v", len(files), err)
	}
	sparse(dir, FileFiles, MaxFileBytes+1)
	if _, err := ReadDir(dir); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), FileFiles) {
		t.Errorf("large FILES: %v", err)
	}
	dir = t.TempDir()
	for _, name := range []string{FileFiles, FileManifest, FileDeps} {
		sparse(dir, name, MaxTotalBytes/3+1)
	}
	if _, err := ReadDir(dir); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "in all") {
		t.Errorf("large total: %v", err)
	}
}
