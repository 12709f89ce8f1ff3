package pkgs

import (
	"context"
	"errors"
	"github.com/habgo/hab/internal/conformance"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

func conformanceData(t *testing.T, elem ...string) string {
	t.Helper()
	return conformance.Path(t, elem...)
}

// TestConformanceHarts installs, lists, reads and uninstalls the real
// harts of the original Habitat, and refuses those it must refuse.
func TestConformanceHarts(t *testing.T) {
	ctx := context.Background()
	happy := conformanceData(t, "habitat", "artifacts", "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart")
	unhappy := conformanceData(t, "habitat", "artifacts", "unhappyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart")
	bogus := conformanceData(t, "habitat", "artifacts", "bogus_and_corrupt.hart")
	builder := conformanceData(t, "builder")

	e := newInstallEnv(t)
	in := e.installer()
	in.XZ = hart.XZAuto
	// happyhumans' public key lies beside its hart and is imported.
	res, err := in.InstallAll(ctx, []string{happy})
	if err != nil {
		t.Fatalf("%v\n%s", err, e.rec)
	}
	if res[0].Package.Ident.String() != "happyhumans/possums/8.1.4/20160427165340" {
		t.Errorf("installed %s", res[0].Package.Ident)
	}
	if _, err := e.keys.SigningPublicKey("happyhumans-20160424223347"); err != nil {
		t.Errorf("happyhumans key not imported: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(res[0].Package.Path, "share", "signme.dat")); err != nil || len(data) != 4 {
		t.Errorf("share/signme.dat: %q %v", data, err)
	}
	// neurosis/native-testapp is signed by the key shipped in builder/.
	if _, err := in.InstallAll(ctx, []string{filepath.Join(builder, "neurosis-native-testapp-0.1.0-20220824122359-x86_64-linux.hart")}); err != nil {
		t.Fatalf("%v\n%s", err, e.rec)
	}
	if got := e.installed(); !slices.Equal(got, []string{"happyhumans/possums/8.1.4/20160427165340", "neurosis/native-testapp/0.1.0/20220824122359"}) {
		t.Errorf("store holds %v", got)
	}
	p, err := e.store.Resolve(ctx, ident.MustParse("neurosis/native-testapp"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if m.PackageType != "native" || m.Target != ident.X86_64Linux || !strings.Contains(m.Manifest, "native-testapp") {
		t.Errorf("native-testapp metadata: type %q target %s manifest %.40q", m.PackageType, m.Target, m.Manifest)
	}
	if got := e.cached(); !slices.Equal(got, []string{"happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart", "neurosis-native-testapp-0.1.0-20220824122359-x86_64-linux.hart"}) {
		t.Errorf("artifact cache holds %v", got)
	}
	// Both uninstall and leave nothing.
	for _, id := range []string{"happyhumans/possums", "neurosis/native-testapp"} {
		if _, err := e.store.Uninstall(ctx, ident.MustParse(id), UninstallOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.installed(); len(got) != 0 {
		t.Errorf("left after uninstall: %v", got)
	}
	if entries, _ := os.ReadDir(e.store.Dir); len(entries) != 1 || entries[0].Name() != LockFile {
		t.Errorf("store directory not empty but for its lock: %v", entries)
	}

	bad := []struct {
		path  string
		is    error
		wants []string
	}{
		{unhappy, crypto.ErrBadSignature, []string{"unhappyhumans-possums"}},
		{bogus, hart.ErrFormat, []string{"bogus_and_corrupt.hart"}},
		{filepath.Join(builder, "neurosis-testapp-0.1.3-20171205003213-x86_64-linux.hart"), crypto.ErrKeyNotFound, []string{"neurosis-20171205003147"}},
		{filepath.Join(builder, "xmen-testapp-0.1.4-20171206005217-x86_64-linux.hart"), crypto.ErrKeyNotFound, []string{"xmen-20171206005153"}},
		{filepath.Join(builder, "fake", "neurosis-testapp-0.1.3-20171205003213-x86_64-linux.hart"), crypto.ErrKeyNotFound, []string{"neurosis-20171205003147"}},
		{filepath.Join(builder, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart"), ErrArtifactNotFound, []string{"core/glibc/2.27/20190115002733", "core/linux-headers/4.17.12/20190115002705"}},
		{filepath.Join(builder, "neurosis-testapp-0.1.4-20181115124506-x86_64-windows.hart"), ErrWrongTarget, []string{"x86_64-windows"}},
		{filepath.Join(builder, "neurosis-testapp-0.1.3-20181116180420-x86_64-linux-kernel2.hart"), ErrWrongTarget, []string{"x86_64-linux-kernel2"}},
	}
	for _, b := range bad {
		t.Run(filepath.Base(b.path), func(t *testing.T) {
			e := newInstallEnv(t)
			in := e.installer()
			in.XZ = hart.XZAuto
			_, err := in.InstallAll(ctx, []string{b.path})
			if !errors.Is(err, b.is) {
				t.Fatalf("error %v, want %v", err, b.is)
			}
			for _, w := range b.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if got := e.installed(); len(got) != 0 {
				t.Errorf("installed %v", got)
			}
			e.assertClean()
		})
	}
}

// TestConformanceMetadata parses the metadata of every real hart.
func TestConformanceMetadata(t *testing.T) {
	ctx := context.Background()
	var harts []string
	for _, dir := range [][]string{{"builder"}, {"builder", "oddversions"}, {"habitat", "artifacts"}} {
		matches, _ := filepath.Glob(filepath.Join(conformanceData(t, dir...), "*.hart"))
		harts = append(harts, matches...)
	}
	for _, p := range harts {
		if strings.Contains(p, "bogus") || strings.Contains(p, "unhappy") {
			continue
		}
		hm, err := hart.ReadMetadata(ctx, p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		m, err := pkgmeta.Parse(hm.Ident, hm.Files)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if m.Ident != hm.Ident || m.Target != hm.Target {
			t.Errorf("%s: parsed %s %s, hart says %s %s", p, m.Ident, m.Target, hm.Ident, hm.Target)
		}
		if !strings.HasSuffix(filepath.Base(p), "-"+string(m.Target)+".hart") {
			t.Errorf("%s: target %s", p, m.Target)
		}
		if strings.Contains(p, "testapp-0.1.13") {
			if got := identStrings(m.TDeps); !slices.Equal(got, []string{"core/glibc/2.27/20190115002733", "core/linux-headers/4.17.12/20190115002705"}) {
				t.Errorf("testapp 0.1.13 TDEPS = %v", got)
			}
			if m.RuntimeEnvironment["PATH"] != "/hab/pkgs/core/glibc/2.27/20190115002733/bin" || !m.HasRuntimePath {
				t.Errorf("testapp 0.1.13 runtime environment %v", m.RuntimeEnvironment)
			}
		}
		if strings.Contains(p, "x86_64-windows") {
			// Built on Windows: CRLF line ends.
			if m.SvcUser != "hab" || len(m.BuildDeps) != 1 || m.Other["LIB_DIRS"] == nil {
				t.Errorf("windows testapp: svc user %q build deps %v other %v", m.SvcUser, m.BuildDeps, m.Other)
			}
		}
	}
}

// TestConformanceWithDependencies installs the real neurosis/testapp harts
// signed by neurosis-20171211220037 (whose key lies beside them) once their
// runtime dependencies are available: here as stand-in harts in the
// artifact cache, built and signed by the test.
func TestConformanceWithDependencies(t *testing.T) {
	ctx := context.Background()
	builder := conformanceData(t, "builder")
	tests := []struct {
		hart   string
		target ident.Target
		deps   []string
		want   string
	}{
		{"neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart", ident.X86_64Linux,
			[]string{"core/glibc/2.27/20190115002733", "core/linux-headers/4.17.12/20190115002705"}, "neurosis/testapp/0.1.13/20190511004436"},
		{"neurosis-testapp-0.1.3-20181116180420-x86_64-linux-kernel2.hart", ident.X86_64LinuxKernel2,
			[]string{"core/glibc/2.23/20180927161247", "core/linux-headers/2.6.39/20180927161217"}, "neurosis/testapp/0.1.3/20181116180420"},
	}
	for _, tt := range tests {
		t.Run(tt.hart, func(t *testing.T) {
			e := newInstallEnv(t)
			e.store.Target = tt.target
			for _, d := range tt.deps {
				e.build(e.artifacts, spec{id: d, target: string(tt.target)})
			}
			in := e.installer()
			in.XZ = hart.XZAuto
			res, err := in.InstallAll(ctx, []string{filepath.Join(builder, tt.hart)})
			if err != nil {
				t.Fatalf("%v\n%s", err, e.rec)
			}
			want := append([]string{tt.want}, tt.deps...)
			slices.Sort(want)
			if got := e.installed(); !slices.Equal(got, want) {
				t.Errorf("installed %v, want %v", got, want)
			}
			if len(res[0].Installed) != 3 || res[0].Installed[2].String() != tt.want {
				t.Errorf("install order %v", res[0].Installed)
			}
			env, err := e.store.RuntimeEnvironment(ctx, res[0].Package, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(env) != 1 || env[0].Name != "PATH" || env[0].Value != "/hab/pkgs/"+tt.deps[0]+"/bin" {
				t.Errorf("runtime environment %v", env)
			}
			// The dependencies cannot go while testapp needs them.
			if _, err := e.store.Uninstall(ctx, ident.MustParse(tt.deps[0]), UninstallOptions{}); !errors.Is(err, ErrHasDependents) {
				t.Errorf("uninstall of a needed dependency: %v", err)
			}
			e.assertClean()
		})
	}
}
