package sbom_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/exporters/closure"
	"github.com/habgo/hab/exporters/sbom"
)

func pkg(id, manifest string, deps ...string) *closure.Package {
	m := &pkgmeta.Metadata{Ident: ident.MustParse(id), Target: ident.X86_64Linux, Manifest: manifest}
	for _, d := range deps {
		m.Deps = append(m.Deps, ident.MustParse(d))
	}
	return &closure.Package{Ident: m.Ident, Meta: m}
}

// TestSBOM: licenses, source and checksum come from the MANIFEST the
// builder writes; anything else is NOASSERTION; dependencies are
// DEPENDS_ON relationships; the same input gives the same bytes.
func TestSBOM(t *testing.T) {
	lib := pkg("core/lib/1.0/20260101000000", "# core / lib\nA library\n\n* __License__: MIT Apache-2.0 \n* __Source__: [https://example.com/lib.tar.gz](https://example.com/lib.tar.gz)\n* __SHA__: `"+strings.Repeat("ab", 32)+"`\n")
	app := pkg("acme/app/2.0/20260102000000", "# acme / app\n\n* __License__: see the file \n* __Source__: [source URL not provided or required](source URL not provided or required)\n* __SHA__: SHA256 checksum not provided or required\n", "core/lib/1.0/20260101000000")
	c := &closure.Closure{Target: ident.X86_64Linux, Requested: []*closure.Package{app}, Args: []string{"acme/app"}, Packages: []*closure.Package{lib, app}}
	when := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	a, b := sbom.New("acme/app", c, when).JSON(), sbom.New("acme/app", c, when).JSON()
	if string(a) != string(b) {
		t.Error("two SBOMs of one closure differ")
	}
	var d sbom.Document
	if err := json.Unmarshal(a, &d); err != nil {
		t.Fatal(err)
	}
	if d.SPDXVersion != "SPDX-2.3" || d.CreationInfo.Created != "2026-01-02T00:00:00Z" || len(d.Packages) != 2 || len(d.DocumentDescribes) != 1 {
		t.Fatalf("%s", a)
	}
	l, p := d.Packages[0], d.Packages[1]
	if l.LicenseDeclared != "MIT AND Apache-2.0" || l.DownloadLocation != "https://example.com/lib.tar.gz" || len(l.Checksums) != 1 || l.Checksums[0].ChecksumValue != strings.Repeat("ab", 32) {
		t.Errorf("lib: %+v", l)
	}
	if p.LicenseDeclared != "NOASSERTION" || p.DownloadLocation != "NOASSERTION" || len(p.Checksums) != 0 {
		t.Errorf("app: %+v", p)
	}
	found := false
	for _, r := range d.Relationships {
		found = found || (r.Type == "DEPENDS_ON" && r.Element == sbom.ID(app.Ident) && r.Related == sbom.ID(lib.Ident))
	}
	if !found {
		t.Errorf("no DEPENDS_ON from app to lib: %+v", d.Relationships)
	}
}
