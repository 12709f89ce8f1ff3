package pkgs

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	rxz "github.com/therootcompany/xz"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
)

// peekIdent reads the identifier of the package a hart holds from the
// path of its first entries (hab/pkgs/ORIGIN/NAME/VERSION/RELEASE/...),
// decompressing only the start of the payload. It does not check the
// signature: it only tells which package the hart claims to be, so that
// an install can be planned (and skipped when the package is installed)
// without a pass over the whole payload; Extract then checks that the
// package really is that one.
func peekIdent(ctx context.Context, path string) (ident.Ident, error) {
	f, err := os.Open(path)
	if err != nil {
		return ident.Ident{}, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if _, err := hart.ReadHeader(br); err != nil {
		return ident.Ident{}, fmt.Errorf("%s: %w", path, err)
	}
	zr, err := rxz.NewReader(br, 0)
	if err != nil {
		return ident.Ident{}, fmt.Errorf("%s: %w: payload is not xz-compressed: %v", path, hart.ErrFormat, err)
	}
	tr := tar.NewReader(zr)
	for range 64 {
		if err := ctx.Err(); err != nil {
			return ident.Ident{}, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ident.Ident{}, fmt.Errorf("%s: %w: payload: %v", path, hart.ErrFormat, err)
		}
		var comps []string
		for _, c := range strings.Split(hdr.Name, "/") {
			if c != "" && c != "." {
				comps = append(comps, c)
			}
		}
		if len(comps) < 6 {
			continue
		}
		if comps[0] != "hab" || comps[1] != "pkgs" {
			break
		}
		id := ident.Ident{Origin: comps[2], Name: comps[3], Version: comps[4], Release: comps[5]}
		if err := id.Validate(); err != nil {
			return ident.Ident{}, fmt.Errorf("%s: %w: package path %q: %v", path, hart.ErrFormat, hdr.Name, err)
		}
		return id, nil
	}
	return ident.Ident{}, fmt.Errorf("%s: %w: the payload does not start with a package directory hab/pkgs/ORIGIN/NAME/VERSION/RELEASE/", path, hart.ErrFormat)
}
