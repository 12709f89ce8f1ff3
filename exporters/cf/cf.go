// Package cf exports a package for Cloud Foundry: the container image with
// a mapping layer. The mapping (a TOML file whose values may use
// environment variables and the helpers `service NAME JQ`, `services
// [JQ]`, `application [JQ]` and `port` over VCAP_SERVICES,
// VCAP_APPLICATION and PORT, written as in a shell here-document) is
// rendered to the service's user.toml when the container starts, by hab
// itself (Render): no shell or jq program is needed in the image.
package cf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/itchyny/gojq"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/habgo/hab/exporters/container"
)

// MappingPath is where the image holds the mapping.
const MappingPath = "/cf-mapping.toml"

// Render expands the mapping as the original's cf-init.sh did with a
// here-document: $VAR and ${VAR} from getenv, and $(helper ARGS...) for
// the helpers. Any other command is an error naming it.
func Render(mapping string, getenv func(string) string) (string, error) {
	doc, err := parse(mapping)
	if err != nil {
		return "", err
	}
	cfg := &expand.Config{
		Env:     expand.FuncEnviron(getenv),
		NoUnset: false,
	}
	cfg.CmdSubst = func(w io.Writer, cs *syntax.CmdSubst) error {
		if len(cs.Stmts) != 1 {
			return fmt.Errorf("mapping: $(...) must call one helper (service, services, application, port)")
		}
		call, ok := cs.Stmts[0].Cmd.(*syntax.CallExpr)
		if !ok || len(call.Args) == 0 {
			return fmt.Errorf("mapping: $(...) must call one helper (service, services, application, port)")
		}
		var args []string
		for _, word := range call.Args {
			s, err := expand.Literal(cfg, word)
			if err != nil {
				return fmt.Errorf("mapping: %w", err)
			}
			args = append(args, s)
		}
		out, err := helper(args, getenv)
		if err != nil {
			return fmt.Errorf("mapping: $(%s): %w", strings.Join(args, " "), err)
		}
		_, err = io.WriteString(w, out)
		return err
	}
	out, err := expand.Document(cfg, doc)
	if err != nil {
		return "", err
	}
	return out, nil
}

// helper runs one helper of the original's helpers.sh.
func helper(args []string, getenv func(string) string) (string, error) {
	name, rest := args[0], args[1:]
	filter := func(i int) string {
		if len(rest) > i {
			return rest[i]
		}
		return "."
	}
	switch name {
	case "port":
		return getenv("PORT"), nil
	case "services":
		return jq(getenv("VCAP_SERVICES"), "VCAP_SERVICES", filter(0))
	case "application":
		return jq(getenv("VCAP_APPLICATION"), "VCAP_APPLICATION", filter(0))
	case "service":
		if len(rest) == 0 {
			return "", errors.New("service needs a service name")
		}
		// The entry of VCAP_SERVICES (a map of lists by service type)
		// whose name is NAME, then the filter.
		sel := fmt.Sprintf(`[.[][] | select(.name == %s)][0] | %s`, jsonString(rest[0]), filter(1))
		return jq(getenv("VCAP_SERVICES"), "VCAP_SERVICES", sel)
	}
	return "", fmt.Errorf("unknown helper %q (service, services, application, port)", name)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// jq applies filter to the JSON document data (named what) as `jq -r`
// does: strings raw, other values as JSON, one a line.
func jq(data, what, filter string) (string, error) {
	var v any
	if strings.TrimSpace(data) == "" {
		return "", fmt.Errorf("%s is not set", what)
	}
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return "", fmt.Errorf("%s is not JSON: %w", what, err)
	}
	q, err := gojq.Parse(filter)
	if err != nil {
		return "", fmt.Errorf("jq filter %q: %w", filter, err)
	}
	iter := q.RunWithContext(context.Background(), v)
	var out []string
	for {
		r, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := r.(error); ok {
			return "", fmt.Errorf("jq filter %q over %s: %w", filter, what, err)
		}
		if s, ok := r.(string); ok {
			out = append(out, s)
			continue
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return "", err
		}
		out = append(out, strings.TrimSuffix(b.String(), "\n"))
	}
	return strings.Join(out, "\n"), nil
}

// Request is one `hab pkg export cf PKG MAPPING`.
type Request struct {
	Container container.Request
	Mapping   []byte
}

// Export builds and writes the Cloud Foundry image: the package's image
// with the mapping at MappingPath and an entrypoint that renders it to
// /hab/svc/NAME/user.toml (`hab pkg export cf-init`) before /init.sh.
// Its tags are the container tags prefixed with cf-, as the original's.
func Export(ctx context.Context, r Request) (*container.Result, error) {
	if _, err := parse(string(r.Mapping)); err != nil {
		return nil, err
	}
	cr := r.Container
	if len(cr.Args) != 1 {
		return nil, errors.New("cf: one package is exported")
	}
	cr.Image.Files = append(cr.Image.Files, container.File{Path: MappingPath, Mode: 0o644, Data: r.Mapping})
	cr.Naming.TagPrefix = "cf-"
	cr.Image.EntrypointFor = func(svcName string) []string {
		return []string{"/bin/hab", "pkg", "export", "cf-init", MappingPath, "/hab/svc/" + svcName + "/user.toml", "/init.sh"}
	}
	return container.Export(ctx, cr)
}

// parse reads the mapping as the body of a shell here-document.
func parse(mapping string) (*syntax.Word, error) {
	const delim = "HAB_CF_MAPPING_END"
	src := "cat <<" + delim + "\n" + mapping
	if !strings.HasSuffix(mapping, "\n") {
		src += "\n"
	}
	src += delim + "\n"
	f, err := syntax.NewParser().Parse(strings.NewReader(src), "mapping")
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if len(f.Stmts) != 1 || len(f.Stmts[0].Redirs) != 1 || f.Stmts[0].Redirs[0].Hdoc == nil {
		return nil, errors.New("mapping: it must not contain the line " + delim)
	}
	return f.Stmts[0].Redirs[0].Hdoc, nil
}
