package builder

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
)

// TestRemoveBeneath: only what resolves strictly beneath the directory is
// removed; links are not followed out of it.
func TestRemoveBeneath(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "cache", "src")
	outside := filepath.Join(tmp, "keys")
	for _, d := range []string{filepath.Join(dir, "pkg-1.0", "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(outside, "origin.sig.key")
	if err := os.WriteFile(keep, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(tmp, "cache"), filepath.Join(tmp, "cachelink")); err != nil {
		t.Fatal(err)
	}
	refused := []string{
		dir, dir + "/", dir + "/.", filepath.Join(dir, ".."), dir + "/pkg-../../..", filepath.Join(tmp, "cache"),
		tmp, "/", filepath.Join(dir, "link", "origin.sig.key"), outside,
		filepath.Join(dir, "pkg-1.0", "..", "..", "src"),
	}
	for _, p := range refused {
		if err := removeBeneath(dir, p); err == nil || !strings.Contains(err.Error(), "refusing to remove") {
			t.Errorf("removeBeneath(%s) = %v, want a refusal", p, err)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a refused removal removed %s: %v", keep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pkg-1.0", "sub")); err != nil {
		t.Fatalf("a refused removal removed the cache: %v", err)
	}
	// The link itself lies beneath: it goes, not its target.
	if err := removeBeneath(dir, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "link")); !os.IsNotExist(err) || !fileExists(keep) {
		t.Errorf("removing the link: link %v, target kept %v", err, fileExists(keep))
	}
	// A directory beneath, named through a link to the parent, goes.
	if err := removeBeneath(filepath.Join(tmp, "cachelink", "src"), filepath.Join(dir, "pkg-1.0")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "pkg-1.0")); !os.IsNotExist(err) {
		t.Errorf("pkg-1.0 left: %v", err)
	}
	// What does not exist is no error.
	for _, p := range []string{filepath.Join(dir, "gone"), filepath.Join(dir, "gone", "deeper"), filepath.Join(tmp, "nodir", "x")} {
		if err := removeBeneath(filepath.Dir(p), p); err != nil {
			t.Errorf("removeBeneath(%s) = %v", p, err)
		}
	}
}

// TestVersionCannotWipeCaches reproduces the cache-wiping version string:
// with the key cache, the artifact cache and the source cache under
// FS_ROOT/hab/cache, plans whose version or CACHE_PATH points out of the
// source cache fail with an error naming the plan and the setting, and
// every cache survives.
func TestVersionCannotWipeCaches(t *testing.T) {
	cases := []struct{ name, plan, want string }{
		{"version ../../..", "pkg_version=../../..\n", `pkg_version "../../.." contains '/'`},
		{"version ..", "pkg_version=..\n", `pkg_version ".." is not allowed`},
		{"version .", "pkg_version=.\n", `pkg_version "." is not allowed`},
		{"version with a slash", "pkg_version=1.0/../../../..\n", `contains '/'`},
		{"update_pkg_version ../../..", "pkg_version() { echo ../../..; }\ndo_before() { update_pkg_version; }\n", `update_pkg_version: pkg_version "../../.." contains '/'`},
		{"update_pkg_version ..", "pkg_version() { echo ..; }\ndo_before() { update_pkg_version; }\n", `update_pkg_version: pkg_version ".." is not allowed`},
		{"version assigned in a phase", "pkg_version=1.0\ndo_before() { pkg_version=..; }\n", `pkg_version ".." is not allowed`},
		{"release assigned in a phase", "pkg_version=1.0\ndo_download() { pkg_release=../..; }\n", `pkg_release "../.." contains '/'`},
		{"CACHE_PATH out of the source cache", "pkg_version=1.0\ndo_before() { CACHE_PATH=\"$HAB_CACHE_SRC_PATH/..\"; }\n", "refusing to remove"},
		{"CACHE_PATH the source cache", "pkg_version=1.0\ndo_before() { CACHE_PATH=\"$HAB_CACHE_SRC_PATH\"; }\n", "refusing to remove"},
		{"CACHE_PATH a link", "pkg_version=1.0\ndo_before() { ln -s ../keys \"$HAB_CACHE_SRC_PATH/keys\"; CACHE_PATH=\"$HAB_CACHE_SRC_PATH/keys/.\"; }\n", ""},
		{"download over a file out of the source cache", "pkg_version=1.0\ndo_download() { download_file \"file://$PLAN_CONTEXT/plan.sh\" ../keys/habtest.pub " + strings.Repeat("0", 64) + "; }\n", `"../keys/habtest.pub" is not a file name in the source cache`},
		{"download to a name out of the source cache", "pkg_version=1.0\ndo_download() { download_file \"file://$PLAN_CONTEXT/plan.sh\" ../keys/new.pub; }\n", `"../keys/new.pub" is not a file name in the source cache`},
		{"pkg_filename out of the source cache", "pkg_version=1.0\npkg_source=\"file://$PLAN_CONTEXT/plan.sh\"\npkg_filename=../artifacts/x.hart\npkg_shasum=" + strings.Repeat("0", 64) + "\n", `"../artifacts/x.hart" is not a file name in the source cache`},
		{"CACHE_PATH inside a link", "pkg_version=1.0\ndo_before() { ln -sfn ../keys \"$HAB_CACHE_SRC_PATH/k\"; CACHE_PATH=\"$HAB_CACHE_SRC_PATH/k/habtest.pub\"; }\n", "refusing to remove"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			cache := filepath.Join(e.root, "hab", "cache")
			keys := crypto.Cache{Dir: filepath.Join(cache, "keys")}
			if err := os.CopyFS(keys.Dir, os.DirFS(e.keys.Dir)); err != nil {
				t.Fatal(err)
			}
			e.keys = keys
			survivors := map[string]string{
				filepath.Join(cache, "keys", "habtest.pub"):                       "k",
				filepath.Join(cache, "artifacts", "core-x-1-20200101000000.hart"): "a",
				filepath.Join(cache, "src", "other-1.0.tar.gz"):                   "s",
			}
			for p, s := range survivors {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadDir(keys.Dir)
			dir := writePlan(t, map[string]string{"plan.sh": "pkg_name=wipe\npkg_origin=habtest\n" + c.plan +
				"do_build() { :; }\ndo_install() { :; }\n"})
			var out bytes.Buffer
			_, err := Build(context.Background(), dir, e.options(&out))
			if c.want == "" {
				// The link is removed, not what it points to.
				if err != nil {
					t.Fatalf("build: %v\n%s", err, out.String())
				}
			} else if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("build: %v, want an error saying %q\n%s", err, c.want, out.String())
			}
			if err != nil && !strings.Contains(err.Error(), filepath.Join(dir, "plan.sh")) && !strings.Contains(err.Error(), "CACHE_PATH") {
				t.Errorf("the error does not name the plan: %v", err)
			}
			for p := range survivors {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s did not survive: %v", p, err)
				}
			}
			if _, err := os.Lstat(filepath.Join(cache, "artifacts", "x.hart")); !os.IsNotExist(err) {
				t.Errorf("a file was written into the artifact cache (%v)", err)
			}
			if after, _ := os.ReadDir(keys.Dir); len(after) != len(before) {
				t.Errorf("key cache had %d entries, now %d", len(before), len(after))
			}
		})
	}
}
