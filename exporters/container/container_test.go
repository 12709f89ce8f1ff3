package container_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/internal/exptest"
)

func request(e *exptest.Env, args ...string) container.Request {
	return container.Request{
		Args:       args,
		Gather:     e.Gather(),
		Image:      container.Options{CacheDir: filepath.Join(e.Cache, "layers"), Jobs: 2},
		ResultsDir: filepath.Join(e.Work, "export"),
		WorkDir:    e.Work,
	}
}

func export(t *testing.T, r container.Request) *container.Result {
	t.Helper()
	res, err := container.Export(context.Background(), r)
	if err != nil {
		t.Fatalf("export %v: %v", r.Args, err)
	}
	return res
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

// eachEntry calls fn with every entry of the image's layers, bottom
// layer first, and a reader of its content.
func eachEntry(t *testing.T, img v1.Image, fn func(h *tar.Header, r io.Reader)) {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			fn(h, tr)
		}
		rc.Close()
	}
}

// files lists every entry of the image's layers, merged as a runtime
// would (later layers over earlier ones), with their headers.
func files(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	eachEntry(t, img, func(h *tar.Header, _ io.Reader) { out[strings.TrimSuffix(h.Name, "/")] = h })
	return out
}

// TestExportArchiveAndLayout exports the service fixture to a docker-load
// archive and an OCI layout and checks them with skopeo, umoci and podman,
// and the unpacked root file by file.
func TestExportArchiveAndLayout(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	r := request(e, svc.Ident.String())
	res := export(t, r)
	if want := filepath.Join(r.ResultsDir, "habtest-service-0.1.0-"+svc.Ident.Release+".tar"); res.Archive != want {
		t.Fatalf("archive %s, want %s", res.Archive, want)
	}
	if !slices.Equal(res.Names.Tags, []string{"latest", "0.1.0", "0.1.0-" + svc.Ident.Release}) || res.Names.Name != "habtest/service" {
		t.Errorf("names %+v", res.Names)
	}
	// skopeo reads the archive: digest of the config, labels, ports.
	var inspect struct {
		Digest string
		Labels map[string]string
		Layers []string
	}
	if err := json.Unmarshal([]byte(exptest.Run(t, "skopeo", "inspect", "docker-archive:"+res.Archive)), &inspect); err != nil {
		t.Fatal(err)
	}
	if inspect.Labels["sh.habitat.package.ident"] != svc.Ident.String() || inspect.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" ||
		inspect.Labels["org.opencontainers.image.title"] != "habtest/service" || inspect.Labels["org.opencontainers.image.revision"] != svc.Ident.Release {
		t.Errorf("labels %v", inspect.Labels)
	}
	if len(inspect.Layers) != 5 { // base, busybox, hab, service, entry
		t.Errorf("%d layers, want 5: %v", len(inspect.Layers), inspect.Layers)
	}
	env := exptest.Run(t, "cat", filepath.Join(r.ResultsDir, "last_container_export.env"))
	if !strings.Contains(env, "name=habtest/service\n") || !strings.Contains(env, "name_tags=habtest/service:latest,habtest/service:0.1.0,") {
		t.Errorf("last_container_export.env:\n%s", env)
	}

	// The same export as an OCI layout: skopeo, then umoci unpacks it.
	r.OCILayout = filepath.Join(e.Work, "oci")
	res2 := export(t, r)
	if res2.Digest != res.Digest {
		t.Errorf("layout image %s, archive image %s", res2.Digest, res.Digest)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal([]byte(exptest.Run(t, "skopeo", "inspect", "--config", "oci:"+r.OCILayout+":0.1.0-"+svc.Ident.Release)), &cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"9631/tcp", "9638/tcp", "8080/tcp"} {
		if _, ok := cfg.Config.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, cfg.Config.ExposedPorts)
		}
	}
	if _, ok := cfg.Config.Volumes["/hab/svc/service/data"]; !ok || !slices.Equal(cfg.Config.Entrypoint, []string{"/init.sh"}) ||
		!slices.Equal(cfg.Config.Cmd, []string{"run", svc.Ident.String()}) || !slices.Contains(cfg.Config.Env, "PATH=/bin") {
		t.Errorf("config %+v", cfg.Config)
	}
	bundle := filepath.Join(e.Work, "bundle")
	exptest.Run(t, "umoci", "unpack", "--rootless", "--image", r.OCILayout+":latest", bundle)
	rootfs := filepath.Join(bundle, "rootfs")
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(rootfs, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if pw := read("etc/passwd"); !strings.HasPrefix(pw, "root:x:0:0:") || !strings.Contains(pw, "\nhab:x:84:84:") {
		t.Errorf("/etc/passwd (service runs as root:root, so hab is 84):\n%s", pw)
	}
	if gr := read("etc/group"); !strings.Contains(gr, "\nhab:x:84:hab\n") || !strings.Contains(gr, "\nusers:x:999:\n") {
		t.Errorf("/etc/group:\n%s", gr)
	}
	if init := read("init.sh"); !strings.Contains(init, "exec /bin/hab sup run '"+svc.Ident.String()+"' \"$@\"") || !strings.HasPrefix(init, "#!/hab/pkgs/core/busybox-static/") {
		t.Errorf("/init.sh:\n%s", init)
	}
	for _, f := range []string{"etc/nsswitch.conf", "hab/sbom.spdx.json", "bin/sh", "bin/hab", "hab/bin/hab", "bin/habtest-service",
		"hab/pkgs/habtest/service/0.1.0/" + svc.Ident.Release + "/run", "hab/svc/service/data"} {
		p := filepath.Join(rootfs, f)
		if target, err := os.Readlink(p); err == nil && filepath.IsAbs(target) {
			p = filepath.Join(rootfs, target) // a link resolves inside the image
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the unpacked image lacks /%s: %v", f, err)
		}
	}
	for _, d := range []string{"tmp", "var/tmp"} {
		if fi, err := os.Stat(filepath.Join(rootfs, d)); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
			t.Errorf("/%s is not 1777: %v %v", d, fi, err)
		}
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct{ Name, VersionInfo, LicenseDeclared string }
	}
	if err := json.Unmarshal([]byte(read("hab/sbom.spdx.json")), &doc); err != nil || doc.SPDXVersion != "SPDX-2.3" || len(doc.Packages) != 3 {
		t.Errorf("SBOM: %v %+v", err, doc)
	}
	beside, err := os.ReadFile(res.SBOMs[0])
	if err != nil || string(beside) != read("hab/sbom.spdx.json") {
		t.Errorf("the SBOM beside the output differs from the image's: %v", err)
	}

	// podman loads the archive into a store of its own.
	store := t.TempDir()
	out := exptest.Run(t, "podman", "--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs", "load", "-i", res.Archive)
	if !strings.Contains(out, "habtest/service:0.1.0-"+svc.Ident.Release) {
		t.Errorf("podman load: %s", out)
	}
	t.Cleanup(func() {
		exptest.Run(t, "podman", "--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs", "system", "reset", "-f")
	})
}

