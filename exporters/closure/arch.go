package closure

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/habgo/hab/core/elfarch"
	"github.com/habgo/hab/core/ident"
)

// CheckPackage fails when any ELF file in package p's tree is built for
// another machine than target's.
func CheckPackage(p *Package, target ident.Target) error {
	want, err := elfarch.Machine(target)
	if err != nil {
		return fmt.Errorf("package %s: %w", p.Ident, err)
	}
	return filepath.WalkDir(p.Path, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		m, ok, err := elfarch.FileMachine(path)
		if err != nil {
			return fmt.Errorf("package %s: %w", p.Ident, err)
		}
		if ok && m != want {
			rel, _ := filepath.Rel(p.Path, path)
			return fmt.Errorf("package %s for target %s: %s is built for %s, not %s: an image of one target never holds another's binaries", p.Ident, target, rel, m, want)
		}
		return nil
	})
}
