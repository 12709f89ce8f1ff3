// Package tar exports a package as a tarball that runs on a machine with
// nothing installed: its runtime closure, this hab and a busybox under
// hab/pkgs, and hab/bin/hab, so that after `tar xf` at / the service
// starts with `/hab/bin/hab sup run IDENT` (the original's tar exporter).
package tar

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/exporters/closure"
)

// Request is one `hab pkg export tar`.
type Request struct {
	Arg    string // a package identifier or a hart
	Gather closure.Options
	// OutDir receives ORIGIN-NAME-VERSION-RELEASE.tar.gz.
	OutDir string
	// NoHabBin leaves hab/bin/hab out (--no-hab-bin).
	NoHabBin bool
	WorkDir  string
}

// Export writes the tarball and returns its path. The archive is written
// beside its final name and renamed into place when complete.
func Export(ctx context.Context, r Request) (string, error) {
	work, err := os.MkdirTemp(r.WorkDir, "hab-export-")
	if err != nil {
		return "", fmt.Errorf("export: work directory: %w", err)
	}
	defer os.RemoveAll(work)
	g := r.Gather
	g.WorkDir = work
	cs, err := closure.Gather(ctx, []string{r.Arg}, g)
	if err != nil {
		return "", err
	}
	c := cs[0]
	id := c.Requested[0].Ident
	out := filepath.Join(r.OutDir, fmt.Sprintf("%s-%s-%s-%s.tar.gz", id.Origin, id.Name, id.Version, id.Release))
	if err := atomicfile.Create(out, 0o644, func(f *os.File) error { return write(ctx, f, c, !r.NoHabBin) }); err != nil {
		return "", fmt.Errorf("write %s: %w", out, err)
	}
	return out, nil
}

func write(ctx context.Context, f *os.File, c *closure.Closure, habBin bool) error {
	z, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(z)
	dirs := map[string]bool{}
	if err := closure.WriteTrees(ctx, tw, c.All(), dirs); err != nil {
		return err
	}
	if habBin && c.Hab != nil {
		mt := c.Hab.ModTime()
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "hab/bin/", Mode: 0o755, ModTime: mt, Uname: "root", Gname: "root"}); err != nil {
			return err
		}
		// A hard link: unpacked, hab/bin/hab is the package's binary.
		target := c.Hab.Prefix()[1:] + "/bin/hab"
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeLink, Name: "hab/bin/hab", Linkname: target, Mode: 0o755, ModTime: mt, Uname: "root", Gname: "root"}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return z.Close()
}
