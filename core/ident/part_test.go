package ident

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestCheckPart: the one rule for versions and releases, through CheckPart
// and through Parse (every identifier parsed anywhere).
func TestCheckPart(t *testing.T) {
	good := []string{"1.0.0", "R16B03-1", "19.227-19", "7u80", "1.0.2r", "19.1.0.dev-cloud", "17.1.0-dev.cloud",
		"19.1.0.", "0.0~r131", "1.2.3-beta12", "5", "__pkg__version__unset__", "2.0+build.7", "20190510185500",
		"1.0-ünïcode", "..1", "1..", strings.Repeat("9", MaxPartLen)}
	for _, v := range good {
		if err := CheckPart("version", v); err != nil {
			t.Errorf("CheckPart(%q): %v", v, err)
		}
		if _, err := Parse("core/redis/" + v + "/20200101000000"); err != nil {
			t.Errorf("Parse with version %q: %v", v, err)
		}
		if _, err := Parse("core/redis/1.0/" + v); err != nil {
			t.Errorf("Parse with release %q: %v", v, err)
		}
	}
	bad := []struct{ v, want string }{
		{"", "is empty"},
		{".", "not allowed"},
		{"..", "not allowed"},
		{"../../..", "contains '/'"},
		{"1.0/evil", "contains '/'"},
		{"/", "contains '/'"},
		{"1.0 beta", "white space"},
		{"1.0\tb", "white space"},
		{"1.0\n", "white space"},
		{"1.0\u00a0", "white space"},
		{"1.0\u2028", "white space"},
		{"1.0\x1b[31mred", "control character (U+001B)"},
		{"1.0\x00", "control character"},
		{"1.0\x7f", "control character"},
		{"1.0\u0085", "white space"},
		{"1.0\u009b31m", "control character"},
		{"1.0\u202egnp.exe", "formatting character (U+202E"},
		{"1.0\u2066x", "formatting character (U+2066"},
		{"1.0\u200b", "formatting character (U+200B"},
		{"\ufeff1.0", "formatting character (U+FEFF"},
		{"1.0\xff", "not valid UTF-8"},
		{strings.Repeat("1", MaxPartLen+1), "bytes long, over the 128"},
		{strings.Repeat("1.", 125), "250 bytes long"},
	}
	for _, c := range bad {
		err := CheckPart("version", c.v)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "version ") {
			t.Errorf("CheckPart(%q) = %v, want an error about the version containing %q", c.v, err, c.want)
		}
		if strings.ContainsAny(errString(err), "\x1b\u202e\x00") {
			t.Errorf("CheckPart(%q) error prints the raw value: %q", c.v, err)
		}
		if c.v == "" {
			continue
		}
		if _, err := Parse("core/redis/" + c.v + "/20200101000000"); c.v != ".." && c.v != "." && !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse with version %q: %v, want ErrInvalid", c.v, err)
		}
		if _, err := Parse("core/redis/1.0/" + c.v); err == nil && !strings.Contains(c.v, "/") {
			t.Errorf("Parse with release %q accepted", c.v)
		}
	}
	// A version of a path component that Split sees as more parts.
	for _, s := range []string{"core/redis/./20200101000000", "core/redis/../20200101000000", "core/redis/1.0/.."} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestReleaseTime(t *testing.T) {
	got, err := ReleaseTime("20190510185500")
	if err != nil || !got.Equal(time.Date(2019, 5, 10, 18, 55, 0, 0, time.UTC)) {
		t.Errorf("ReleaseTime(20190510185500) = %v, %v", got, err)
	}
	for _, r := range []string{"", "1", "2019051018550", "201905101855000", "2019-05-10T18:5", "20191310185500", "20190510255500", "+0190510185500"} {
		if _, err := ReleaseTime(r); err == nil || !strings.Contains(err.Error(), "YYYYMMDDhhmmss") {
			t.Errorf("ReleaseTime(%q) = %v, want an error naming the form", r, err)
		}
	}
}
