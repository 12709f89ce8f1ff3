package pkgs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestReadArchiveInfo(t *testing.T) {
	e := newInstallEnv(t)
	p := e.build(e.harts, spec{id: "acme/web/1.0/20200101000000", tdeps: []string{"core/glibc/2.27/20190115002733"}, deps: []string{"core/glibc/2.27/20190115002733"},
		files: map[string]string{
			FileExposes: "80 443\n", FileExports: "port=http.port\n", FileBinds: "db=port host\n", FileBindsOptional: "cache=port\n",
			FileSvcUser: "hab\n", FileSvcGroup: "hab\n", FileLDFlags: "-L/x\n",
			"default.toml": "[http]\nport = 80\n", FileManifest: "# acme / web\n",
		}})
	info, err := ReadArchiveInfo(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	checks := []struct {
		name      string
		got, want any
	}{
		{"ident", info.Ident, "acme/web/1.0/20200101000000"},
		{"key", info.KeyName, e.sec.NamedRevision.String()},
		{"is_a_service", info.IsAService, true},
		{"deps", info.Deps, []string{"core/glibc/2.27/20190115002733"}},
		{"build_deps", info.BuildDeps, []string{}},
		{"exposes", info.Exposes, []uint16{80, 443}},
		{"exports", info.Exports, map[string]string{"port": "http.port"}},
		{"binds", info.Binds, []Bind{{Name: "db", Exports: []string{"port", "host"}}}},
		{"binds_optional", info.BindsOptional, []Bind{{Name: "cache", Exports: []string{"port"}}}},
		{"config", *info.Config, "[http]\nport = 80"},
		{"svc_group", *info.SvcGroup, "hab"},
		{"ldflags", *info.LDFlags, "-L/x"},
		{"cflags", info.CFlags, (*string)(nil)},
		{"manifest", info.Manifest, "# acme / web"},
		{"size", info.Size, fi.Size()},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	js, _ := json.Marshal(info)
	if !strings.HasPrefix(string(js), `{"format_version":"HART-1","key_name":`) || !strings.Contains(string(js), `"binds":[{"service":"db","exports":["port","host"]}]`) {
		t.Errorf("json: %s", js)
	}

	bad := e.build(e.harts, spec{id: "acme/bad/1.0/20200101000000", files: map[string]string{FileExposes: "http\n"}})
	if _, err := ReadArchiveInfo(context.Background(), bad); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `EXPOSES: invalid port "http"`) {
		t.Errorf("bad EXPOSES: %v", err)
	}
}
