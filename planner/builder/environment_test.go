package builder

import (
	"slices"
	"testing"
)

// TestEnvironment: a build sees what a plan evaluation sees, plus the
// build program's own settings.
func TestEnvironment(t *testing.T) {
	env := map[string]string{"PATH": "/bin", "HAB_NATIVE_PACKAGE": "true", "HAB_CONFIG_EXCLUDE": "*.bak", "NO_INSTALL_DEPS": "1",
		"HAB_XZ": "exec", "SOURCE_DATE_EPOCH": "7", "SECRET": "no"}
	got := Environment(func(k string) string { return env[k] })
	want := []string{"PATH=/bin", "SOURCE_DATE_EPOCH=7", "HAB_NATIVE_PACKAGE=true", "HAB_CONFIG_EXCLUDE=*.bak", "NO_INSTALL_DEPS=1", "HAB_XZ=exec"}
	if !slices.Equal(got, want) {
		t.Errorf("Environment = %q, want %q", got, want)
	}
}
