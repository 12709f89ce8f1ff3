package ident

import (
	"regexp"
	"strings"
)

// versionRE splits a version into its numeric part and an optional
// extension, exactly as the original depot does when it picks the latest
// package: the first run of digits and dots that ends in a digit is the
// number, everything after it is the extension. It is deliberately not
// anchored: "R16B02-5" is the number 16 with the extension "B02-5", and
// "7u79" is 7 with "u79".
var versionRE = regexp.MustCompile(`([\d.]*\d+)(.+)?`)

// Version is a version string split the way the original orders versions.
type Version struct {
	Raw       string
	Numbers   []string // decimal digit strings, leading zeros removed
	Extension string
	HasExt    bool
	Numeric   bool // false when the version holds no digit at all
}

// SplitVersion splits v into its numeric parts and extension.
func SplitVersion(v string) Version {
	m := versionRE.FindStringSubmatchIndex(v)
	if m == nil {
		return Version{Raw: v}
	}
	out := Version{Raw: v, Numeric: true}
	for _, p := range strings.Split(v[m[2]:m[3]], ".") {
		out.Numbers = append(out.Numbers, trimZeros(p))
	}
	if m[4] >= 0 {
		out.Extension = v[m[4]:m[5]]
		out.HasExt = true
	}
	return out
}

func trimZeros(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	return s
}

// compareDigits compares two non-negative decimal integers of any length
// given without leading zeros.
func compareDigits(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// CompareVersions orders two version strings the way the original depot
// orders them when it answers "latest":
//
//   - the numeric parts are compared number by number, as arbitrary-size
//     integers; when one is a prefix of the other, the shorter is older;
//   - with equal numbers, a version without an extension is newer than one
//     with an extension (1.2.3 is newer than 1.2.3-beta12);
//   - two extensions are compared byte by byte ("B03-1" is newer than "B02-5");
//   - a version with no digit at all is older than any version with one, and
//     such versions compare lexically among themselves.
//
// It returns -1, 0 or +1.
func CompareVersions(a, b string) int {
	if a == b {
		return 0
	}
	va, vb := SplitVersion(a), SplitVersion(b)
	switch {
	case !va.Numeric && !vb.Numeric:
		return strings.Compare(a, b)
	case !va.Numeric:
		return -1
	case !vb.Numeric:
		return 1
	}
	n := min(len(va.Numbers), len(vb.Numbers))
	for i := 0; i < n; i++ {
		if c := compareDigits(va.Numbers[i], vb.Numbers[i]); c != 0 {
			return c
		}
	}
	if len(va.Numbers) != len(vb.Numbers) {
		if len(va.Numbers) < len(vb.Numbers) {
			return -1
		}
		return 1
	}
	switch {
	case !va.HasExt && !vb.HasExt:
		return strings.Compare(a, b)
	case !va.HasExt:
		return 1
	case !vb.HasExt:
		return -1
	}
	if c := strings.Compare(va.Extension, vb.Extension); c != 0 {
		return c
	}
	// Same numbers and extension but different text (leading zeros):
	// order lexically so that the ordering stays total.
	return strings.Compare(a, b)
}