// TestReproducible: the same closure gives the same image digest, from a
// cold cache too; changing only the creation time changes no layer; two
// images sharing packages share their layers; re-exporting after a new
// release of the top package adds only that package's layer and the
// image's own small top layer to the layout.
func TestReproducible(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	e.Build("sh")
	e.Build("wrapper") // and habtest/sh, its dependency, from the same root
	r := request(e, svc.Ident.String())
	r.OCILayout = filepath.Join(e.Work, "oci")
	a := export(t, r)

	cold := r
	cold.Image.CacheDir = filepath.Join(t.TempDir(), "layers")
	cold.OCILayout = ""
	cold.ResultsDir = t.TempDir()
	b := export(t, cold)
	if a.Digest != b.Digest {
		t.Fatalf("the same closure gave %s, then %s from a cold cache", a.Digest, b.Digest)
	}

	later := r
	later.OCILayout = ""
	later.Image.Created = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := export(t, later)
	if c.Digest == a.Digest {
		t.Error("another creation time gave the same image")
	}
	if !slices.Equal(layerDigests(t, a.Images[0]), layerDigests(t, c.Images[0])) {
		t.Error("changing only the creation time changed layers")
	}
	cf, _ := c.Images[0].ConfigFile()
	if !cf.Created.Time.Equal(later.Image.Created) {
		t.Errorf("created %v", cf.Created)
	}
	if created, _ := a.Images[0].ConfigFile(); !created.Created.Time.Equal(a.Images[0].Closure.Primary.ModTime()) {
		t.Errorf("created %v, want the newest release %v", created.Created, a.Images[0].Closure.Primary.ModTime())
	}

	// Two images sharing packages share their layers.
	both := export(t, request(e, svc.Ident.String(), "habtest/wrapper"))
	la, lb := layerDigests(t, a.Images[0]), layerDigests(t, both.Images[0])
	for i := 0; i < 3; i++ { // base, busybox, hab
		if la[i] != lb[i] {
			t.Errorf("layer %d differs between two images holding the same package: %s, %s", i, la[i], lb[i])
		}
	}

	// A new release of the top package: only its layer and the entry
	// layer are new blobs in the layout.
	before := blobs(t, r.OCILayout)
	svc2 := e.Build("service")
	r.Args = []string{svc2.Ident.String()}
	d := export(t, r)
	added := 0
	for b := range blobs(t, r.OCILayout) {
		if !before[b] {
			added++
		}
	}
	if added != 4 { // service layer, entry layer, config, manifest
		t.Errorf("%d blobs added to the layout, want 4 (two layers, config, manifest)", added)
	}
	ld := layerDigests(t, d.Images[0])
	if !slices.Equal(ld[:3], la[:3]) || ld[3] == la[3] {
		t.Errorf("layers before %v, after %v", la, ld)
	}
	p, err := layout.FromPath(r.OCILayout)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := idx.IndexManifest()
	if len(m.Manifests) != 4 { // one descriptor per tag; the old release keeps its own tag
		t.Errorf("index has %d manifests, want 4", len(m.Manifests))
	}
	for _, desc := range m.Manifests {
		tag, want := desc.Annotations["org.opencontainers.image.ref.name"], d.Digest
		if tag == "0.1.0-"+svc.Ident.Release {
			want = a.Digest
		}
		if desc.Digest.String() != want {
			t.Errorf("tag %s names %s, want %s", tag, desc.Digest, want)
		}
	}
}

