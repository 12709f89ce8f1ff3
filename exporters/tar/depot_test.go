package tar_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/depot"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/exporters/internal/exptest"
)

// TestExportFromDepot runs the hab binary against a real depot (embedded
// store, dev-auth, on loopback) holding the wrapper fixture and its
// dependency in stable: `hab pkg export tar -u URL habtest/wrapper` on a
// machine with an empty store and an empty key cache installs the package
// and its closure from the depot (the key fetched, every hart verified)
// into the store and writes the tarball, which tar unpacks with the whole
// closure; the service fixture likewise becomes an OCI layout that skopeo
// reads. An identifier the depot lacks fails naming it and the depot,
// and leaves no output and nothing installed, for the tar and the
// container formats. A hart whose dependency is only in the depot exports
// too.
func TestExportFromDepot(t *testing.T) {
	ctx := context.Background()
	e := exptest.New(t)
	sh := e.Build("sh")
	wr := e.Build("wrapper")
	svc := e.Build("service")

	dp, err := depot.Open(ctx, depot.Options{DataDir: t.TempDir(), DevAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(dp.Server)
	t.Cleanup(func() { ts.Close(); dp.Close() })
	c, err := client.New(ts.URL, client.WithToken("bobo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrigin(ctx, "habtest", ""); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{sh.Artifact, wr.Artifact, svc.Artifact} {
		if err := c.UploadHart(ctx, h, client.UploadOptions{Channel: "stable", Keys: e.Keys}); err != nil {
			t.Fatal(err)
		}
	}

	// Another machine: nothing installed, no keys, no artifacts.
	machine := func() (root string, hab func(args ...string) (string, error)) {
		other := t.TempDir()
		root = filepath.Join(other, "root")
		return root, func(args ...string) (string, error) {
			cmd := exec.Command(exptest.Hab(t), args...)
			cmd.Env = append(os.Environ(), "FS_ROOT="+root, "HAB_CACHE_KEY_PATH="+filepath.Join(other, "keys"), "HOME="+other,
				"HAB_BLDR_URL=", "HAB_DEPOT_URL=", "HAB_BLDR_CHANNEL=", "HAB_AUTH_TOKEN=")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
	}
	root, hab := machine()

	out := t.TempDir()
	msg, err := hab("pkg", "export", "tar", "-u", ts.URL, "--output-dir", out, "habtest/wrapper")
	if err != nil {
		t.Fatalf("hab pkg export tar from the depot: %v\n%s", err, msg)
	}
	tarball := filepath.Join(out, "habtest-wrapper-"+wr.Ident.Version+"-"+wr.Ident.Release+".tar.gz")
	if !strings.Contains(msg, "★ Wrote "+tarball) {
		t.Errorf("output lacks the tarball %s:\n%s", tarball, msg)
	}
	unpacked := t.TempDir()
	exptest.Run(t, "tar", "-xzf", tarball, "-C", unpacked)
	for _, id := range []string{wr.Ident.String(), sh.Ident.String()} {
		for _, dir := range []string{unpacked, root} { // in the tarball, and installed into the store
			if _, err := os.Stat(filepath.Join(dir, "hab/pkgs", id, "IDENT")); err != nil {
				t.Errorf("%s: %v\n%s", id, err, msg)
			}
		}
	}
	for _, f := range []string{"hab/bin/hab", "hab/pkgs/core/busybox-static", "hab/pkgs/core/hab"} {
		if _, err := os.Stat(filepath.Join(unpacked, f)); err != nil {
			t.Errorf("unpacked tarball lacks %s: %v", f, err)
		}
	}

	// The service as an OCI layout, which skopeo reads.
	layout := filepath.Join(t.TempDir(), "layout")
	if msg, err := hab("pkg", "export", "container", "-u", ts.URL, "--oci-layout", layout, "--results-dir", t.TempDir(), "habtest/service"); err != nil {
		t.Fatalf("hab pkg export container from the depot: %v\n%s", err, msg)
	}
	cfg := exptest.Run(t, "skopeo", "inspect", "--config", "oci:"+layout+":"+svc.Ident.Version+"-"+svc.Ident.Release)
	if !strings.Contains(cfg, `"sh.habitat.package.ident": "`+svc.Ident.String()+`"`) {
		t.Errorf("skopeo inspect --config of the layout lacks the ident label %s:\n%s", svc.Ident, cfg)
	}

	// A hart whose dependency only the depot has, on another empty
	// machine: the dependency (and the signer's key) come from the depot.
	_, hab2 := machine()
	out2 := t.TempDir()
	if msg, err := hab2("pkg", "export", "tar", "-u", ts.URL, "--output-dir", out2, wr.Artifact); err != nil {
		t.Fatalf("hab pkg export tar of a hart with its dependency in the depot: %v\n%s", err, msg)
	}
	unpacked2 := t.TempDir()
	exptest.Run(t, "tar", "-xzf", filepath.Join(out2, filepath.Base(tarball)), "-C", unpacked2)
	if _, err := os.Stat(filepath.Join(unpacked2, "hab/pkgs", sh.Ident.String(), "IDENT")); err != nil {
		t.Errorf("the hart's export lacks its dependency %s: %v", sh.Ident, err)
	}

	// An identifier the depot lacks.
	for _, tc := range []struct {
		format string
		args   []string
		out    string
	}{
		{"tar", []string{"--output-dir"}, t.TempDir()},
		{"container", []string{"--results-dir"}, filepath.Join(t.TempDir(), "results")},
		{"container", []string{"--oci-layout"}, filepath.Join(t.TempDir(), "layout")},
	} {
		args := append(append([]string{"pkg", "export", tc.format, "-u", ts.URL, "-c", "stable"}, tc.args...), tc.out, "habtest/nothing")
		msg, err := hab(args...)
		if err == nil {
			t.Errorf("hab %s: succeeded\n%s", strings.Join(args, " "), msg)
			continue
		}
		for _, w := range []string{"habtest/nothing", ts.URL, "channel stable"} {
			if !strings.Contains(msg, w) {
				t.Errorf("hab %s: error lacks %q:\n%s", strings.Join(args, " "), w, msg)
			}
		}
		if ents, err := os.ReadDir(tc.out); !os.IsNotExist(err) && len(ents) > 0 {
			t.Errorf("hab %s: left output in %s: %v %v", strings.Join(args, " "), tc.out, ents, err)
		}
		if _, err := os.Stat(filepath.Join(root, "hab/pkgs/habtest/nothing")); !os.IsNotExist(err) {
			t.Errorf("hab %s: habtest/nothing in the store: %v", strings.Join(args, " "), err)
		}
	}
	// The depot's downloads are gone; the artifact cache holds the two
	// verified harts.
	cached, err := os.ReadDir(filepath.Join(root, "hab/cache/artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range cached {
		names = append(names, f.Name())
	}
	want := []string{filepath.Base(sh.Artifact), filepath.Base(wr.Artifact), filepath.Base(svc.Artifact)}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("artifact cache holds %v, want %v", names, want)
	}
}
