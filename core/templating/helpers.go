package templating

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/habgo/hab/core/ident"
)

// Habitat's own helpers, under the original's names: eachAlive,
// pkgPathFor, strConcat, strJoin, strReplace, toUppercase, toLowercase,
// toJson, toToml, toYaml.
func habitatHelpers() map[string]helperDef {
	return map[string]helperDef{
		"eachAlive":   {call: eachAliveHelper},
		"pkgPathFor":  {call: pkgPathForHelper},
		"strConcat":   {call: strConcatHelper},
		"strJoin":     {call: strJoinHelper},
		"strReplace":  {call: strReplaceHelper},
		"toUppercase": {call: caseHelper(cases.Upper(language.Und))},
		"toLowercase": {call: caseHelper(cases.Lower(language.Und))},
		"toJson":      {call: toJSONHelper},
		"toToml":      {call: toTOMLHelper},
		"toYaml":      {call: toYAMLHelper},
	}
}

func stringParam(h *helperCall, i int) (string, error) {
	a, ok := h.param(i)
	if !ok {
		return "", missingParam(h, i)
	}
	s, ok := a.value.(string)
	if !ok {
		what := kindOf(a.value)
		if a.missing {
			what = "missing"
		}
		if a.path != "" {
			return "", fmt.Errorf("helper %s: parameter %d (%s) must be a string, it is %s", h.name, i, a.path, what)
		}
		return "", fmt.Errorf("helper %s: parameter %d must be a string, it is %s", h.name, i, what)
	}
	return s, nil
}

// isAlive reports a census member's "alive" flag; a member without one is
// not alive.
func isAlive(h *helperCall, i int, m any) (bool, error) {
	obj, ok := m.(*Object)
	if !ok {
		return false, nil
	}
	v, ok := obj.Get("alive")
	if !ok {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("helper %s: member %d: \"alive\" is %s, not a boolean", h.name, i, kindOf(v))
	}
	return b, nil
}

