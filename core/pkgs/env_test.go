package pkgs

import "testing"

func TestRootPathList(t *testing.T) {
	for _, tt := range []struct{ root, in, want string }{
		{"/", "/hab/pkgs/a/b/1/2/bin:/usr/bin", "/hab/pkgs/a/b/1/2/bin:/usr/bin"},
		{"", "/hab/pkgs/a/b/1/2/bin", "/hab/pkgs/a/b/1/2/bin"},
		{"/tmp/r", "/hab/pkgs/a/b/1/2/bin:/usr/bin", "/tmp/r/hab/pkgs/a/b/1/2/bin:/usr/bin"},
		{"/tmp/r/", "/hab/x:/habitat/y", "/tmp/r/hab/x:/habitat/y"},
		{"/tmp/r", "", ""},
	} {
		if got := RootPathList(tt.root, tt.in); got != tt.want {
			t.Errorf("RootPathList(%q, %q) = %q, want %q", tt.root, tt.in, got, tt.want)
		}
	}
}
