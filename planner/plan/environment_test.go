package plan

import (
	"slices"
	"testing"

	"github.com/habgo/hab/core/ident"
)

func getenvOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestEnvironment: a plan sees the listed variables of the caller's
// environment that are set, in a fixed order, and nothing else.
func TestEnvironment(t *testing.T) {
	getenv := getenvOf(map[string]string{
		"PATH": "/bin", "HOME": "/home/u", "HAB_ORIGIN": "core", "SOURCE_DATE_EPOCH": "1", "DO_CHECK": "",
		"AWS_SECRET_ACCESS_KEY": "x", "LD_PRELOAD": "/evil.so", "HAB_XZ": "go",
	})
	want := []string{"PATH=/bin", "HOME=/home/u", "HAB_ORIGIN=core", "SOURCE_DATE_EPOCH=1"}
	if got := Environment(getenv); !slices.Equal(got, want) {
		t.Errorf("Environment = %q, want %q", got, want)
	}
	if got := Environment(getenv, "HAB_XZ", "NOT_SET"); !slices.Equal(got, append(want, "HAB_XZ=go")) {
		t.Errorf("Environment with extra names = %q", got)
	}
}

func TestTargetFrom(t *testing.T) {
	host, err := ident.HostTarget()
	if err != nil {
		t.Skip(err)
	}
	for _, c := range []struct {
		env  map[string]string
		want ident.Target
		bad  bool
	}{
		{map[string]string{}, host, false},
		{map[string]string{"HAB_PKG_TARGET": "aarch64-linux"}, ident.AArch64Linux, false},
		{map[string]string{"BUILD_PKG_TARGET": "x86_64-linux", "HAB_PKG_TARGET": "aarch64-linux"}, ident.X86_64Linux, false},
		{map[string]string{"BUILD_PKG_TARGET": "pdp11-unix"}, "", true},
	} {
		got, err := TargetFrom(getenvOf(c.env))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("TargetFrom(%v) = %q, %v", c.env, got, err)
		}
	}
}