func blobs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out
}

// TestMaxLayers: with a budget smaller than the closure the packages
// between the first ones and the top one share a layer, and no file is
// lost.
func TestMaxLayers(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	e.Build("sh")
	wr := e.Build("wrapper")
	full := export(t, request(e, svc.Ident.String(), wr.Ident.String()))
	r := request(e, svc.Ident.String(), wr.Ident.String())
	r.Image.MaxLayers = 4
	small := export(t, r)
	if n := len(layerDigests(t, full.Images[0])); n != 7 { // base, busybox, hab, sh, wrapper, service, entry
		t.Errorf("%d layers in the full image, want 7", n)
	}
	if n := len(layerDigests(t, small.Images[0])); n != 4 {
		t.Errorf("%d layers with --max-layers 4", n)
	}
	fa, fb := files(t, full.Images[0]), files(t, small.Images[0])
	if len(fa) != len(fb) {
		t.Errorf("%d entries in the full image, %d in the merged one", len(fa), len(fb))
	}
	for name, h := range fa {
		g, ok := fb[name]
		if !ok {
			t.Errorf("merged image lost %s", name)
			continue
		}
		if g.Size != h.Size || g.Mode != h.Mode || g.Linkname != h.Linkname {
			t.Errorf("%s differs: %+v, %+v", name, g, h)
		}
	}
	r.Image.MaxLayers = 3
	if _, err := container.Export(context.Background(), r); err == nil || !strings.Contains(err.Error(), "--max-layers 3") {
		t.Errorf("max layers 3: %v", err)
	}
}
