package hart

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/habgo/hab/core/ident"
)

// ErrUnsafeEntry is wrapped (together with ErrFormat) by the refusal of a
// payload entry that would land, or point, outside the package: absolute
// paths, "..", another package's prefix, escaping links.
var ErrUnsafeEntry = errors.New("unsafe entry")

func unsafeEntry(name, format string, a ...any) error {
	return fmt.Errorf("%w: %w: entry %q %s", ErrFormat, ErrUnsafeEntry, name, fmt.Sprintf(format, a...))
}

// layout follows the package prefix hab/pkgs/O/N/V/R while entries are
// read, and places each entry relative to it.
type layout struct {
	parts []string // known components of the prefix: origin, name, version, release
}

// place is where an entry goes.
type place struct {
	parent bool   // hab/, hab/pkgs/ ... hab/pkgs/O/N/V/ (a directory above the prefix)
	rel    string // path below the prefix ("" for the prefix itself), when !parent
	clean  string // cleaned archive path
}

// cleanName validates an archive path and returns its cleaned components.
func cleanName(name string) ([]string, error) {
	if name == "" {
		return nil, unsafeEntry(name, "has an empty name")
	}
	if strings.HasPrefix(name, "/") {
		return nil, unsafeEntry(name, "has an absolute path")
	}
	if strings.ContainsRune(name, 0) || strings.Contains(name, `\`) {
		return nil, unsafeEntry(name, "has a NUL or backslash in its name")
	}
	var comps []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return nil, unsafeEntry(name, "has a \"..\" component")
		}
		comps = append(comps, c)
	}
	return comps, nil
}

// place validates the entry's path against the package prefix seen so far.
func (l *layout) place(hdr *tar.Header) (place, error) {
	comps, err := cleanName(hdr.Name)
	if err != nil {
		return place{}, err
	}
	isDir := hdr.Typeflag == tar.TypeDir
	if len(comps) == 0 {
		if isDir { // "./"
			return place{parent: true, clean: "."}, nil
		}
		return place{}, unsafeEntry(hdr.Name, "has an empty name")
	}
	clean := strings.Join(comps, "/")
	if comps[0] != "hab" || (len(comps) > 1 && comps[1] != "pkgs") {
		return place{}, unsafeEntry(hdr.Name, "is outside the package prefix hab/pkgs/ORIGIN/NAME/VERSION/RELEASE/")
	}
	for i := 2; i < len(comps) && i < 6; i++ {
		k := i - 2
		if k < len(l.parts) {
			if comps[i] != l.parts[k] {
				return place{}, unsafeEntry(hdr.Name, "is outside the package prefix hab/pkgs/%s/ (a second package in one hart?)", strings.Join(l.parts, "/"))
			}
			continue
		}
		l.parts = append(l.parts, comps[i])
		if len(l.parts) == 4 {
			if _, err := l.ident(); err != nil {
				return place{}, fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
		}
	}
	if len(comps) == 6 && !isDir {
		// A "." (cleaned away) in the prefix shifts a file into the
		// release's place: the package directory must be a directory.
		return place{}, unsafeEntry(hdr.Name, "names the package directory hab/pkgs/%s/ but is not a directory", strings.Join(l.parts, "/"))
	}
	if len(comps) < 6 {
		if !isDir {
			return place{}, unsafeEntry(hdr.Name, "is outside the package prefix hab/pkgs/ORIGIN/NAME/VERSION/RELEASE/ (only directories may be above it)")
		}
		return place{parent: true, clean: clean}, nil
	}
	return place{rel: strings.Join(comps[6:], "/"), clean: clean}, nil
}

func (l *layout) complete() bool { return len(l.parts) == 4 }

// ident is the package the entry paths name, validated as any ident
// is (origin and name rules; versions and releases by ident.CheckPart:
// no '/', "." or "..", white space, control or formatting characters,
// at most ident.MaxPartLen bytes), since its parts become directory
// names in the store and are printed.
func (l *layout) ident() (ident.Ident, error) {
	var p [4]string
	copy(p[:], l.parts)
	id := ident.Ident{Origin: p[0], Name: p[1], Version: p[2], Release: p[3]}
	if err := id.Validate(); err != nil {
		return ident.Ident{}, fmt.Errorf("%w: package prefix hab/pkgs/%+q is not a valid identifier: %w", ErrFormat, strings.Join(l.parts, "/"), err)
	}
	return id, nil
}

// prefix is hab/pkgs/O/N/V/R.
func (l *layout) prefix() string { return "hab/pkgs/" + strings.Join(l.parts, "/") }

// linkTarget places a hard link's target, which must lie inside the
// prefix. It returns the target's path relative to the prefix.
func (l *layout) linkTarget(entry, linkname string) (string, error) {
	comps, err := cleanName(linkname)
	if err != nil || len(comps) == 0 {
		return "", unsafeEntry(entry, "is a hard link to %q, which is not a safe path", linkname)
	}
	pre := l.prefix() + "/"
	clean := strings.Join(comps, "/")
	if !strings.HasPrefix(clean, pre) {
		return "", unsafeEntry(entry, "is a hard link to %q, outside the package prefix %s", linkname, l.prefix())
	}
	return strings.TrimPrefix(clean, pre), nil
}

// checkSymlinkTarget validates a symlink at rel (below the prefix) with the
// given target: absolute targets must lie under /hab/ with no "..";
// relative ones must resolve, lexically, inside the prefix (see also
// checkThroughLinks).
func checkSymlinkTarget(entry, rel, target string) error {
	if target == "" {
		return unsafeEntry(entry, "is a symlink with an empty target")
	}
	if strings.ContainsRune(target, 0) {
		return unsafeEntry(entry, "is a symlink whose target has a NUL byte")
	}
	if strings.HasPrefix(target, "/") {
		for _, c := range strings.Split(target, "/") {
			if c == ".." {
				return unsafeEntry(entry, "is a symlink to %q, an absolute target with \"..\"", target)
			}
		}
		if !strings.HasPrefix(path.Clean(target), "/hab/") {
			return unsafeEntry(entry, "is a symlink to %q, outside /hab/", target)
		}
		return nil
	}
	stack := dirComps(rel)
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(stack) == 0 {
				return unsafeEntry(entry, "is a symlink to %q, which escapes the package prefix", target)
			}
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, c)
		}
	}
	return nil
}

// dirComps is the components of the directory holding rel.
func dirComps(rel string) []string {
	d := path.Dir(rel)
	if d == "." || d == "" {
		return nil
	}
	return strings.Split(d, "/")
}

// checkThroughLinks refuses relative symlink targets that step out of
// another symlink with "..": the lexical check above cannot know where
// that symlink leads. links maps rel paths of every symlink of the package
// to their targets.
func checkThroughLinks(prefix string, links map[string]string) error {
	rels := make([]string, 0, len(links))
	for rel := range links {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		target := links[rel]
		if strings.HasPrefix(target, "/") {
			continue
		}
		stack := dirComps(rel)
		for _, c := range strings.Split(target, "/") {
			switch c {
			case "", ".":
			case "..":
				cur := strings.Join(stack, "/")
				if _, isLink := links[cur]; isLink && cur != "" {
					return unsafeEntry(prefix+"/"+rel, "is a symlink to %q, which steps out of symlink %q with \"..\"", target, prefix+"/"+cur)
				}
				stack = stack[:len(stack)-1]
			default:
				stack = append(stack, c)
			}
		}
	}
	return nil
}

// throughLink reports the first ancestor of rel that is in links (a
// symlink or a file), if any.
func throughLink(rel string, nonDirs map[string]bool) (string, bool) {
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && nonDirs[rel[:i]] {
			return rel[:i], true
		}
	}
	return "", false
}
