package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/exporters/closure"
)

// Request is one `hab pkg export container`.
type Request struct {
	Args   []string // package identifiers and harts
	Gather closure.Options
	Image  Options
	Naming Naming
	// ResultsDir receives the docker-load archive (unless OCILayout or
	// Push is set), the SBOM and the export report.
	ResultsDir string
	// OCILayout, when set, is the OCI image layout directory written.
	OCILayout string
	// Push pushes the image with Remote's options (credentials).
	Push   bool
	Remote []remote.Option
	// WorkDir is where a temporary work directory is made.
	WorkDir string
}

// Result is what an export wrote.
type Result struct {
	Images  []*Image
	Names   *Names
	Archive string   // the docker-load archive, when written
	SBOMs   []string // the SBOM files beside the output
	Digest  string   // of the image, or of the index
}

// Export gathers the closure of the request's packages, builds the image
// (one per target) and writes or pushes it. On failure nothing it was
// writing is left behind.
func Export(ctx context.Context, r Request) (*Result, error) {
	imgs, err := Images(ctx, r.Args, r.Gather, r.Image, r.WorkDir)
	if err != nil {
		return nil, err
	}
	res := &Result{Images: imgs}
	first := res.Images[0]
	if res.Names, err = r.Naming.Resolve(first.Primary.Ident); err != nil {
		return nil, err
	}
	if len(res.Images) > 1 {
		idx, err := Index(res.Images)
		if err != nil {
			return nil, err
		}
		d, err := idx.Digest()
		if err != nil {
			return nil, err
		}
		res.Digest = d.String()
	} else {
		d, err := first.Digest()
		if err != nil {
			return nil, err
		}
		res.Digest = d.String()
	}
	if err := os.MkdirAll(r.ResultsDir, 0o755); err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	var written []string // removed again if a later step fails
	fail := func(err error) (*Result, error) {
		for _, f := range written {
			os.Remove(f)
		}
		return nil, err
	}
	for _, img := range res.Images {
		name := strings.TrimSuffix(ArchiveName(img), ".tar")
		if len(res.Images) > 1 {
			name += "-" + string(img.Closure.Target)
		}
		p := filepath.Join(r.ResultsDir, name+".spdx.json")
		if err := atomicfile.WriteFile(p, img.SBOM, 0o644); err != nil {
			return fail(fmt.Errorf("write SBOM %s: %w", p, err))
		}
		written = append(written, p)
		res.SBOMs = append(res.SBOMs, p)
	}
	if r.OCILayout == "" && !r.Push {
		if len(res.Images) > 1 {
			return fail(errors.New("a docker-load archive holds the image of one target: export harts of several targets with --oci-layout or --push-image"))
		}
		res.Archive = filepath.Join(r.ResultsDir, ArchiveName(first))
		if err := WriteArchive(ctx, res.Archive, first, res.Names); err != nil {
			return fail(err)
		}
		written = append(written, res.Archive)
	}
	if r.OCILayout != "" {
		if err := WriteLayout(ctx, r.OCILayout, res.Images, res.Names); err != nil {
			return fail(err)
		}
	}
	if r.Push {
		if err := Push(ctx, res.Images, res.Names, r.Remote...); err != nil {
			return fail(err)
		}
	}
	if err := WriteReport(r.ResultsDir, first, res.Names); err != nil {
		return fail(err)
	}
	return res, nil
}

// Images gathers the closure of args (one per target, harts installed in
// a temporary directory under workDir, removed before returning) and
// builds the image of each.
func Images(ctx context.Context, args []string, g closure.Options, o Options, workDir string) ([]*Image, error) {
	work, err := os.MkdirTemp(workDir, "hab-export-")
	if err != nil {
		return nil, fmt.Errorf("export: work directory: %w", err)
	}
	defer os.RemoveAll(work)
	g.WorkDir = work
	closures, err := closure.Gather(ctx, args, g)
	if err != nil {
		return nil, err
	}
	var imgs []*Image
	for _, c := range closures {
		img, err := Build(ctx, c, o)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}
