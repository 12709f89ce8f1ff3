// Package flagfile reads a command's settings from TOML files into its
// flags, and prints the flags' values as such a file: the original
// Supervisor's sup.toml, --config-files and --generate-config.
package flagfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/pflag"
)

// Key ties a TOML key to the flag it sets.
type Key struct {
	TOML, Flag string
}

// Apply reads files in order into the flags that keys name; a later
// file's value wins over an earlier one's. A flag given on the command
// line (Changed) or already holding something other than its default
// (from the environment) keeps its value. Every file is read and
// checked before any flag is set, and a value a flag refuses puts back
// the flags set before it, so a bad file sets nothing.
func Apply(fs *pflag.FlagSet, keys []Key, files []string) error {
	flagOf := map[string]string{}
	for _, k := range keys {
		if fs.Lookup(k.Flag) != nil {
			flagOf[k.TOML] = k.Flag
		}
	}
	type setting struct {
		file   string
		line   int
		values []string
	}
	merged := map[string]setting{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read settings file: %w", err)
		}
		var doc map[string]any
		if err := toml.Unmarshal(data, &doc); err != nil {
			var de *toml.DecodeError
			if errors.As(err, &de) {
				row, col := de.Position()
				return fmt.Errorf("settings file %s, line %d column %d: %s", file, row, col, de.Error())
			}
			return fmt.Errorf("settings file %s: %w", file, err)
		}
		for _, k := range slices.Sorted(maps.Keys(doc)) {
			line := lineOf(data, k)
			name, ok := flagOf[k]
			if !ok {
				return fmt.Errorf("settings file %s, line %d: unknown setting %q", file, line, k)
			}
			values, err := asValues(fs.Lookup(name), doc[k])
			if err != nil {
				return fmt.Errorf("settings file %s, line %d: %s: %w", file, line, k, err)
			}
			merged[k] = setting{file: file, line: line, values: values}
		}
	}
	// Set them in key order, remembering what each flag held: a value
	// its flag refuses puts back every flag set before it, so a bad
	// value sets nothing, whatever the flag's type.
	var undo []restore
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		s := merged[k]
		f := fs.Lookup(flagOf[k])
		if f.Changed || f.Value.String() != f.DefValue {
			continue
		}
		undo = append(undo, saved(f))
		for _, v := range s.values {
			if err := f.Value.Set(v); err != nil {
				return putBack(undo, fmt.Errorf("settings file %s, line %d: %s: %w", s.file, s.line, k, err))
			}
		}
	}
	return nil
}

// restore puts a flag's value back as it was.
type restore struct {
	flag string
	put  func() error
}

// saved remembers f's value, which is its default (Apply sets no other):
// a list's elements (a pflag.SliceValue, whose Set appends), else its
// String, which Set reads back (how pflag keeps a default and resets a
// flag to it).
func saved(f *pflag.Flag) restore {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		old := slices.Clone(sv.GetSlice())
		return restore{f.Name, func() error { return sv.Replace(old) }}
	}
	old := f.Value.String()
	return restore{f.Name, func() error { return f.Value.Set(old) }}
}

// putBack restores the flags in undo, the last set first, and returns
// err with any flag that could not be put back.
func putBack(undo []restore, err error) error {
	errs := []error{err}
	for i := len(undo) - 1; i >= 0; i-- {
		if e := undo[i].put(); e != nil {
			errs = append(errs, fmt.Errorf("put back --%s: %w", undo[i].flag, e))
		}
	}
	return errors.Join(errs...)
}

// asValues turns a TOML value into the strings that set flag f: one
// for a scalar, one per element for a list flag.
func asValues(f *pflag.Flag, v any) ([]string, error) {
	_, list := f.Value.(pflag.SliceValue)
	if arr, ok := v.([]any); ok {
		if !list {
			return nil, fmt.Errorf("a list where one value was expected")
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, err := scalar(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, err
	}
	switch f.Value.Type() {
	case "bool":
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("want true or false, got %v", v)
		}
	case "string", "stringArray", "stringSlice":
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("want a string, got %v", v)
		}
	}
	return []string{s}, nil
}

func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", fmt.Errorf("unsupported value %v (%T)", v, v)
}

// lineOf is the line (from 1) where key is assigned in data, or 0.
func lineOf(data []byte, key string) int {
	re := regexp.MustCompile(`^\s*("?)` + regexp.QuoteMeta(key) + `("?)\s*=`)
	for i, l := range bytes.Split(data, []byte("\n")) {
		if re.Match(l) {
			return i + 1
		}
	}
	return 0
}

// Write prints the flags that keys name as a TOML document, in keys'
// order. Flags that do not exist, empty strings and lists, and numbers
// at a negative default (unset) are left out.
func Write(w io.Writer, fs *pflag.FlagSet, keys []Key) error {
	var b strings.Builder
	for _, k := range keys {
		f := fs.Lookup(k.Flag)
		if f == nil {
			continue
		}
		var v any
		sv, list := f.Value.(pflag.SliceValue)
		switch {
		case list:
			if len(sv.GetSlice()) == 0 {
				continue
			}
			v = sv.GetSlice()
		case f.Value.Type() == "bool":
			v = f.Value.String() == "true"
		case slices.Contains([]string{"uint64", "uint32", "uint", "int"}, f.Value.Type()):
			n, err := strconv.ParseInt(f.Value.String(), 10, 64)
			if err != nil {
				return fmt.Errorf("setting %s (--%s): %w", k.TOML, k.Flag, err)
			}
			if n < 0 && f.Value.String() == f.DefValue {
				continue // a negative default means "not set"
			}
			v = n
		default:
			if f.Value.String() == "" {
				continue
			}
			v = f.Value.String()
		}
		out, err := toml.Marshal(map[string]any{k.TOML: v})
		if err != nil {
			return fmt.Errorf("setting %s (--%s): %w", k.TOML, k.Flag, err)
		}
		b.Write(out)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
