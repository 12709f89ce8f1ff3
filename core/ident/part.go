package ident

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxPartLen is the longest version or release accepted, in bytes. Both
// end up in file names (ORIGIN-NAME-VERSION-RELEASE-TARGET.hart, the
// store's VERSION/RELEASE directories, temporary names beside them),
// which a file system caps at 255 bytes; real versions are far shorter
// (the longest in core-plans is under 40).
const MaxPartLen = 128

// CheckPart checks a version or release (what names which; "version" or
// "release") with the one rule every part of an identifier after the
// name follows: not empty, at most MaxPartLen bytes of valid UTF-8,
// neither "." nor "..", and no '/', white space, control characters
// (escape sequences included) or format characters (Unicode direction
// overrides and isolates, zero-width characters), so that a version is
// always one file name that prints as what it is. The error shows the
// value quoted, with what it refuses escaped.
func CheckPart(what, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%s is empty", what)
	case len(v) > MaxPartLen:
		return fmt.Errorf("%s %.40q... is %d bytes long, over the %d a %s may have", what, v, len(v), MaxPartLen, what)
	case v == "." || v == "..":
		return fmt.Errorf("%s %q is not allowed: it would name a directory, not a %s", what, v, what)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s %q is not valid UTF-8", what, v)
	}
	for _, r := range v {
		switch {
		case r == '/':
			return fmt.Errorf("%s %q contains '/'", what, v)
		case unicode.IsSpace(r):
			return fmt.Errorf("%s %q contains white space", what, v)
		case unicode.IsControl(r):
			return fmt.Errorf("%s %q contains a control character (%U)", what, v, r)
		case unicode.Is(unicode.Cf, r):
			return fmt.Errorf("%s %+q contains an invisible formatting character (%U, such as a text direction override)", what, v, r)
		}
	}
	return nil
}

// ReleaseLayout is the form of a release: the UTC time of the build.
const ReleaseLayout = "20060102150405"

// ReleaseTime is the time a release names (YYYYMMDDhhmmss, UTC).
func ReleaseTime(release string) (time.Time, error) {
	if len(release) != len(ReleaseLayout) || strings.Trim(release, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("release %q is not a time of the form YYYYMMDDhhmmss", release)
	}
	t, err := time.Parse(ReleaseLayout, release)
	if err != nil {
		return time.Time{}, fmt.Errorf("release %q is not a time of the form YYYYMMDDhhmmss: %w", release, err)
	}
	return t, nil
}
