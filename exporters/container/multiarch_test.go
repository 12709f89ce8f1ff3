package container_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/internal/exptest"
)

// TestMultiArchIndex: harts of two targets give an OCI index with one
// image per platform, which skopeo reads for each. The aarch64 image gets
// a hab cross-compiled from this tree; its shell is the host's busybox
// (Debian's busybox-static for arm64 is not installed here), so this
// checks the index and the images' platforms, not that the arm64 image
// runs.
func TestMultiArchIndex(t *testing.T) {
	e := exptest.New(t)
	amd := e.BuildFor("service", ident.X86_64Linux)
	arm := e.BuildFor("service", ident.AArch64Linux)
	r := request(e, amd.Artifact, arm.Artifact)
	r.Gather.HabBinary[ident.AArch64Linux] = exptest.Hab(t)
	r.Gather.Busybox[ident.AArch64Linux] = exptest.Busybox(t)
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
	for _, d := range tm.Manifests {
		plats = append(plats, d.Platform.OS+"/"+d.Platform.Architecture)
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
