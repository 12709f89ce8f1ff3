package plan

import (
	"bytes"
	"slices"
	"unicode/utf8"
)

// MarshalValues encodes values as one JSON object on one line with sorted
// keys, lists as arrays and maps as objects, byte for byte as the reference
// evaluation prints it (Python's json.dumps with sort_keys: ", " and ": "
// separators, every character outside printable ASCII escaped as \uXXXX,
// invalid UTF-8 shown as U+FFFD).
func MarshalValues(values map[string]Value) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range sortedKeys(values) {
		if i > 0 {
			b.WriteString(", ")
		}
		writeJSONString(&b, k)
		b.WriteString(": ")
		v := values[k]
		switch v.Kind {
		case Scalar:
			writeJSONString(&b, v.Str)
		case Array:
			b.WriteByte('[')
			for j, s := range v.List {
				if j > 0 {
					b.WriteString(", ")
				}
				writeJSONString(&b, s)
			}
			b.WriteByte(']')
		case Map:
			b.WriteByte('{')
			for j, mk := range sortedKeys(v.Map) {
				if j > 0 {
					b.WriteString(", ")
				}
				writeJSONString(&b, mk)
				b.WriteString(": ")
				writeJSONString(&b, v.Map[mk])
			}
			b.WriteByte('}')
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Python sorts str keys by code point; Go compares UTF-8 bytes, which
	// orders valid UTF-8 the same way.
	slices.Sort(keys)
	return keys
}

const hexDigits = "0123456789abcdef"

func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch r {
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
			if r >= 0x10000 {
				r -= 0x10000
				writeU(b, 0xd800|(r>>10)&0x3ff)
				writeU(b, 0xdc00|r&0x3ff)
			} else {
				writeU(b, r)
			}
		}
	}
	b.WriteByte('"')
}

func writeU(b *bytes.Buffer, r rune) {
	b.WriteString(`\u`)
	b.WriteByte(hexDigits[r>>12&0xf])
	b.WriteByte(hexDigits[r>>8&0xf])
	b.WriteByte(hexDigits[r>>4&0xf])
	b.WriteByte(hexDigits[r&0xf])
}
