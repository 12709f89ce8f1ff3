package templating

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
)

// The helpers every handlebars registry of the original has: if, unless,
// each, with, lookup, raw, log, and the comparison helpers eq, ne, gt, gte,
// lt, lte, and, or, not, len.
func builtinHelpers() map[string]helperDef {
	m := map[string]helperDef{
		"if":     {call: ifHelper(true)},
		"unless": {call: ifHelper(false)},
		"each":   {call: eachHelper},
		"with":   {call: withHelper},
		"lookup": valueHelper(lookupValue),
		"raw":    {call: func(s *renderState, h *helperCall, out *output) error { return s.renderProgram(h.tmpl, out) }},
		"log":    {call: logHelper},
		"len":    valueHelper(lenValue),
		"and":    boolHelper(func(h *helperCall) (bool, error) { return manyBool(h, true), nil }),
		"or":     boolHelper(func(h *helperCall) (bool, error) { return manyBool(h, false), nil }),
		"not": boolHelper(func(h *helperCall) (bool, error) {
			a, ok := h.param(0)
			if !ok {
				return false, missingParam(h, 0)
			}
			return !truthy(a.value, false), nil
		}),
	}
	for name, op := range map[string]func(a, b any) bool{
		"eq":  jsonEqual,
		"ne":  func(a, b any) bool { return !jsonEqual(a, b) },
		"gt":  func(a, b any) bool { c, ok := compareJSON(a, b); return ok && c > 0 },
		"gte": func(a, b any) bool { c, ok := compareJSON(a, b); return ok && c >= 0 },
		"lt":  func(a, b any) bool { c, ok := compareJSON(a, b); return ok && c < 0 },
		"lte": func(a, b any) bool { c, ok := compareJSON(a, b); return ok && c <= 0 },
	} {
		m[name] = boolHelper(binary(op))
	}
	return m
}

func missingParam(h *helperCall, i int) error {
	return fmt.Errorf("helper %s: parameter %d is missing", h.name, i)
}

// valueHelper makes a helper from a value function; used as {{x}} it writes
// the value.
func valueHelper(f func(h *helperCall) (any, error)) helperDef {
	return helperDef{
		call: func(s *renderState, h *helperCall, out *output) error {
			v, err := f(h)
			if err != nil {
				return err
			}
			out.write(renderValue(v))
			return nil
		},
		value: func(s *renderState, h *helperCall) (any, error) { return f(h) },
	}
}

// boolHelper makes a helper that is a boolean in a subexpression, writes
// "true"/"false" inline, and as a block renders its body or its else.
func boolHelper(f func(h *helperCall) (bool, error)) helperDef {
	return helperDef{
		call: func(s *renderState, h *helperCall, out *output) error {
			v, err := f(h)
			if err != nil {
				return err
			}
			if !h.block {
				out.write(fmt.Sprint(v))
				return nil
			}
			if v {
				return s.renderProgram(h.tmpl, out)
			}
			return s.renderProgram(h.inverse, out)
		},
		value: func(s *renderState, h *helperCall) (any, error) { return f(h) },
	}
}

func binary(op func(a, b any) bool) func(h *helperCall) (bool, error) {
	return func(h *helperCall) (bool, error) {
		a, ok := h.param(0)
		if !ok {
			return false, missingParam(h, 0)
		}
		b, ok := h.param(1)
		if !ok {
			return false, missingParam(h, 1)
		}
		return op(a.value, b.value), nil
	}
}

func manyBool(h *helperCall, all bool) bool {
	for _, p := range h.params {
		if truthy(p.value, false) != all {
			return !all
		}
	}
	return all
}

func ifHelper(positive bool) func(s *renderState, h *helperCall, out *output) error {
	return func(s *renderState, h *helperCall, out *output) error {
		a, ok := h.param(0)
		if !ok {
			return missingParam(h, 0)
		}
		includeZero := false
		if z, ok := h.hash["includeZero"]; ok {
			includeZero, _ = z.value.(bool)
		}
		if truthy(a.value, includeZero) == positive {
			return s.renderProgram(h.tmpl, out)
		}
		return s.renderProgram(h.inverse, out)
	}
}

// setBlockParams binds "as |value key|".
func setBlockParams(b *blockCtx, h *helperCall, value, key any) {
	switch len(h.blockParams) {
	case 0:
		b.params = nil
	case 1:
		b.params = map[string]any{h.blockParams[0]: value}
	default:
		b.params = map[string]any{h.blockParams[0]: value, h.blockParams[1]: key}
	}
}

func eachHelper(s *renderState, h *helperCall, out *output) error {
	a, ok := h.param(0)
	if !ok {
		return missingParam(h, 0)
	}
	if h.tmpl == nil {
		return nil
	}
	switch t := a.value.(type) {
	case []any:
		if len(t) == 0 && h.inverse != nil {
			break
		}
		b := &blockCtx{locals: map[string]any{}}
		s.push(b)
		defer s.pop()
		for i, v := range t {
			b.locals["first"] = i == 0
			b.locals["last"] = i == len(t)-1
			b.locals["index"] = int64(i)
			b.base = v
			setBlockParams(b, h, v, int64(i))
			if err := s.renderProgram(h.tmpl, out); err != nil {
				return err
			}
		}
		return nil
	case *Object:
		if t.Len() == 0 && h.inverse != nil {
			break
		}
		b := &blockCtx{locals: map[string]any{}}
		s.push(b)
		defer s.pop()
		for i, k := range t.keys {
			v := t.vals[k]
			b.locals["first"] = i == 0
			b.locals["last"] = i == len(t.keys)-1
			b.locals["key"] = k
			b.locals["index"] = int64(i)
			b.base = v
			setBlockParams(b, h, v, k)
			if err := s.renderProgram(h.tmpl, out); err != nil {
				return err
			}
		}
		return nil
	}
	return s.renderProgram(h.inverse, out)
}

