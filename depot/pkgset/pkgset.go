// Package pkgset reads the files `hab pkg download --file` takes, in the
// original's two formats: a list of package identifiers, one a line (blank
// lines and # comments ignored), or, for a file whose name ends in .toml, a
// package-set file:
//
//	format_version = 1          # required; only version 1 exists
//	file_descriptor = "any"     # optional free text
//
//	[[x86_64-linux]]            # a target: a list of sets for it
//	channel = "stable"
//	packages = ["core/gzip", "core/redis/4.0.14/20190319155852"]
//
//	[[x86_64-windows]]
//	channel = "stable"
//	packages = ["core/powershell"]
//
// Every other top-level key must be a package target whose value is a
// list of sets (the [[TARGET]] tables above, or an inline array of
// tables); each set has a channel and its packages, and the file's channel
// wins over the command's. Errors name the file and the line.
package pkgset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/habgo/hab/core/ident"
)

// Set is packages to download for one target from one channel.
type Set struct {
	Target  ident.Target
	Channel string
	Idents  []ident.Ident
}

// FormatVersion is the only package-set format there is.
const FormatVersion = 1

// IsTOML reports whether path names a package-set file (rather than a
// list of identifiers): its name ends in .toml, as the original decides.
func IsTOML(path string) bool { return strings.HasSuffix(path, ".toml") }

// Read reads the file at path: a package-set file (IsTOML), or a list of
// identifiers, which makes one set for target in channel.
func Read(path string, channel string, target ident.Target) ([]Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read package list: %w", err)
	}
	if IsTOML(path) {
		return ParseTOML(path, data)
	}
	ids, err := ParseList(path, data)
	if err != nil {
		return nil, err
	}
	return []Set{{Target: target, Channel: channel, Idents: ids}}, nil
}

// ParseList reads identifiers one a line; text after # is a comment.
// name (the file) is used in errors, with the line.
func ParseList(name string, data []byte) ([]ident.Ident, error) {
	var out []ident.Ident
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		id, err := ident.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		out = append(out, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// ParseTOML reads a package-set file; name (the file) is used in errors,
// with the line. The sets are in the order the file gives them.
func ParseTOML(name string, data []byte) ([]Set, error) {
	// The TOML itself first, for syntax errors with line and column.
	var any map[string]any
	if err := toml.Unmarshal(data, &any); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: invalid TOML: %s", name, row, col, de.Error())
		}
		return nil, fmt.Errorf("%s: invalid TOML: %w", name, err)
	}
	r := &reader{name: name}
	r.p.Reset(data)
	if err := r.read(); err != nil {
		return nil, err
	}
	return r.sets, nil
}

// reader walks the document's expressions, which (the syntax being
// valid) are top-level key/values and [table] / [[array]] headers, each
// followed by the key/values of its table.
type reader struct {
	name    string
	p       unstable.Parser
	sets    []Set
	version bool
	cur     *set // the [[TARGET]] table being read, if any
}

// set is a set being read, with where it started.
type set struct {
	Set
	line                int
	hasChannel, hasPkgs bool
}

func (r *reader) line(n *unstable.Node) int { return r.p.Shape(n.Raw).Start.Line }

func (r *reader) errorf(n *unstable.Node, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", r.name, r.line(n), fmt.Sprintf(format, a...))
}

func (r *reader) read() error {
	for r.p.NextExpression() {
		e := r.p.Expression()
		var err error
		switch e.Kind {
		case unstable.KeyValue:
			if r.cur != nil {
				err = r.setKey(r.cur, e)
			} else {
				err = r.topKey(e)
			}
		case unstable.ArrayTable:
			err = r.startSet(e)
		case unstable.Table:
			k, parts := keyOf(e)
			err = r.errorf(k, "[%s]: a target holds a list of package sets: write [[%s]]", strings.Join(parts, "."), strings.Join(parts, "."))
		}
		if err != nil {
			return err
		}
	}
	if err := r.p.Error(); err != nil {
		return fmt.Errorf("%s: invalid TOML: %w", r.name, err)
	}
	if err := r.endSet(); err != nil {
		return err
	}
	if !r.version {
		return fmt.Errorf("%s: format_version = %d is missing (a package-set file starts with it)", r.name, FormatVersion)
	}
	return nil
}

