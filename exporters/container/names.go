package container

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/templating"
)

// DefaultImageName is the original's --image-name template.
const DefaultImageName = "{{pkg_origin}}/{{pkg_name}}"

// Naming is how the image is named and tagged (--image-name,
// --registry-url, --no-tag-*, --tag-custom).
type Naming struct {
	ImageName   string // a handlebars template; DefaultImageName when empty
	RegistryURL string
	Channel     string
	// NoTagLatest, NoTagVersion and NoTagVersionRelease switch off the
	// default tags latest, VERSION and VERSION-RELEASE.
	NoTagLatest, NoTagVersion, NoTagVersionRelease bool
	TagCustom                                      string // a handlebars template
	// TagPrefix is put before every tag (cf- for Cloud Foundry images).
	TagPrefix string
}

// Names are an image's rendered name and tags.
type Names struct {
	Name string
	Tags []string
	// Refs are name:tag for each tag (name alone when there are none).
	Refs []name.Tag
}

// Resolve renders the image name and tags for package id, as the original
// does: the name template (lowercased, prefixed with the registry URL),
// then latest, VERSION, VERSION-RELEASE and the custom tag, each unless
// switched off.
func (n Naming) Resolve(id ident.Ident) (*Names, error) {
	data := map[string]any{
		"pkg_origin": id.Origin, "pkg_name": id.Name, "pkg_version": id.Version,
		"pkg_release": id.Release, "channel": n.Channel,
	}
	render := func(what, tmpl string) (string, error) {
		t, err := templating.Compile(what, tmpl)
		if err != nil {
			return "", fmt.Errorf("%s %q: %w", what, tmpl, err)
		}
		s, err := templating.New().RenderTemplate(t, data)
		if err != nil {
			return "", fmt.Errorf("%s %q: %w", what, tmpl, err)
		}
		return strings.ToLower(strings.TrimSpace(s)), nil
	}
	tmpl := n.ImageName
	if tmpl == "" {
		tmpl = DefaultImageName
	}
	imageName, err := render("image name", tmpl)
	if err != nil {
		return nil, err
	}
	if reg := registryHost(n.RegistryURL); reg != "" {
		imageName = reg + "/" + imageName
	}
	out := &Names{Name: imageName}
	if !n.NoTagLatest {
		out.Tags = append(out.Tags, "latest")
	}
	if !n.NoTagVersion {
		out.Tags = append(out.Tags, id.Version)
	}
	if !n.NoTagVersionRelease {
		out.Tags = append(out.Tags, id.Version+"-"+id.Release)
	}
	if n.TagCustom != "" {
		t, err := render("custom tag", n.TagCustom)
		if err != nil {
			return nil, err
		}
		out.Tags = append(out.Tags, t)
	}
	for i := range out.Tags {
		out.Tags[i] = n.TagPrefix + out.Tags[i]
	}
	tags := out.Tags
	if len(tags) == 0 && n.TagPrefix == "" {
		tags = []string{"latest"} // a reference without a tag means latest
	} else if len(tags) == 0 {
		tags = []string{n.TagPrefix + "latest"}
	}
	for _, t := range tags {
		ref, err := name.NewTag(imageName+":"+t, name.WeakValidation)
		if err != nil {
			return nil, fmt.Errorf("image reference %s:%s: %w", imageName, t, err)
		}
		out.Refs = append(out.Refs, ref)
	}
	return out, nil
}

// registryHost is a registry URL without its scheme and trailing slash.
func registryHost(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	return strings.TrimSuffix(u, "/")
}
