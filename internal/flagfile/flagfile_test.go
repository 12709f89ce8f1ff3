package flagfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func newFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("name", "dflt", "")
	fs.Bool("on", false, "")
	fs.Uint64("period", 60, "")
	fs.Int("keep", -1, "")
	fs.StringArray("peer", nil, "")
	return fs
}

var keys = []Key{{"name", "name"}, {"on", "on"}, {"period", "period"}, {"keep", "keep"}, {"peer", "peer"}, {"absent", "no-such-flag"}}

// TestApplyBadFileSetsNothing: a file whose later setting is bad leaves
// every flag as it was, its good settings included.
func TestApplyBadFileSetsNothing(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"bad value", "name = 'x'\nperiod = -5\n", "line 2: period"},
		{"unknown key", "name = 'x'\nabsent = 1\n", `line 2: unknown setting "absent"`},
		{"wrong type", "name = 'x'\npeer = 5\n", "line 2: peer: want a string"},
		{"syntax", "name = 'x'\nperiod = = 3\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.toml")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			fs := newFlags()
			err := Apply(fs, keys, []string{p})
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s and %q", err, p, tc.want)
			}
			if v, _ := fs.GetString("name"); v != "dflt" {
				t.Errorf("name set to %q by a bad file", v)
			}
		})
	}
}

// TestWriteThenApply: what Write prints, Apply reads back to the same
// values; an unset negative number and an empty list are left out.
func TestWriteThenApply(t *testing.T) {
	fs := newFlags()
	if err := fs.Parse([]string{"--name", "n1", "--on", "--peer", "a", "--peer", "b"}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Write(&b, fs, keys); err != nil {
		t.Fatal(err)
	}
	want := "name = 'n1'\non = true\nperiod = 60\npeer = ['a', 'b']\n"
	if b.String() != want {
		t.Fatalf("Write:\n%s\nwant\n%s", b.String(), want)
	}
	p := filepath.Join(t.TempDir(), "sup.toml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	back := newFlags()
	if err := Apply(back, keys, []string{p}); err != nil {
		t.Fatal(err)
	}
	var again strings.Builder
	if err := Write(&again, back, keys); err != nil {
		t.Fatal(err)
	}
	if again.String() != want {
		t.Errorf("read back:\n%s\nwant\n%s", again.String(), want)
	}
}
