package census

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCensusShowsOpened: /census shows an applied configuration and an
// uploaded file as this supervisor opened them (SetOpened), never the
// ciphertext the ring's rumor carries; a rumor this supervisor could not
// open leaves what it showed before (nothing, when there was nothing);
// without opened stores the encrypted rumors are left out.
func TestCensusShowsOpened(t *testing.T) {
	const sg = "web.default@acme"
	const cipher = "BOX-1\nmctesterson-20260101000000\nweb.default@acme-20260101000000\nbm9uY2U=:c2VhbGVk"
	sealedConfig := ServiceConfig{ServiceGroup: sg, Incarnation: 2, Encrypted: true, Config: cipher}
	sealedFile := ServiceFile{ServiceGroup: sg, Filename: "secret.txt", Incarnation: 3, Encrypted: true, Body: []byte(cipher)}
	for _, tt := range []struct {
		name       string
		opened     bool
		configs    []ServiceConfig // what the supervisor opened
		files      []ServiceFile
		wantConfig string // the config's JSON ("null" for none)
		wantFiles  string // the service_files JSON
	}{
		{"opened", true,
			[]ServiceConfig{{ServiceGroup: sg, Incarnation: 2, Config: "port = 80\n"}},
			[]ServiceFile{{ServiceGroup: sg, Filename: "secret.txt", Incarnation: 3, Body: []byte("for us\n")}},
			`{"incarnation":2,"value":{"port":80}}`, `{"secret.txt":{"filename":"secret.txt","incarnation":3,"body":"Zm9yIHVzCg=="}}`},
		{"not opened, an older value kept", true,
			[]ServiceConfig{{ServiceGroup: sg, Incarnation: 1, Config: "port = 70\n"}},
			[]ServiceFile{{ServiceGroup: sg, Filename: "secret.txt", Incarnation: 1, Body: []byte("old\n")}},
			`{"incarnation":1,"value":{"port":70}}`, `{"secret.txt":{"filename":"secret.txt","incarnation":1,"body":"b2xkCg=="}}`},
		{"not opened, nothing before", true, nil, nil, `null`, `{}`},
		{"no opened stores", false, nil, nil, `null`, `{}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRing(Member{ID: "me"})
			r.Services.Insert(Service{MemberID: "me", ServiceGroup: sg, Incarnation: 1, Pkg: "acme/web/1/2"})
			r.Configs.Insert(sealedConfig)
			r.Files.Insert(sealedFile)
			if tt.opened {
				configs, files := NewStore[ServiceConfig](), NewStore[ServiceFile]()
				for _, c := range tt.configs {
					configs.Insert(c)
				}
				for _, f := range tt.files {
					files.Insert(f)
				}
				r.SetOpened(configs, files)
			}
			b, err := json.Marshal(r.Census())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "BOX-1") || strings.Contains(string(b), "Qk9YLTE") {
				t.Errorf("/census shows the ciphertext: %s", b)
			}
			var doc struct {
				Groups map[string]struct {
					Config json.RawMessage `json:"service_config"`
					Files  json.RawMessage `json:"service_files"`
				} `json:"census_groups"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			g := doc.Groups[sg]
			if string(g.Config) != tt.wantConfig {
				t.Errorf("service_config = %s, want %s", g.Config, tt.wantConfig)
			}
			if string(g.Files) != tt.wantFiles {
				t.Errorf("service_files = %s, want %s", g.Files, tt.wantFiles)
			}
		})
	}
	// A plain rumor shows as it is without opened stores.
	r := NewRing(Member{ID: "me"})
	r.Configs.Insert(ServiceConfig{ServiceGroup: sg, Incarnation: 4, Config: "port = 90\n"})
	if g := r.Census().CensusGroups[sg]; g == nil || g.ServiceConfig == nil || g.ServiceConfig.Incarnation != 4 {
		t.Errorf("plain config without opened stores: %+v", g)
	}
}