// keyOf returns a key's first node and its parts.
func keyOf(e *unstable.Node) (*unstable.Node, []string) {
	var first *unstable.Node
	var parts []string
	it := e.Key()
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		parts = append(parts, string(it.Node().Data))
	}
	return first, parts
}

func (r *reader) topKey(e *unstable.Node) error {
	k, parts := keyOf(e)
	key := strings.Join(parts, ".")
	v := e.Value()
	switch key {
	case "format_version":
		if v.Kind != unstable.Integer || string(v.Data) != fmt.Sprint(FormatVersion) {
			return r.errorf(k, "format_version is %s: only version %d exists", r.p.Raw(v.Raw), FormatVersion)
		}
		r.version = true
		return nil
	case "file_descriptor":
		if v.Kind != unstable.String {
			return r.errorf(k, "file_descriptor must be a string")
		}
		return nil
	}
	t, err := r.target(k, parts)
	if err != nil {
		return err
	}
	if v.Kind != unstable.Array {
		return r.errorf(k, "%s: expected a list of package sets ([[%s]] tables)", key, key)
	}
	it := v.Children()
	for it.Next() {
		tbl := it.Node()
		if tbl.Kind != unstable.InlineTable {
			return r.errorf(k, "%s: each element is a package set {channel = ..., packages = [...]}", key)
		}
		s := &set{Set: Set{Target: t}, line: r.line(k)}
		kvs := tbl.Children()
		for kvs.Next() {
			if err := r.setKey(s, kvs.Node()); err != nil {
				return err
			}
		}
		if err := r.finish(s); err != nil {
			return err
		}
	}
	return nil
}

// target reads a top-level key as a package target.
func (r *reader) target(k *unstable.Node, parts []string) (ident.Target, error) {
	key := strings.Join(parts, ".")
	if len(parts) != 1 {
		return "", r.errorf(k, "%s is not a package target", key)
	}
	t, err := ident.ParseTarget(key)
	if err != nil {
		return "", r.errorf(k, "%s is neither format_version, file_descriptor nor a package target: %v", key, err)
	}
	return t, nil
}

func (r *reader) startSet(e *unstable.Node) error {
	if err := r.endSet(); err != nil {
		return err
	}
	k, parts := keyOf(e)
	t, err := r.target(k, parts)
	if err != nil {
		return err
	}
	r.cur = &set{Set: Set{Target: t}, line: r.line(k)}
	return nil
}

func (r *reader) endSet() error {
	if r.cur == nil {
		return nil
	}
	s := r.cur
	r.cur = nil
	return r.finish(s)
}

// finish checks a set is complete and keeps it.
func (r *reader) finish(s *set) error {
	switch {
	case !s.hasChannel:
		return fmt.Errorf("%s:%d: the package set for %s has no channel", r.name, s.line, s.Target)
	case !s.hasPkgs:
		return fmt.Errorf("%s:%d: the package set for %s has no packages", r.name, s.line, s.Target)
	}
	r.sets = append(r.sets, s.Set)
	return nil
}

// setKey reads one key of a package set.
func (r *reader) setKey(s *set, e *unstable.Node) error {
	k, parts := keyOf(e)
	key := strings.Join(parts, ".")
	v := e.Value()
	switch key {
	case "channel":
		if v.Kind != unstable.String || len(v.Data) == 0 {
			return r.errorf(k, "channel must be a channel name")
		}
		s.Channel, s.hasChannel = string(v.Data), true
	case "packages":
		if v.Kind != unstable.Array {
			return r.errorf(k, "packages must be a list of package identifiers")
		}
		it := v.Children()
		for it.Next() {
			n := it.Node()
			if n.Kind != unstable.String {
				return r.errorf(k, "packages must be a list of package identifiers")
			}
			id, err := ident.Parse(string(n.Data))
			if err != nil {
				return r.errorf(n, "packages: %v", err)
			}
			s.Idents = append(s.Idents, id)
		}
		s.hasPkgs = true
	default:
		return r.errorf(k, "unknown key %s in a package set for %s (channel and packages are allowed)", key, s.Target)
	}
	return nil
}
