// Package ident holds Habitat package identifiers (origin/name/version/release),
// their validation, and the version ordering the original Habitat uses to pick
// the "latest" package.
package ident

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrInvalid is wrapped by every identifier parse error so callers can test
// for it with errors.Is.
var ErrInvalid = errors.New("invalid package identifier")

var (
	originRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// Ident is a package identifier. Version and Release may be empty, in which
// case the identifier is partial and matches any version or release.
type Ident struct {
	Origin  string
	Name    string
	Version string
	Release string
}

// Parse reads "origin/name[/version[/release]]". Leading and trailing slashes
// are not accepted; each part is validated.
func Parse(s string) (Ident, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 4 {
		return Ident{}, fmt.Errorf("%w %q: expected origin/name[/version[/release]]", ErrInvalid, s)
	}
	id := Ident{Origin: parts[0], Name: parts[1]}
	if len(parts) > 2 {
		id.Version = parts[2]
		if id.Version == "" {
			return Ident{}, fmt.Errorf("%w %q: empty version", ErrInvalid, s)
		}
	}
	if len(parts) > 3 {
		id.Release = parts[3]
		if id.Release == "" {
			return Ident{}, fmt.Errorf("%w %q: empty release", ErrInvalid, s)
		}
	}
	if err := id.Validate(); err != nil {
		return Ident{}, err
	}
	return id, nil
}

// MustParse is Parse for identifiers known at compile time; it panics on error.
func MustParse(s string) Ident {
	id, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return id
}

// ParseFullyQualified parses s and requires version and release.
func ParseFullyQualified(s string) (Ident, error) {
	id, err := Parse(s)
	if err != nil {
		return Ident{}, err
	}
	if !id.FullyQualified() {
		return Ident{}, fmt.Errorf("%w %q: a fully qualified identifier (origin/name/version/release) is required", ErrInvalid, s)
	}
	return id, nil
}

// Validate checks each part of the identifier.
func (id Ident) Validate() error {
	if !ValidOrigin(id.Origin) {
		return fmt.Errorf("%w %q: origin %q must be lowercase letters, digits, '_' or '-', starting with a letter or digit", ErrInvalid, id.String(), id.Origin)
	}
	if !ValidName(id.Name) {
		return fmt.Errorf("%w %q: name %q may contain only letters, digits, '_' and '-'", ErrInvalid, id.String(), id.Name)
	}
	if id.Version == "" && id.Release != "" {
		return fmt.Errorf("%w %q: a release needs a version", ErrInvalid, id.String())
	}
	for _, p := range []struct{ what, v string }{{"version", id.Version}, {"release", id.Release}} {
		if p.v == "" {
			continue
		}
		if err := CheckPart(p.what, p.v); err != nil {
			return fmt.Errorf("%w %+q: %v", ErrInvalid, id.String(), err)
		}
	}
	return nil
}

// ValidOrigin reports whether s is a valid origin name.
func ValidOrigin(s string) bool { return len(s) <= 255 && originRE.MatchString(s) }

// ValidName reports whether s is a valid package name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// FullyQualified reports whether version and release are both set.
func (id Ident) FullyQualified() bool { return id.Version != "" && id.Release != "" }

// String formats the identifier with slashes, omitting unset parts.
func (id Ident) String() string {
	var b strings.Builder
	b.WriteString(id.Origin)
	b.WriteByte('/')
	b.WriteString(id.Name)
	if id.Version != "" {
		b.WriteByte('/')
		b.WriteString(id.Version)
		if id.Release != "" {
			b.WriteByte('/')
			b.WriteString(id.Release)
		}
	}
	return b.String()
}

// Parts returns the set parts in order (origin, name[, version[, release]]).
func (id Ident) Parts() []string {
	p := []string{id.Origin, id.Name}
	if id.Version != "" {
		p = append(p, id.Version)
		if id.Release != "" {
			p = append(p, id.Release)
		}
	}
	return p
}

// Satisfies reports whether the concrete identifier id matches the (possibly
// partial) identifier want: origin and name equal, and version and release
// equal where want sets them.
func (id Ident) Satisfies(want Ident) bool {
	if id.Origin != want.Origin || id.Name != want.Name {
		return false
	}
	if want.Version != "" && id.Version != want.Version {
		return false
	}
	if want.Release != "" && id.Release != want.Release {
		return false
	}
	return true
}

// ArchiveName is the file name of the artifact for this identifier and
// target: ORIGIN-NAME-VERSION-RELEASE-TARGET.hart.
func (id Ident) ArchiveName(t Target) (string, error) {
	if !id.FullyQualified() {
		return "", fmt.Errorf("archive name for %s: %w: not fully qualified", id, ErrInvalid)
	}
	return fmt.Sprintf("%s-%s-%s-%s-%s.hart", id.Origin, id.Name, id.Version, id.Release, t), nil
}

// Compare orders two identifiers of the same package: by version (see
// CompareVersions), then by release. Origin and name are compared first,
// lexically, so that a slice of mixed packages sorts deterministically.
func Compare(a, b Ident) int {
	if c := strings.Compare(a.Origin, b.Origin); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := CompareVersions(a.Version, b.Version); c != 0 {
		return c
	}
	return strings.Compare(a.Release, b.Release)
}

// Latest returns the greatest identifier of candidates under Compare, and
// false when candidates is empty.
func Latest(candidates []Ident) (Ident, bool) {
	if len(candidates) == 0 {
		return Ident{}, false
	}
	best := candidates[0]
	for _, c := range candidates[1:] {
		if Compare(c, best) > 0 {
			best = c
		}
	}
	return best, true
}
