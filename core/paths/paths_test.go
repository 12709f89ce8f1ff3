package paths

import "testing"

func TestLocations(t *testing.T) {
	env := func(m map[string]string) Env { return func(k string) string { return m[k] } }
	tests := []struct {
		name                            string
		root                            Root
		pkgs, keys, artifacts, src, bin string
	}{
		{
			name: "root, no FS_ROOT",
			root: Root{FS: "/", Root: true, Home: "/root"},
			pkgs: "/hab/pkgs", keys: "/hab/cache/keys", artifacts: "/hab/cache/artifacts", src: "/hab/cache/src", bin: "/bin",
		},
		{
			name: "root under FS_ROOT",
			root: Root{FS: "/tmp/r", Root: true, Home: "/root"},
			pkgs: "/tmp/r/hab/pkgs", keys: "/tmp/r/hab/cache/keys", artifacts: "/tmp/r/hab/cache/artifacts", src: "/tmp/r/hab/cache/src", bin: "/tmp/r/bin",
		},
		{
			name: "a user: caches in the home directory, packages still under FS_ROOT",
			root: Root{FS: "/", Root: false, Home: "/home/u"},
			pkgs: "/hab/pkgs", keys: "/home/u/.hab/cache/keys", artifacts: "/home/u/.hab/cache/artifacts", src: "/home/u/.hab/cache/src", bin: "/bin",
		},
		{
			name: "HAB_CACHE_KEY_PATH and HAB_CACHE_SRC_PATH win",
			root: Root{FS: "/tmp/r", Root: true, env: env(map[string]string{"HAB_CACHE_KEY_PATH": "/k", "HAB_CACHE_SRC_PATH": "/s"})},
			pkgs: "/tmp/r/hab/pkgs", keys: "/k", artifacts: "/tmp/r/hab/cache/artifacts", src: "/s", bin: "/tmp/r/bin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct{ what, got, want string }{
				{"Pkgs", tt.root.Pkgs(), tt.pkgs},
				{"Keys", tt.root.Keys(), tt.keys},
				{"Artifacts", tt.root.Artifacts(), tt.artifacts},
				{"Src", tt.root.Src(), tt.src},
				{"Bin", tt.root.Bin(), tt.bin},
			} {
				if c.got != c.want {
					t.Errorf("%s() = %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	r := FromEnv(func(k string) string {
		return map[string]string{"FS_ROOT": "/tmp/x", "HOME": "/home/h", "HAB_CACHE_KEY_PATH": "/keys"}[k]
	})
	if r.FS != "/tmp/x" || r.Home != "/home/h" || r.Keys() != "/keys" {
		t.Errorf("FromEnv = %+v, Keys %q", r, r.Keys())
	}
	if got := FromEnv(func(string) string { return "" }).FS; got != "/" {
		t.Errorf("FS without FS_ROOT = %q, want /", got)
	}
	if got := At("/tmp/t").Pkgs(); got != "/tmp/t/hab/pkgs" {
		t.Errorf("At(/tmp/t).Pkgs() = %q", got)
	}
}
