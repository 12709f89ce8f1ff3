package closure

import (
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/habgo/hab/core/ident"
)

// Machine is the ELF machine that binaries of target run on.
func Machine(target ident.Target) (elf.Machine, error) {
	switch target {
	case ident.X86_64Linux, ident.X86_64LinuxKernel2:
		return elf.EM_X86_64, nil
	case ident.AArch64Linux:
		return elf.EM_AARCH64, nil
	}
	return 0, fmt.Errorf("target %s: no known ELF machine for its binaries", target)
}

// ELFMachine reads the machine of an ELF file; ok is false when the file
// is not ELF (a script, data).
func ELFMachine(path string) (m elf.Machine, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return 0, false, nil // shorter than a header: not ELF
	}
	if string(magic[:]) != elf.ELFMAG {
		return 0, false, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	return ef.Machine, true, nil
}

// CheckBinary fails unless the file at path is an ELF binary for target.
// what names it in the error (hab binary, shell).
func CheckBinary(path string, target ident.Target, what string) error {
	want, err := Machine(target)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	m, ok, err := ELFMachine(path)
	if err != nil {
		return fmt.Errorf("%s for target %s: %w", what, target, err)
	}
	if !ok {
		return fmt.Errorf("%s for target %s: %s is not an ELF binary", what, target, path)
	}
	if m != want {
		return fmt.Errorf("%s for target %s: %s is built for %s, not %s: an image of one target never holds another's binaries", what, target, path, m, want)
	}
	return nil
}

// CheckPackage fails when any ELF file in package p's tree is built for
// another machine than target's.
func CheckPackage(p *Package, target ident.Target) error {
	want, err := Machine(target)
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
		m, ok, err := ELFMachine(path)
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
