package templating

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The toToml and toYaml helpers print values in the layout the original's
// serializers (Rust's toml and serde_yaml) use: keys in order, TOML values
// before sub-tables, YAML block style with two-space indentation.

var errTOMLNull = errors.New("unsupported None value")

var bareKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func tomlKey(k string) string {
	if bareKeyRE.MatchString(k) {
		return k
	}
	return tomlBasicString(k)
}

// tomlBasicString quotes s as a TOML basic string.
func tomlBasicString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlFloat prints a float as Rust's toml does: shortest decimal digits,
// never an exponent, ".0" on whole numbers, nan and inf by name.
func tomlFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// tomlInlineValue prints one TOML value inline: strings quoted, arrays as
// [a, b], tables as { k = v }.
func tomlInlineValue(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", errTOMLNull
	case bool:
		return strconv.FormatBool(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		if t > math.MaxInt64 {
			return "", fmt.Errorf("integer %d is out of TOML's range", t)
		}
		return strconv.FormatUint(t, 10), nil
	case float64:
		return tomlFloat(t), nil
	case string:
		return tomlBasicString(t), nil
	case []any:
		parts := make([]string, 0, len(t))
		for _, x := range t {
			s, err := tomlInlineValue(x)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case *Object:
		if t.Len() == 0 {
			return "{}", nil
		}
		var parts []string
		for _, k := range t.keys {
			if t.vals[k] == nil {
				continue
			}
			s, err := tomlInlineValue(t.vals[k])
			if err != nil {
				return "", fmt.Errorf("%s: %w", k, err)
			}
			parts = append(parts, tomlKey(k)+" = "+s)
		}
		return "{ " + strings.Join(parts, ", ") + " }", nil
	}
	return "", fmt.Errorf("cannot print %T as TOML", v)
}

func isTableArray(v any) bool {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return false
	}
	for _, x := range arr {
		if _, ok := x.(*Object); !ok {
			return false
		}
	}
	return true
}

