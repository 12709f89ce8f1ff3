package hart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestBadPackagePrefixIsRefused crafts validly signed harts whose entry
// paths name a package that is no valid identifier (a version or release
// with control characters, white space, a direction override, '.', over
// the length limit; an origin or name the ident rules refuse): reading
// the metadata, inspecting and extracting each refuse it with an error
// that says the package prefix is not a valid identifier and shows the
// value escaped, and extraction leaves nothing in the root.
func TestBadPackagePrefixIsRefused(t *testing.T) {
	key, keys := testKey(t, "acme")
	cases := []struct {
		name   string
		prefix string // hab/pkgs/O/N/V/R/
		says   string // in the error
	}{
		{"escape in version", "hab/pkgs/acme/widget/1.0\x1b[31m/20240102030405/", `contains a control character`},
		{"newline in release", "hab/pkgs/acme/widget/1.0/2024\n0102030405/", "white space"},
		{"bell in release", "hab/pkgs/acme/widget/1.0/2024\a0102030405/", "contains a control character"},
		{"space in version", "hab/pkgs/acme/widget/1.0 beta/20240102030405/", "white space"},
		{"tab in release", "hab/pkgs/acme/widget/1.0/2024\t01/", "white space"},
		{"direction override", "hab/pkgs/acme/widget/1.0\u202egnp/20240102030405/", "formatting character"},
		{"single dot version", "hab/pkgs/acme/widget/./20240102030405/", ""}, // cleaned away: IDENT would be the release
		{"long version", "hab/pkgs/acme/widget/" + strings.Repeat("9", 200) + "/20240102030405/", "bytes long"},
		{"uppercase origin", "hab/pkgs/Acme/widget/1.0/20240102030405/", "origin"},
		{"name with a colon", "hab/pkgs/acme/wid:get/1.0/20240102030405/", "name"},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			entries := []entry{dir("hab/"), dir("hab/pkgs/"), dir(c.prefix), reg(c.prefix+"IDENT", "x\n"), reg(c.prefix+"bin", "x")}
			tmp := t.TempDir()
			p := signedHart(t, tmp, "bad.hart", key, xzBytes(t, tarBytes(t, entries)))
			if _, err := Verify(ctx, p, keys); err != nil {
				t.Fatalf("the crafted hart must be validly signed: %v", err)
			}
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s accepted the package prefix %+q", what, c.prefix)
				}
				if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsafeEntry) {
					t.Errorf("%s: error %v wraps neither ErrFormat nor ErrUnsafeEntry", what, err)
				}
				if c.says == "" {
					return
				}
				msg := err.Error()
				if !strings.Contains(msg, "is not a valid identifier") || !strings.Contains(msg, c.says) {
					t.Errorf("%s: error %q does not say the prefix is not a valid identifier (%s)", what, msg, c.says)
				}
				for _, r := range msg {
					if r < 0x20 || r == 0x7f || r == '\u202e' {
						t.Errorf("%s: error prints the untrusted value raw (%U): %q", what, r, msg)
						break
					}
				}
			}
			_, err := ReadMetadataWith(ctx, p, ReadOptions{XZ: XZGo})
			check("ReadMetadata", err)
			_, err = Inspect(ctx, p, ReadOptions{XZ: XZGo})
			check("Inspect", err)
			for _, mode := range xzModes(t) {
				root := filepath.Join(tmp, "root-"+string(mode))
				if err := os.Mkdir(root, 0o755); err != nil {
					t.Fatal(err)
				}
				_, err := ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: mode})
				check("Extract/"+string(mode), err)
				if got := listTree(t, root); len(got) > 0 && !reflect.DeepEqual(got, []string{"hab/", "hab/pkgs/"}) {
					t.Errorf("Extract/%s left %v", mode, got)
				}
			}
		})
	}
}
