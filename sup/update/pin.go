package update

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/ident"
)

// Pin is the release an update worker moved a service to, kept in the
// supervisor's data directory so that a restarted supervisor starts that
// release, not the newest one installed: after a rollback
// (track-channel following a demotion) the newer release stays
// installed. It also holds the settings of the worker that made it: a
// pin is good only while the service's spec has the same ones (a spec
// loaded again with another channel, strategy or condition, or another
// ident, drops it).
//
// The original gets there by uninstalling every release newer than the
// one moved to before the service starts again; a pin leaves the
// packages alone, and is written before the service restarts, so that
// no crash in between leaves the newer release to start.
type Pin struct {
	Release   string `json:"release"` // the fully qualified release the service runs
	Ident     string `json:"ident"`   // the spec's ident the worker polled for
	BldrURL   string `json:"bldr_url"`
	Channel   string `json:"channel"`
	Strategy  string `json:"update_strategy"`
	Condition string `json:"update_condition"`
}

// PinPath is the pin file of service name in the supervisor's data
// directory dir.
func PinPath(dir, name string) string { return filepath.Join(dir, name+".pin") }

// check tells why p is no pin: its release must be a fully qualified
// ident that satisfies its ident.
func (p Pin) check() error {
	rel, err := ident.Parse(p.Release)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if !rel.FullyQualified() {
		return fmt.Errorf("release %q is not ORIGIN/NAME/VERSION/RELEASE", p.Release)
	}
	want, err := ident.Parse(p.Ident)
	if err != nil {
		return fmt.Errorf("ident: %w", err)
	}
	if !rel.Satisfies(want) {
		return fmt.Errorf("release %s is not a release of %s", p.Release, p.Ident)
	}
	return nil
}

// ReleaseIdent is the pinned release (Pins read or written are checked:
// it parses).
func (p Pin) ReleaseIdent() ident.Ident {
	id, _ := ident.Parse(p.Release)
	return id
}

// WritePin writes p to path all or nothing: a temporary file beside it,
// renamed over it.
func WritePin(path string, p Pin) error {
	if err := p.check(); err != nil {
		return fmt.Errorf("write pin file %s: %w", path, err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("write pin file %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644, atomicfile.Durable()); err != nil {
		return fmt.Errorf("write pin file %s: %w", path, err)
	}
	return nil
}

// ReadPin reads the pin file at path; found is false when there is none.
// A file that is not a whole, valid pin is an error naming it.
func ReadPin(path string) (p Pin, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Pin{}, false, nil
	}
	if err != nil {
		return Pin{}, false, fmt.Errorf("read pin file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Pin{}, false, fmt.Errorf("pin file %s: %w", path, err)
	}
	if dec.More() {
		return Pin{}, false, fmt.Errorf("pin file %s: more than one pin", path)
	}
	if err := p.check(); err != nil {
		return Pin{}, false, fmt.Errorf("pin file %s: %w", path, err)
	}
	return p, true, nil
}

// RemovePin removes the pin file at path; none is not an error.
func RemovePin(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pin file: %w", err)
	}
	return nil
}
