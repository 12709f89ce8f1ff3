package container_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/internal/exptest"
)

// elfMachines reads every regular file of the image's layers and returns
// the ELF machine of each that is an ELF file, by path.
func elfMachines(t *testing.T, img v1.Image) map[string]elf.Machine {
	t.Helper()
	out := map[string]elf.Machine{}
	eachEntry(t, img, func(h *tar.Header, r io.Reader) {
		if h.Typeflag != tar.TypeReg {
			return
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
			return
		}
		f, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		out[h.Name] = f.Machine
	})
	return out
}

// TestMultiArchIndex: harts of two targets give an OCI index with one
// image per platform, which skopeo reads for each. Each platform's image
// carries binaries of its own machine only (every ELF file of its layers
// is checked): the x86-64 image this machine's hab and busybox, the
// aarch64 image a hab cross-built for arm64 and a shell package of that
// target (gosh built for arm64, from the artifact cache, as the original
// takes core/busybox-static from the depot).
func TestMultiArchIndex(t *testing.T) {
	e := exptest.New(t)
	amd := e.BuildFor("service", ident.X86_64Linux)
	arm := e.BuildFor("service", ident.AArch64Linux)
	e.ShellFor(ident.AArch64Linux, "arm64")
	r := request(e, amd.Artifact, arm.Artifact)
	r.Gather.HabBinary[ident.AArch64Linux] = exptest.HabFor(t, "arm64")
	r.Gather.ShellPackage = exptest.ShellPackage
	r.OCILayout = filepath.Join(e.Work, "oci")
	res, err := container.Export(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 2 || len(res.SBOMs) != 2 {
		t.Fatalf("%d images, %d SBOMs", len(res.Images), len(res.SBOMs))
	}
	p, _ := layout.FromPath(r.OCILayout)
	idx, _ := p.ImageIndex()
	m, _ := idx.IndexManifest()
	top, err := idx.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := top.IndexManifest()
	var plats []string
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, d := range tm.Manifests {
		plats = append(plats, d.Platform.OS+"/"+d.Platform.Architecture)
		img, err := top.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		ms := elfMachines(t, img)
		var habs, shells int
		for name, mach := range ms {
			if mach != want[d.Platform.Architecture] {
				t.Errorf("%s image: %s is built for %s", d.Platform.Architecture, name, mach)
			}
			switch {
			case strings.HasSuffix(name, "/bin/hab"):
				habs++
			case strings.HasSuffix(name, "/bin/busybox"), strings.HasSuffix(name, "/bin/gosh"):
				shells++
			}
		}
		if habs != 1 || shells != 1 {
			t.Errorf("%s image: %d hab and %d shell binaries among its ELF files %v", d.Platform.Architecture, habs, shells, ms)
		}
	}
	if !slices.Equal(plats, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v", plats)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		var cfg struct{ Architecture string }
		out := exptest.Run(t, "skopeo", "--override-arch", arch, "inspect", "--config", "oci:"+r.OCILayout+":latest")
		if err := json.Unmarshal([]byte(out), &cfg); err != nil || cfg.Architecture != arch {
			t.Errorf("skopeo --override-arch %s: %v %s", arch, err, out)
		}
	}
	// An archive holds one platform: refused, nothing left.
	r.OCILayout = ""
	r.ResultsDir = filepath.Join(t.TempDir(), "results")
	if _, err := container.Export(context.Background(), r); err == nil {
		t.Error("a docker-load archive of two platforms was written")
	}
}

// TestMultiArchRefusesForeignBinaries: an aarch64 export never carries
// another machine's binary, and lacking one is an error naming the target
// and what is missing; no layout is written.
func TestMultiArchRefusesForeignBinaries(t *testing.T) {
	e := exptest.New(t)
	arm := e.BuildFor("service", ident.AArch64Linux)
	armShell := e.ShellFor(ident.AArch64Linux, "arm64")
	for _, tc := range []struct {
		name  string
		setup func(r *container.Request)
		want  []string
	}{
		{"host hab for aarch64", func(r *container.Request) {
			r.Gather.HabBinary[ident.AArch64Linux] = exptest.Hab(t)
			r.Gather.ShellPackage = exptest.ShellPackage
		}, []string{"hab for target aarch64-linux", "built for EM_X86_64, not EM_AARCH64", "never holds another's binaries"}},
		{"host busybox for aarch64", func(r *container.Request) {
			r.Gather.HabBinary[ident.AArch64Linux] = exptest.HabFor(t, "arm64")
			r.Gather.Busybox[ident.AArch64Linux] = exptest.Busybox(t)
		}, []string{"shell for target aarch64-linux", "/bin/busybox is built for EM_X86_64", "never holds another's binaries"}},
		{"no hab for aarch64", func(r *container.Request) {
			r.Gather.ShellPackage = exptest.ShellPackage
		}, []string{"no hab for target aarch64-linux", "core/hab"}},
		{"no shell for aarch64", func(r *container.Request) {
			r.Gather.HabBinary[ident.AArch64Linux] = exptest.HabFor(t, "arm64")
		}, []string{"no shell for target aarch64-linux", "core/busybox-static"}},
		{"shell package of x86-64 binaries for aarch64", func(r *container.Request) {
			// Replace the shell hart in the artifact cache by one whose
			// gosh is built for amd64, under the same target.
			if err := os.Remove(armShell.CachedArtifact); err != nil {
				t.Fatal(err)
			}
			e.ShellFor(ident.AArch64Linux, "amd64")
			r.Gather.HabBinary[ident.AArch64Linux] = exptest.HabFor(t, "arm64")
			r.Gather.ShellPackage = exptest.ShellPackage
		}, []string{"shell for target aarch64-linux", "habtest/gosh", "bin/gosh is built for EM_X86_64, not EM_AARCH64", "never holds another's binaries"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := request(e, arm.Artifact)
			r.OCILayout = filepath.Join(t.TempDir(), "oci")
			tc.setup(&r)
			_, err := container.Export(context.Background(), r)
			if err == nil {
				t.Fatal("exported")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if _, serr := os.Stat(r.OCILayout); serr == nil {
				t.Errorf("a refused export left %s", r.OCILayout)
			}
		})
	}
}