// tomlDocument prints a table as a TOML document.
func tomlDocument(o *Object) (string, error) {
	var b strings.Builder
	if err := writeTOMLTable(&b, o, nil, false); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeTOMLTable(b *strings.Builder, o *Object, path []string, arrayElem bool) error {
	// Plain values first: a TOML table's keys come before its sub-tables.
	var values []string
	for _, k := range o.keys {
		v := o.vals[k]
		if v == nil {
			continue // the original skips None
		}
		if _, isTable := v.(*Object); isTable || isTableArray(v) {
			continue
		}
		s, err := tomlInlineValue(v)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(append(path, k), "."), err)
		}
		values = append(values, tomlKey(k)+" = "+s+"\n")
	}
	if len(path) > 0 && (arrayElem || len(values) > 0 || !hasSubTables(o)) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		keys := make([]string, len(path))
		for i, p := range path {
			keys[i] = tomlKey(p)
		}
		if arrayElem {
			fmt.Fprintf(b, "[[%s]]\n", strings.Join(keys, "."))
		} else {
			fmt.Fprintf(b, "[%s]\n", strings.Join(keys, "."))
		}
	}
	for _, line := range values {
		b.WriteString(line)
	}
	for _, k := range o.keys {
		sub := append(append([]string(nil), path...), k)
		switch v := o.vals[k].(type) {
		case *Object:
			if err := writeTOMLTable(b, v, sub, false); err != nil {
				return err
			}
		case []any:
			if !isTableArray(v) {
				continue
			}
			for _, x := range v {
				if err := writeTOMLTable(b, x.(*Object), sub, true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func hasSubTables(o *Object) bool {
	for _, k := range o.keys {
		v := o.vals[k]
		if _, isTable := v.(*Object); isTable || isTableArray(v) {
			return true
		}
	}
	return false
}

// yamlDocument prints a value as a YAML document in serde_yaml's layout.
func yamlDocument(v any) string {
	var b strings.Builder
	switch t := v.(type) {
	case *Object:
		if t.Len() == 0 {
			return "{}\n"
		}
		writeYAMLMapping(&b, t, "")
	case []any:
		if len(t) == 0 {
			return "[]\n"
		}
		writeYAMLSequence(&b, t, "")
	default:
		b.WriteString(yamlScalar(v, ""))
		b.WriteByte('\n')
	}
	return b.String()
}

func writeYAMLMapping(b *strings.Builder, o *Object, indent string) {
	for i, k := range o.keys {
		if i > 0 {
			b.WriteString(indent)
		}
		b.WriteString(yamlString(k, indent))
		b.WriteByte(':')
		writeYAMLValue(b, o.vals[k], indent, true)
	}
}

func writeYAMLSequence(b *strings.Builder, arr []any, indent string) {
	for i, x := range arr {
		if i > 0 {
			b.WriteString(indent)
		}
		b.WriteByte('-')
		writeYAMLValue(b, x, indent, false)
	}
}

// writeYAMLValue writes what follows "key:" or "-".
func writeYAMLValue(b *strings.Builder, v any, indent string, inMapping bool) {
	switch t := v.(type) {
	case *Object:
		if t.Len() == 0 {
			b.WriteString(" {}\n")
			return
		}
		if inMapping {
			b.WriteByte('\n')
			b.WriteString(indent + "  ")
		} else {
			b.WriteByte(' ')
		}
		writeYAMLMapping(b, t, indent+"  ")
	case []any:
		if len(t) == 0 {
			b.WriteString(" []\n")
			return
		}
		if inMapping {
			// Block sequences in a mapping are not indented.
			b.WriteByte('\n')
			b.WriteString(indent)
			writeYAMLSequence(b, t, indent)
		} else {
			b.WriteByte(' ')
			writeYAMLSequence(b, t, indent+"  ")
		}
	default:
		b.WriteByte(' ')
		b.WriteString(yamlScalar(v, indent))
		b.WriteByte('\n')
	}
}

func yamlScalar(v any, indent string) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case uint64:
		return strconv.FormatUint(t, 10)
	case float64:
		switch {
		case math.IsNaN(t):
			return ".nan"
		case math.IsInf(t, 1):
			return ".inf"
		case math.IsInf(t, -1):
			return "-.inf"
		}
		return formatFloatJSON(t)
	case string:
		return yamlString(t, indent)
	}
	return fmt.Sprint(v)
}

// yamlResolvesToNonString reports whether a plain scalar s would be read
// back as something other than a string (null, a boolean or a number).
var yamlNonStringRE = regexp.MustCompile(`^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|` +
	`[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[-+]?0[0-7_]+|` +
	`[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|` +
	`[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)

// yamlString prints a string plainly when YAML reads it back as the same
// string, in a literal block when it has several lines, else quoted.
func yamlString(s, indent string) string {
	if s == "" {
		return "''"
	}
	printable := true
	for _, r := range s {
		if r != '\n' && r != '\t' && (!unicode.IsPrint(r) && r != ' ' || r == utf8.RuneError) {
			printable = false
			break
		}
	}
	if strings.Contains(s, "\n") && printable && !strings.HasPrefix(s, " ") && !strings.HasPrefix(s, "\t") {
		return yamlLiteral(s, indent)
	}
	if !printable || strings.ContainsAny(s, "\n\t") {
		return yamlDoubleQuoted(s)
	}
	if yamlPlainOK(s) && !yamlNonStringRE.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func yamlPlainOK(s string) bool {
	if strings.TrimSpace(s) != s {
		return false
	}
	first := s[0]
	if strings.IndexByte("#,[]{}&*!|>'\"%@`", first) >= 0 {
		return false
	}
	if first == '-' || first == '?' || first == ':' {
		if len(s) == 1 || s[1] == ' ' {
			return false
		}
	}
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	return true
}

func yamlLiteral(s, indent string) string {
	chomp := "-"
	body := s
	switch {
	case strings.HasSuffix(s, "\n\n"):
		chomp = "+"
		body = strings.TrimSuffix(s, "\n")
	case strings.HasSuffix(s, "\n"):
		chomp = ""
		body = strings.TrimSuffix(s, "\n")
	}
	var b strings.Builder
	b.WriteString("|" + chomp)
	for _, line := range strings.Split(body, "\n") {
		b.WriteByte('\n')
		if line != "" {
			b.WriteString(indent + "  " + line)
		}
	}
	return b.String()
}

func yamlDoubleQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case 0:
			b.WriteString(`\0`)
		default:
			if !unicode.IsPrint(r) && r != ' ' {
				if r <= 0xff {
					fmt.Fprintf(&b, `\x%02X`, r)
				} else if r <= 0xffff {
					fmt.Fprintf(&b, `\u%04X`, r)
				} else {
					fmt.Fprintf(&b, `\U%08X`, r)
				}
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
