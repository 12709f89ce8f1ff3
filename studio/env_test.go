package studio_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/studio"
)

func TestEnviron(t *testing.T) {
	base := []string{"LC_ALL=POSIX", "HOME=/root", "TERM=", "PATH=" + studio.Path, "STUDIO_TYPE=default"}
	tests := []struct {
		name  string
		host  []string
		extra []string
		want  []string // besides base
	}{
		{"nothing passes by default", []string{"USER=me", "SHELL=/bin/zsh", "SSH_AUTH_SOCK=/x", "LD_PRELOAD=/evil.so"}, nil, nil},
		{"HAB_ variables pass", []string{"HAB_ORIGIN=acme", "HAB_BLDR_URL=https://b", "HAB_AUTH_TOKEN=tok"},
			nil, []string{"HAB_AUTH_TOKEN=tok", "HAB_BLDR_URL=https://b", "HAB_ORIGIN=acme"}},
		{"host paths stay outside", []string{"HAB_CACHE_KEY_PATH=/root/keys", "HAB_STUDIO_ROOT=/x", "HAB_STUDIOS_HOME=/y", "HAB_ORIGIN_KEYS=a,b", "HAB_CACHE_SRC_PATH=/z"}, nil, nil},
		{"proxies and DO_CHECK", []string{"http_proxy=http://p", "https_proxy=http://q", "no_proxy=a, b,c", "DO_CHECK=1"},
			nil, []string{"DO_CHECK=1", "http_proxy=http://p", "https_proxy=http://q", "no_proxy=a,b,c"}},
		{"SOURCE_DATE_EPOCH passes", []string{"SOURCE_DATE_EPOCH=1700000000"}, nil, []string{"SOURCE_DATE_EPOCH=1700000000"}},
		{"TERM kept", []string{"TERM=xterm-256color"}, nil, []string{"TERM=xterm-256color"}},
		{"secrets renamed", []string{"HAB_STUDIO_SECRET_AWS_KEY=k", "HAB_STUDIO_SECRET_X=a=b"}, nil, []string{"AWS_KEY=k", "X=a=b"}},
		{"reserved secrets dropped", []string{"HAB_STUDIO_SECRET_PATH=/evil", "HAB_STUDIO_SECRET_HOME=/h", "HAB_STUDIO_SECRET_HAB_ORIGIN=o", "HAB_STUDIO_SECRET_=v"}, nil, nil},
		{"extra entries last", []string{"HAB_ORIGIN=acme"}, []string{"STUDIO_ENTER=true"}, []string{"HAB_ORIGIN=acme", "STUDIO_ENTER=true"}},
		{"malformed entries ignored", []string{"NOEQUALS", "=value"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := studio.Environ(tt.host, "default", tt.extra...)
			want := map[string]string{}
			for _, kv := range append(slices.Clone(base), tt.want...) {
				k, v, _ := strings.Cut(kv, "=")
				want[k] = v
			}
			if len(got) != len(want) {
				t.Errorf("Environ = %q, want %d entries %v", got, len(want), want)
			}
			for _, kv := range got {
				k, v, _ := strings.Cut(kv, "=")
				if w, ok := want[k]; !ok || w != v {
					t.Errorf("Environ has %q, want %q=%q (present %v)", kv, k, w, ok)
				}
			}
		})
	}
}

func TestReportRedacts(t *testing.T) {
	host := []string{"HAB_ORIGIN=acme", "HAB_AUTH_TOKEN=tok123", "HAB_STUDIO_SECRET_DB_PASS=hunter2", "HAB_STUDIO_SECRET_HAB_X=also-secret", "USER=me"}
	got := strings.Join(studio.Report(host), "\n")
	for _, not := range []string{"tok123", "hunter2", "also-secret", "USER"} {
		if strings.Contains(got, not) {
			t.Errorf("report shows %q:\n%s", not, got)
		}
	}
	for _, want := range []string{"HAB_ORIGIN=acme", "HAB_AUTH_TOKEN=[redacted]", "DB_PASS=[redacted]", "HAB_X=[redacted]"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestNewConfigDefaults(t *testing.T) {
	c := studio.NewConfig()
	if !c.Network || c.Type != "default" || c.Hostname != "studio" || c.Workdir != "/" || c.Log == nil || len(c.HostTools) == 0 {
		t.Errorf("defaults: %+v", c)
	}
	c = studio.NewConfig(studio.WithMount("/x", "/src"), studio.WithNetwork(false), studio.WithHostTools("/usr"))
	if c.Network || c.Workdir != "/src" || !slices.Equal(c.HostTools, []string{"/usr"}) {
		t.Errorf("options: %+v", c)
	}
}
