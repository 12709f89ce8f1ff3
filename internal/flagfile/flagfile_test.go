package flagfile

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// level is a flag type of a command's own, which this package does not
// know: one of a few words.
type level string

func (l *level) String() string { return string(*l) }
func (l *level) Type() string   { return "level" }
func (l *level) Set(s string) error {
	if !slices.Contains([]string{"debug", "info", "warn"}, s) {
		return fmt.Errorf("%q is not debug, info or warn", s)
	}
	*l = level(s)
	return nil
}

// addrs is a list flag type of a command's own: HOST:PORT addresses,
// one more each Set.
type addrs []string

func (a *addrs) String() string { return "[" + strings.Join(*a, ",") + "]" }
func (a *addrs) Type() string   { return "addrs" }
func (a *addrs) Set(s string) error {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return err
	}
	*a = append(*a, s)
	return nil
}
func (a *addrs) Append(s string) error    { return a.Set(s) }
func (a *addrs) Replace(s []string) error { *a = slices.Clone(s); return nil }
func (a *addrs) GetSlice() []string       { return slices.Clone(*a) }

func newFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("name", "dflt", "")
	fs.Bool("on", false, "")
	fs.Uint64("period", 60, "")
	fs.Int("keep", -1, "")
	fs.StringArray("peer", nil, "")
	lvl := level("info")
	fs.Var(&lvl, "zone-level", "")
	fs.Var(&addrs{}, "target", "")
	return fs
}

var keys = []Key{{"name", "name"}, {"on", "on"}, {"period", "period"}, {"keep", "keep"}, {"peer", "peer"}, {"absent", "no-such-flag"}, {"zone_level", "zone-level"}, {"targets", "target"}}

// TestApplyBadFileSetsNothing: a file whose later setting is bad leaves
// every flag as it was, its good settings included, whatever the flags'
// types: the package's own and a command's (level, addrs), which only
// their Set can check.
func TestApplyBadFileSetsNothing(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"bad value", "name = 'x'\nperiod = -5\n", "line 2: period"},
		{"unknown key", "name = 'x'\nabsent = 1\n", `line 2: unknown setting "absent"`},
		{"wrong type", "name = 'x'\npeer = 5\n", "line 2: peer: want a string"},
		{"syntax", "name = 'x'\nperiod = = 3\n", "line 2"},
		{"a value of a command's own type, after another", "name = 'x'\nzone_level = 'loud'\n", `line 2: zone_level: "loud" is not debug`},
		{"a value of a command's own type, after lists", "name = 'x'\npeer = ['p']\ntargets = ['h:1']\nzone_level = 'loud'\n", `line 4: zone_level: "loud" is not debug`},
		{"a list of a command's own type", "name = 'x'\nzone_level = 'warn'\ntargets = ['h:1', 'h']\non = true\n", "line 3: targets: address h: missing port"},
		{"a list where one value goes", "name = 'x'\nzone_level = ['warn']\n", "line 2: zone_level: a list where one value was expected"},
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
			fs.VisitAll(func(f *pflag.Flag) {
				if f.Value.String() != f.DefValue {
					t.Errorf("--%s set to %s by a bad file", f.Name, f.Value)
				}
			})
		})
	}
}

// TestWriteThenApply: what Write prints, Apply reads back to the same
// values, a command's own types included; an unset negative number and
// an empty list are left out.
func TestWriteThenApply(t *testing.T) {
	fs := newFlags()
	if err := fs.Parse([]string{"--name", "n1", "--on", "--peer", "a", "--peer", "b", "--zone-level", "warn", "--target", "h:1", "--target", "h:2"}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Write(&b, fs, keys); err != nil {
		t.Fatal(err)
	}
	want := "name = 'n1'\non = true\nperiod = 60\npeer = ['a', 'b']\nzone_level = 'warn'\ntargets = ['h:1', 'h:2']\n"
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
