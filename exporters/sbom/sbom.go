// Package sbom writes the software bill of materials of an export: an
// SPDX 2.3 JSON document with one package per package of the closure,
// composed from each package's metadata (ident, license, source URL and
// checksum from its MANIFEST, dependencies from DEPS).
package sbom

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/github/go-spdx/v2/spdxexp"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/exporters/closure"
)

// Document is the part of SPDX 2.3 this writes.
type Document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      CreationInfo   `json:"creationInfo"`
	DocumentDescribes []string       `json:"documentDescribes"`
	Packages          []Package      `json:"packages"`
	Relationships     []Relationship `json:"relationships"`
}

type CreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type Package struct {
	SPDXID           string     `json:"SPDXID"`
	Name             string     `json:"name"`
	VersionInfo      string     `json:"versionInfo"`
	Supplier         string     `json:"supplier"`
	DownloadLocation string     `json:"downloadLocation"`
	FilesAnalyzed    bool       `json:"filesAnalyzed"`
	LicenseConcluded string     `json:"licenseConcluded"`
	LicenseDeclared  string     `json:"licenseDeclared"`
	CopyrightText    string     `json:"copyrightText"`
	Checksums        []Checksum `json:"checksums,omitempty"`
	ExternalRefs     []ExtRef   `json:"externalRefs,omitempty"`
	Comment          string     `json:"comment,omitempty"`
}

type Checksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type ExtRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type Relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

var notIDChar = regexp.MustCompile(`[^A-Za-z0-9.-]`)

// ID is the SPDX identifier of a package.
func ID(id ident.Ident) string {
	return "SPDXRef-Package-" + notIDChar.ReplaceAllString(strings.Join(id.Parts(), "-"), "-")
}

// New composes the SBOM of the closure c, named name, created at created.
// The same closure and arguments give the same bytes.
func New(name string, c *closure.Closure, created time.Time) *Document {
	d := &Document{
		SPDXVersion: "SPDX-2.3",
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		Name:        name,
		CreationInfo: CreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: hab pkg export"},
		},
	}
	var ids []string
	for _, r := range c.Requested {
		ids = append(ids, r.Ident.String())
	}
	d.DocumentNamespace = "https://habitat.sh/spdx/" + notIDChar.ReplaceAllString(strings.Join(ids, "+"), "-")
	for _, r := range c.Requested {
		d.DocumentDescribes = append(d.DocumentDescribes, ID(r.Ident))
		d.Relationships = append(d.Relationships, Relationship{"SPDXRef-DOCUMENT", "DESCRIBES", ID(r.Ident)})
	}
	for _, p := range c.Packages {
		d.Packages = append(d.Packages, pkg(p))
		for _, dep := range p.Meta.Deps {
			d.Relationships = append(d.Relationships, Relationship{ID(p.Ident), "DEPENDS_ON", ID(dep)})
		}
	}
	return d
}

func pkg(p *closure.Package) Package {
	license := License(p)
	src := p.SourceURL()
	if src == "" {
		src = "NOASSERTION"
	}
	out := Package{
		SPDXID:           ID(p.Ident),
		Name:             p.Ident.Origin + "/" + p.Ident.Name,
		VersionInfo:      p.Ident.Version + "/" + p.Ident.Release,
		Supplier:         "Organization: " + p.Ident.Origin,
		DownloadLocation: src,
		LicenseConcluded: "NOASSERTION",
		LicenseDeclared:  license,
		CopyrightText:    "NOASSERTION",
		ExternalRefs: []ExtRef{{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl",
			ReferenceLocator: fmt.Sprintf("pkg:generic/%s/%s@%s?release=%s", p.Ident.Origin, p.Ident.Name, p.Ident.Version, p.Ident.Release)}},
		Comment: "Habitat package " + p.Ident.String() + " (" + string(p.Meta.Target) + ")",
	}
	if sha := p.ManifestField("SHA"); len(sha) == 64 && strings.Trim(sha, "0123456789abcdef") == "" {
		out.Checksums = []Checksum{{Algorithm: "SHA256", ChecksumValue: sha}}
	}
	return out
}

// License is the SPDX license expression of package p's pkg_license
// list, NOASSERTION when it is not one.
func License(p *closure.Package) string { return spdxLicense(strings.Join(p.Licenses(), " ")) }

// spdxLicense turns the MANIFEST's license list ("Apache-2.0 MIT") into an
// SPDX expression (each one checked against the SPDX license list by
// github/go-spdx); a list with anything else is NOASSERTION.
func spdxLicense(s string) string {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return "NOASSERTION"
	}
	if ok, _ := spdxexp.ValidateLicenses(fields); !ok {
		return "NOASSERTION"
	}
	return strings.Join(fields, " AND ")
}

// JSON is the document as indented JSON.
func (d *Document) JSON() []byte {
	b, _ := json.MarshalIndent(d, "", "  ")
	return append(b, '\n')
}