func withHelper(s *renderState, h *helperCall, out *output) error {
	a, ok := h.param(0)
	if !ok {
		return missingParam(h, 0)
	}
	if !truthy(a.value, false) {
		return s.renderProgram(h.inverse, out)
	}
	b := &blockCtx{base: a.value, locals: map[string]any{}}
	for k, v := range s.front().locals {
		b.locals[k] = v
	}
	if len(h.blockParams) > 0 {
		b.params = map[string]any{h.blockParams[0]: a.value}
	}
	s.push(b)
	defer s.pop()
	return s.renderProgram(h.tmpl, out)
}

func lookupValue(h *helperCall) (any, error) {
	c, ok := h.param(0)
	if !ok {
		return nil, missingParam(h, 0)
	}
	k, ok := h.param(1)
	if !ok {
		return nil, missingParam(h, 1)
	}
	switch t := c.value.(type) {
	case []any:
		var i uint64
		switch n := k.value.(type) {
		case int64:
			if n < 0 {
				return nil, nil
			}
			i = uint64(n)
		case uint64:
			i = n
		default:
			return nil, nil
		}
		if i < uint64(len(t)) {
			return t[i], nil
		}
	case *Object:
		if key, ok := k.value.(string); ok {
			v, _ := t.Get(key)
			return v, nil
		}
	}
	return nil, nil
}

func lenValue(h *helperCall) (any, error) {
	a, ok := h.param(0)
	if !ok {
		return nil, missingParam(h, 0)
	}
	switch t := a.value.(type) {
	case []any:
		return int64(len(t)), nil
	case *Object:
		return int64(t.Len()), nil
	case string:
		return int64(len(t)), nil
	}
	return int64(0), nil
}

func logHelper(s *renderState, h *helperCall, _ *output) error {
	parts := make([]string, len(h.params))
	for i, p := range h.params {
		if p.path != "" {
			parts[i] = p.path + ": " + renderValue(p.value)
		} else {
			parts[i] = renderValue(p.value)
		}
	}
	level := "info"
	if l, ok := h.hash["level"]; ok {
		if str, ok := l.value.(string); ok {
			level = str
		}
	}
	var lv slog.Level
	switch strings.ToLower(level) {
	case "trace", "debug":
		lv = slog.LevelDebug
	case "info":
		lv = slog.LevelInfo
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		return fmt.Errorf("helper log: invalid level %q (use trace, debug, info, warn or error)", level)
	}
	s.r.logger.Log(context.Background(), lv, strings.Join(parts, ", "), "template", s.tmplName)
	return nil
}

// jsonEqual is serde_json's equality: integers and floats are never equal
// to each other, objects compare without regard to key order.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case uint64:
			return x >= 0 && uint64(x) == y
		}
		return false
	case uint64:
		switch y := b.(type) {
		case uint64:
			return x == y
		case int64:
			return y >= 0 && uint64(y) == x
		}
		return false
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.keys {
			yv, ok := y.vals[k]
			if !ok || !jsonEqual(x.vals[k], yv) {
				return false
			}
		}
		return true
	}
	return false
}

// compareJSON orders numbers (across integer and float), strings, booleans,
// and a number against a string holding a number; other pairs do not
// compare.
func compareJSON(a, b any) (int, bool) {
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			return strings.Compare(x, y), true
		case int64, uint64, float64:
			n, err := parseNumberString(x)
			if err != nil {
				return 0, false
			}
			return compareNumbers(n, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0, true
			case !x:
				return -1, true
			}
			return 1, true
		}
	case int64, uint64, float64:
		switch y := b.(type) {
		case int64, uint64, float64:
			return compareNumbers(x, y)
		case string:
			n, err := parseNumberString(y)
			if err != nil {
				return 0, false
			}
			return compareNumbers(x, n)
		}
	}
	return 0, false
}

func parseNumberString(s string) (any, error) {
	if !validJSONNumber(strings.SplitN(strings.SplitN(s, "e", 2)[0], "E", 2)[0]) {
		return nil, fmt.Errorf("not a number: %q", s)
	}
	return parseJSONNumber(s)
}

func compareNumbers(a, b any) (int, bool) {
	// Exact for integers of either sign; floats compare as floats.
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	if aInt && bInt {
		return cmp3(ai < bi, ai > bi), true
	}
	au, aU := a.(uint64)
	bu, bU := b.(uint64)
	switch {
	case aU && bU:
		return cmp3(au < bu, au > bu), true
	case aU && bInt:
		if bi < 0 {
			return 1, true
		}
		return cmp3(au < uint64(bi), au > uint64(bi)), true
	case aInt && bU:
		if ai < 0 {
			return -1, true
		}
		return cmp3(uint64(ai) < bu, uint64(ai) > bu), true
	}
	af, bf := toFloat(a), toFloat(b)
	if math.IsNaN(af) || math.IsNaN(bf) {
		return 0, false
	}
	return cmp3(af < bf, af > bf), true
}

func toFloat(v any) float64 {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	case float64:
		return t
	}
	return math.NaN()
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}