// eachAliveHelper iterates over the members whose "alive" is true. As in the
// original, @index counts alive members from 1, and @first and @last mark
// the first and last alive members. Given a single member (an object), it
// iterates over that member's fields if it is alive.
func eachAliveHelper(s *renderState, h *helperCall, out *output) error {
	a, ok := h.param(0)
	if !ok {
		return missingParam(h, 0)
	}
	if h.tmpl == nil {
		return nil
	}
	if !truthy(a.value, false) {
		return s.renderProgram(h.inverse, out)
	}
	switch t := a.value.(type) {
	case []any:
		first, last := -1, -1
		for i, m := range t {
			alive, err := isAlive(h, i, m)
			if err != nil {
				return err
			}
			if alive {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		b := &blockCtx{locals: map[string]any{}}
		s.push(b)
		defer s.pop()
		aliveIdx := int64(0)
		for i, m := range t {
			if alive, _ := isAlive(h, i, m); !alive {
				continue
			}
			aliveIdx++
			b.locals["first"] = i == first
			b.locals["last"] = i == last
			b.locals["index"] = aliveIdx
			b.base = m
			setBlockParams(b, h, m, aliveIdx)
			if err := s.renderProgram(h.tmpl, out); err != nil {
				return err
			}
		}
		return nil
	case *Object:
		if alive, err := isAlive(h, 0, t); err != nil || !alive {
			return err
		}
		b := &blockCtx{locals: map[string]any{}}
		s.push(b)
		defer s.pop()
		for i, k := range t.keys {
			v := t.vals[k]
			b.locals["first"] = i == 0
			b.locals["key"] = k
			b.base = v
			setBlockParams(b, h, v, k)
			if err := s.renderProgram(h.tmpl, out); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("helper eachAlive: %s is not iterable", kindOf(a.value))
}

// pkgPathForHelper writes the install path of the first of pkg.deps that
// satisfies the identifier, or nothing when no dependency does.
func pkgPathForHelper(s *renderState, h *helperCall, out *output) error {
	str, err := stringParam(h, 0)
	if err != nil {
		return fmt.Errorf("helper pkgPathFor: invalid package identifier: %w", err)
	}
	want, err := ident.Parse(str)
	if err != nil {
		return fmt.Errorf("helper pkgPathFor: %w", err)
	}
	root, _ := s.root.(*Object)
	deps, _ := root.Path("pkg.deps")
	list, _ := deps.([]any)
	for _, d := range list {
		obj, ok := d.(*Object)
		if !ok {
			continue
		}
		field := func(k string) string {
			v, _ := obj.Get(k)
			str, _ := v.(string)
			return str
		}
		dep := ident.Ident{Origin: field("origin"), Name: field("name"), Version: field("version"), Release: field("release")}
		if dep.Satisfies(want) {
			out.write(filepath.Join(append([]string{s.r.pkgsPath}, dep.Parts()...)...))
			return nil
		}
	}
	return nil
}

// plainJSON is a value as JSON with every '"' removed, which is how the
// original's strConcat and strJoin turn values into text.
func plainJSON(v any) string {
	return strings.ReplaceAll(jsonCompact(v), `"`, "")
}

func strConcatHelper(s *renderState, h *helperCall, out *output) error {
	var b strings.Builder
	for _, p := range h.params {
		if _, isObj := p.value.(*Object); isObj {
			continue
		}
		b.WriteString(plainJSON(p.value))
	}
	out.write(b.String())
	return nil
}

func strJoinHelper(s *renderState, h *helperCall, out *output) error {
	a, ok := h.param(0)
	if !ok {
		return missingParam(h, 0)
	}
	list, ok := a.value.([]any)
	if !ok {
		return fmt.Errorf("helper strJoin: parameter 0 must be an array, it is %s", kindOf(a.value))
	}
	sep, err := stringParam(h, 1)
	if err != nil {
		return err
	}
	parts := make([]string, 0, len(list))
	for _, v := range list {
		if _, isObj := v.(*Object); isObj {
			continue
		}
		parts = append(parts, plainJSON(v))
	}
	out.write(strings.Join(parts, sep))
	return nil
}

func strReplaceHelper(s *renderState, h *helperCall, out *output) error {
	str, err := stringParam(h, 0)
	if err != nil {
		return err
	}
	old, err := stringParam(h, 1)
	if err != nil {
		return err
	}
	repl, err := stringParam(h, 2)
	if err != nil {
		return err
	}
	out.write(replaceAll(str, old, repl))
	return nil
}

// replaceAll is Rust's str::replace: an empty pattern matches before every
// character and at the end.
func replaceAll(s, old, repl string) string {
	if old != "" {
		return strings.ReplaceAll(s, old, repl)
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteString(repl)
		b.WriteRune(r)
	}
	b.WriteString(repl)
	return b.String()
}

func caseHelper(c cases.Caser) func(s *renderState, h *helperCall, out *output) error {
	return func(s *renderState, h *helperCall, out *output) error {
		str, err := stringParam(h, 0)
		if err != nil {
			return err
		}
		out.write(c.String(str))
		return nil
	}
}

func firstParam(h *helperCall) (any, error) {
	a, ok := h.param(0)
	if !ok {
		return nil, fmt.Errorf("helper %s: expected 1 parameter", h.name)
	}
	return a.value, nil
}

func toJSONHelper(s *renderState, h *helperCall, out *output) error {
	v, err := firstParam(h)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := writeJSON(&b, v, "  ", ""); err != nil {
		return fmt.Errorf("helper toJson: %w", err)
	}
	out.write(b.String())
	return nil
}

func toTOMLHelper(s *renderState, h *helperCall, out *output) error {
	v, err := firstParam(h)
	if err != nil {
		return err
	}
	var text string
	if obj, ok := v.(*Object); ok {
		text, err = tomlDocument(obj)
	} else {
		text, err = tomlInlineValue(v)
	}
	if err != nil {
		return fmt.Errorf("helper toToml: can't serialize parameter to TOML: %w", err)
	}
	out.write(text)
	return nil
}

func toYAMLHelper(s *renderState, h *helperCall, out *output) error {
	v, err := firstParam(h)
	if err != nil {
		return err
	}
	out.write(yamlDocument(v))
	return nil
}
