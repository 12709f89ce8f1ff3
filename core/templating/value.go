package templating

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The engine works on JSON-like values, as the original does (it renders
// serde_json values): nil, bool, int64, uint64, float64, string, []any and
// *Object. Objects keep their keys in insertion order, because the original
// builds its values with serde_json's and toml's "preserve_order" features:
// `{{#each cfg.table}}` walks keys in the order default.toml wrote them.

// Object is a JSON object that keeps its keys in insertion order.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an empty object.
func NewObject() *Object { return &Object{vals: map[string]any{}} }

// Len is the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Keys returns the keys in order.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return append([]string(nil), o.keys...)
}

// Get returns the value at key.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.vals[key]
	return v, ok
}

// Set sets key to v; a new key goes last, an existing key keeps its place.
func (o *Object) Set(key string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// Delete removes key.
func (o *Object) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// Path follows dotted keys ("stuff.thing") through nested objects.
func (o *Object) Path(dotted string) (any, bool) {
	var cur any = o
	for _, k := range strings.Split(dotted, ".") {
		obj, ok := cur.(*Object)
		if !ok {
			return nil, false
		}
		if cur, ok = obj.Get(k); !ok {
			return nil, false
		}
	}
	return cur, true
}

// Clone copies the object deeply.
func (o *Object) Clone() *Object {
	if o == nil {
		return nil
	}
	return cloneValue(o).(*Object)
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case *Object:
		if t == nil {
			return (*Object)(nil)
		}
		c := &Object{keys: append([]string(nil), t.keys...), vals: make(map[string]any, len(t.vals))}
		for k, x := range t.vals {
			c.vals[k] = cloneValue(x)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = cloneValue(x)
		}
		return c
	default:
		return v
	}
}

// MarshalJSON writes the object compactly with its keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	if err := writeJSON(&b, o, "", ""); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// UnmarshalJSON reads a JSON object keeping its key order.
func (o *Object) UnmarshalJSON(data []byte) error {
	v, err := DecodeJSON(data)
	if err != nil {
		return err
	}
	obj, ok := v.(*Object)
	if !ok {
		return fmt.Errorf("expected a JSON object, found %s", kindOf(v))
	}
	*o = *obj
	return nil
}

// Merge deep-merges src into dst, the way the original merges configuration
// layers and `hab plan render` merges its inputs: where both sides hold an
// object the merge recurses, anything else from src replaces dst's value.
func Merge(dst, src *Object) {
	for _, k := range src.keys {
		sv := src.vals[k]
		if so, ok := sv.(*Object); ok {
			if dv, ok := dst.vals[k].(*Object); ok && dv != nil && so != nil {
				Merge(dv, so)
				continue
			}
		}
		dst.Set(k, cloneValue(sv))
	}
}

// DecodeJSON reads one JSON value, keeping object key order. Integers stay
// integers (int64, or uint64 above the int64 range) and other numbers become
// float64, as serde_json does.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSONValue(dec)
	if err != nil {
		return nil, jsonError(data, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("unexpected data after the JSON value")
		}
		return nil, jsonError(data, dec, err)
	}
	return v, nil
}

// jsonError adds the line and column of the failure to a JSON error.
func jsonError(data []byte, dec *json.Decoder, err error) error {
	off := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	if off > int64(len(data)) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		off = int64(len(data))
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

func decodeJSONValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := NewObject()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v is not a string", kt)
				}
				v, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				obj.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		default:
			return nil, fmt.Errorf("unexpected %q", rune(t))
		}
	case json.Number:
		return parseJSONNumber(string(t))
	default:
		return t, nil // nil, bool, string
	}
}

func parseJSONNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s: %w", s, err)
	}
	return f, nil
}

// ToValue converts Go data to the engine's values: values already in the
// engine's form are kept, anything else goes through encoding/json (so json
// struct tags name the fields, in struct order).
func ToValue(data any) (any, error) {
	switch data.(type) {
	case nil, bool, int64, uint64, float64, string, *Object:
		return data, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return DecodeJSON(b)
}

// kindOf names the JSON kind of v for error messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64, uint64, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case *Object:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// renderValue renders a value the way the original prints `{{value}}`:
// strings as they are, null as nothing, arrays as "[a, b]", objects as
// "[object]".
func renderValue(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case uint64:
		return strconv.FormatUint(t, 10)
	case float64:
		return formatFloatJSON(t)
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, x := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(renderValue(x))
		}
		b.WriteByte(']')
		return b.String()
	case *Object:
		return "[object]"
	}
	return fmt.Sprint(v)
}

// truthy is the original's truthiness: false, null, 0, "", [] and {} are
// false (a number is true only when it is a normal float, so 0 and
// subnormals are false unless includeZero).
func truthy(v any, includeZero bool) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case int64:
		return t != 0 || includeZero
	case uint64:
		return t != 0 || includeZero
	case float64:
		if includeZero {
			return !math.IsNaN(t)
		}
		return isNormal(t)
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case *Object:
		return t.Len() > 0
	}
	return v != nil
}

func isNormal(f float64) bool {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	return math.Abs(f) >= 0x1p-1022
}

// formatFloatJSON formats a float the way serde_json does (the ryu
// algorithm's layout): "1.0", "0.1", "1e21", "1.5e-7". Non-finite floats
// have no JSON form; they print as null does.
func formatFloatJSON(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expStr)
	length := len(digits)
	kk := exp + 1    // position of the decimal point
	k := kk - length // value = digits × 10^k
	var b strings.Builder
	b.WriteString(sign)
	switch {
	case k >= 0 && kk <= 16:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", k))
		b.WriteString(".0")
	case kk > 0 && kk <= 16:
		b.WriteString(digits[:kk])
		b.WriteByte('.')
		b.WriteString(digits[kk:])
	case kk > -5 && kk <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -kk))
		b.WriteString(digits)
	case length == 1:
		b.WriteString(digits)
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(kk - 1))
	default:
		b.WriteString(digits[:1])
		b.WriteByte('.')
		b.WriteString(digits[1:])
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(kk - 1))
	}
	return b.String()
}

// writeJSON writes v as JSON in serde_json's layout: compact when indent is
// "", else pretty with that indent ("  " for to_string_pretty).
func writeJSON(b *strings.Builder, v any, indent, prefix string) error {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool, int64, uint64:
		b.WriteString(renderValue(t))
	case float64:
		b.WriteString(formatFloatJSON(t))
	case string:
		writeJSONString(b, t)
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		inner := prefix + indent
		for i, x := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			if indent != "" {
				b.WriteByte('\n')
				b.WriteString(inner)
			}
			if err := writeJSON(b, x, indent, inner); err != nil {
				return err
			}
		}
		if indent != "" {
			b.WriteByte('\n')
			b.WriteString(prefix)
		}
		b.WriteByte(']')
	case *Object:
		if t.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		inner := prefix + indent
		for i, k := range t.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if indent != "" {
				b.WriteByte('\n')
				b.WriteString(inner)
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			if indent != "" {
				b.WriteByte(' ')
			}
			if err := writeJSON(b, t.vals[k], indent, inner); err != nil {
				return err
			}
		}
		if indent != "" {
			b.WriteByte('\n')
			b.WriteString(prefix)
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("cannot write %T as JSON", v)
	}
	return nil
}

// writeJSONString quotes s as serde_json does: only '"', '\\' and control
// characters are escaped.
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// jsonCompact is serde_json's to_string of v.
func jsonCompact(v any) string {
	var b strings.Builder
	_ = writeJSON(&b, v, "", "")
	return b.String()
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
