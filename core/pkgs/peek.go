package pkgs

import (
	"context"

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
	_, id, err := hart.ReadIdent(ctx, path, hart.ReadOptions{XZ: hart.XZGo})
	return id, err
}
