// Package elfarch tells which machine an ELF binary is built for and
// checks it against a package target's: the exporters refuse a binary
// of another machine in an image, and the supervisor's self-update a
// hab binary it could not run.
package elfarch

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"

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

// FileMachine reads the machine of an ELF file; ok is false when the
// file is not ELF (a script, data).
func FileMachine(path string) (m elf.Machine, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, false, nil // shorter than the magic: not ELF
		}
		return 0, false, err // a directory, an I/O error
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

// ErrOtherMachine is Check's error for an ELF binary of another machine.
var ErrOtherMachine = errors.New("built for another machine")

// Check fails unless the file at path is an ELF binary for target.
// what names it in the error (hab binary, shell).
func Check(path string, target ident.Target, what string) error {
	want, err := Machine(target)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	m, ok, err := FileMachine(path)
	if err != nil {
		return fmt.Errorf("%s for target %s: %w", what, target, err)
	}
	if !ok {
		return fmt.Errorf("%s for target %s: %s is not an ELF binary", what, target, path)
	}
	if m != want {
		return fmt.Errorf("%s for target %s: %s is built for %s, not %s (%w)", what, target, path, m, want, ErrOtherMachine)
	}
	return nil
}
