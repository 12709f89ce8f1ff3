package ringtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/internal/depottest"
)

// TestUpdateTamperedHart: the depot serves a spoiled hart of a promoted
// release. Installing it fails, the supervisor says so at every poll,
// naming the release and the depot, and the service runs on the release
// it ran: nothing of the spoiled one is installed, and no pin is
// written. A pin file found spoiled at the next start is reported,
// naming it, and the service starts as its spec says.
func TestUpdateTamperedHart(t *testing.T) {
	data := t.TempDir()
	g, a := updateGroup(t, opts{}, func(keys crypto.Cache, harts ...string) (*client.Client, string) {
		return depottest.StartIn(t, data, keys, "habtest", harts...)
	})
	old, spoiled := g.rels[0], g.rels[1]
	a.load("habtest/"+updateSvc, "--strategy", "at-once", "--update-condition", "track-channel", "--url", g.url, "--channel", "stable")
	g.waitOn(old, a)
	// Every hart the depot holds loses a byte of its payload.
	n := 0
	err := filepath.WalkDir(filepath.Join(data, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 100 {
			return err
		}
		b[len(b)-50] ^= 0xff
		n++
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil || n == 0 {
		t.Fatalf("spoiling the depot's harts: %d spoiled, %v", n, err)
	}
	g.promote(spoiled)
	warning := "update " + old.String() + " to " + spoiled.String() + ": install " + spoiled.String() + " from the depot " + g.url
	waitFor(t, "two warnings: "+warning, func() bool { return strings.Count(a.output(), warning) >= 2 })
	if got := a.running(); got != old.String() {
		t.Errorf("the service runs %q, want %s", got, old)
	}
	pkgDir := filepath.Join(a.root, "hab", "pkgs", "habtest", updateSvc, "0.1.0")
	if es, err := os.ReadDir(pkgDir); err != nil || len(es) != 1 || es[0].Name() != old.Release {
		t.Errorf("%s holds %v (%v); want only %s", pkgDir, es, err, old.Release)
	}
	for _, line := range strings.Split(a.output(), "\n") {
		if strings.Contains(line, warning) {
			t.Logf("the warning: %s", line)
			break
		}
	}
	spoiledName, _ := spoiled.ArchiveName(ident.X86_64Linux)
	if cached, _ := filepath.Glob(filepath.Join(a.root, "hab", "cache", "artifacts", "*"+spoiled.Release+"*")); len(cached) > 0 {
		t.Errorf("the spoiled hart %s was kept in the artifact cache: %v", spoiledName, cached)
	}
	pin := filepath.Join(a.root, "hab", "sup", "default", "data", updateSvc+".pin")
	if _, err := os.Stat(pin); !os.IsNotExist(err) {
		t.Errorf("a pin was written: %v", err)
	}

	a.stop()
	if err := os.WriteFile(pin, []byte(`{"release": "`+old.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	g.demote(spoiled)
	a = g.r.start("a", opts{env: g.env})
	a.waitOutput("pin file " + pin + ": unexpected EOF")
	g.waitOn(old, a)
	if ids := a.starts(); len(ids) == 0 || ids[len(ids)-1] != old.String() {
		t.Errorf("the run hook started %v", ids)
	}
}
