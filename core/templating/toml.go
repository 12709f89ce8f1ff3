package templating

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// ParseTOML parses a TOML document into a table whose keys keep the order
// in which the document first names them, as the original's TOML reader
// does. name (a file path) is used in errors, with the line and column.
// Dates and times become their TOML text.
func ParseTOML(name string, data []byte) (*Object, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, &Error{Template: name, Line: row, Column: col, Msg: "invalid TOML: " + de.Error(), Err: err}
		}
		return nil, fmt.Errorf("%s: invalid TOML: %w", name, err)
	}
	ord, err := tomlKeyOrder(data)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid TOML: %w", name, err)
	}
	return ord.object(m, nil), nil
}

// LoadTOML reads and parses a TOML file.
func LoadTOML(path string) (*Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read TOML file: %w", err)
	}
	return ParseTOML(path, data)
}

// tomlOrder records, for each table (named by its path, with "#N" for the
// Nth element of an array), its keys in order of first appearance, and the
// source text of date and time values.
type tomlOrder struct {
	keys   map[string][]string
	seen   map[string]bool
	arrays map[string]int
	dates  map[string]string
}

func pathID(path []string) string { return strings.Join(path, "\x00") }

func (o *tomlOrder) add(table []string, key string) {
	id := pathID(append(append([]string(nil), table...), key))
	if o.seen[id] {
		return
	}
	o.seen[id] = true
	t := pathID(table)
	o.keys[t] = append(o.keys[t], key)
}

func tomlKeyOrder(data []byte) (*tomlOrder, error) {
	o := &tomlOrder{keys: map[string][]string{}, seen: map[string]bool{}, arrays: map[string]int{}, dates: map[string]string{}}
	var p unstable.Parser
	p.Reset(data)
	var current []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			o.keyValue(current, e)
		case unstable.Table, unstable.ArrayTable:
			current = o.header(keyParts(e), e.Kind == unstable.ArrayTable)
		}
	}
	return o, p.Error()
}

func keyParts(n *unstable.Node) []string {
	var parts []string
	it := n.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// header resolves a [table] or [[array]] header to the table it opens.
func (o *tomlOrder) header(parts []string, array bool) []string {
	var path []string
	for i, k := range parts {
		o.add(path, k)
		path = append(path, k)
		id := pathID(path)
		if i == len(parts)-1 && array {
			n := o.arrays[id]
			o.arrays[id] = n + 1
			path = append(path, "#"+strconv.Itoa(n))
		} else if n, ok := o.arrays[id]; ok {
			path = append(path, "#"+strconv.Itoa(n-1))
		}
	}
	return path
}

func (o *tomlOrder) keyValue(table []string, kv *unstable.Node) {
	path := append([]string(nil), table...)
	for _, k := range keyParts(kv) {
		o.add(path, k)
		path = append(path, k)
	}
	o.value(path, kv.Value())
}

func (o *tomlOrder) value(path []string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			o.keyValue(path, it.Node())
		}
	case unstable.Array:
		it := v.Children()
		i := 0
		for it.Next() {
			o.value(append(append([]string(nil), path...), "#"+strconv.Itoa(i)), it.Node())
			i++
		}
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		s := string(v.Data)
		if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
			s = s[:10] + "T" + s[11:]
		}
		o.dates[pathID(path)] = s
	}
}

// object converts decoded TOML to ordered values.
func (o *tomlOrder) object(m map[string]any, path []string) *Object {
	obj := NewObject()
	order := o.keys[pathID(path)]
	done := make(map[string]bool, len(m))
	for _, k := range order {
		if v, ok := m[k]; ok && !done[k] {
			obj.Set(k, o.value2(v, append(append([]string(nil), path...), k)))
			done[k] = true
		}
	}
	for _, k := range sortedKeys(m) {
		if !done[k] {
			obj.Set(k, o.value2(m[k], append(append([]string(nil), path...), k)))
		}
	}
	return obj
}

func (o *tomlOrder) value2(v any, path []string) any {
	switch t := v.(type) {
	case map[string]any:
		return o.object(t, path)
	case []map[string]any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = o.object(x, append(append([]string(nil), path...), "#"+strconv.Itoa(i)))
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = o.value2(x, append(append([]string(nil), path...), "#"+strconv.Itoa(i)))
		}
		return out
	case int64, float64, string, bool:
		return t
	case time.Time, toml.LocalDate, toml.LocalTime, toml.LocalDateTime:
		if s, ok := o.dates[pathID(path)]; ok {
			return s
		}
		return fmt.Sprint(t)
	}
	return fmt.Sprint(v)
}

// maxMergeDepth is how deep the original merges configuration tables
// before it gives up.
const maxMergeDepth = 30

// MergeLimited is Merge with the original's limit of 30 nested tables.
func MergeLimited(dst, src *Object) error { return mergeDepth(dst, src, 0) }

func mergeDepth(dst, src *Object, depth int) error {
	if depth > maxMergeDepth {
		return fmt.Errorf("merge configuration: tables nest deeper than %d", maxMergeDepth)
	}
	for _, k := range src.keys {
		sv := src.vals[k]
		if so, ok := sv.(*Object); ok {
			if dv, ok := dst.vals[k].(*Object); ok {
				if err := mergeDepth(dv, so, depth+1); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
				continue
			}
		}
		dst.Set(k, cloneValue(sv))
	}
	return nil
}

// Config is a service's configuration in layers. Merged gives what
// templates see as cfg: default.toml, then user.toml, then gossiped
// (applied) configuration, then the HAB_<NAME> environment variable, each
// merged over the one before (tables merge key by key, anything else
// replaces). The environment is the most overriding layer, as Habitat's
// documentation says (the newest original merges it below user.toml).
type Config struct {
	Default     *Object
	User        *Object
	Gossip      *Object
	Environment *Object
}

// Merged merges the layers into a new table.
func (c Config) Merged() (*Object, error) {
	out := NewObject()
	for _, layer := range []struct {
		name string
		t    *Object
	}{{"default", c.Default}, {"user", c.User}, {"gossip", c.Gossip}, {"environment", c.Environment}} {
		if layer.t == nil {
			continue
		}
		if err := MergeLimited(out, layer.t); err != nil {
			return nil, fmt.Errorf("%s configuration: %w", layer.name, err)
		}
	}
	return out, nil
}

// EnvVarName is the environment variable that configures a package:
// HAB_ and the package name in upper case, '-' turned into '_'.
func EnvVarName(pkgName string) string {
	return "HAB_" + strings.ReplaceAll(strings.ToUpper(pkgName), "-", "_")
}

// EnvConfig reads a package's configuration from its HAB_<NAME> variable,
// as TOML or else as a JSON object; nil when the variable is unset.
func EnvConfig(pkgName string, getenv func(string) string) (*Object, error) {
	name := EnvVarName(pkgName)
	text := getenv(name)
	if text == "" {
		return nil, nil
	}
	if t, err := ParseTOML(name, []byte(text)); err == nil {
		return t, nil
	}
	v, err := DecodeJSON([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("environment variable %s is neither TOML nor JSON: %w", name, err)
	}
	obj, ok := v.(*Object)
	if !ok {
		return nil, fmt.Errorf("environment variable %s: expected a TOML table or a JSON object, found %s", name, kindOf(v))
	}
	return obj, nil
}

var _ json.Marshaler = (*Object)(nil)
