package closure

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/habgo/hab/core/hart"
)

// WriteTrees writes the package trees of ps (hab/pkgs/O/N/V/R, in the
// deterministic form of core/hart.Tar, each entry with its package's
// ModTime) into tw, in the order given. A directory met before (listed in
// dirs, which WriteTrees fills: hab/, hab/pkgs/, an origin shared by two
// packages) is written once.
func WriteTrees(ctx context.Context, tw *tar.Writer, ps []*Package, dirs map[string]bool) error {
	for _, p := range ps {
		if err := writeTree(ctx, tw, p, dirs); err != nil {
			return fmt.Errorf("archive %s: %w", p.Ident, err)
		}
	}
	return nil
}

func writeTree(ctx context.Context, tw *tar.Writer, p *Package, dirs map[string]bool) error {
	pr, pw := io.Pipe()
	defer pr.Close()
	mt := p.ModTime()
	go func() {
		pw.CloseWithError(hart.Tar(ctx, pw, p.FSRoot, p.Ident, hart.TarOptions{ModTime: &mt}))
	}()
	tr := tar.NewReader(pr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeDir {
			name := strings.TrimSuffix(hdr.Name, "/")
			if dirs[name] {
				continue
			}
			dirs[name] = true
		}
		hdr.PAXRecords = nil
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}
