package main

import (
	"strings"
	"testing"
)

// TestExportCommandErrors: an unknown format is a usage error naming it;
// a package neither given as a hart nor installed fails naming it and
// the depot it would come from (there is no depot client yet).
func TestExportCommandErrors(t *testing.T) {
	e := newStoreEnv(t)
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"pkg", "export", "nope", "habtest/service"}, exitUsage, []string{`unknown export format "nope"`, "container (alias docker)"}},
		{[]string{"pkg", "export", "docker", "habtest/nothing"}, exitError, []string{"habtest/nothing", "https://bldr.habitat.sh", "no depot client"}},
		{[]string{"pkg", "export", "container", "-u", "http://127.0.0.1:1", "-c", "unstable", "habtest/nothing"}, exitError, []string{"habtest/nothing", "http://127.0.0.1:1", "unstable"}},
		{[]string{"pkg", "export", "container"}, exitUsage, []string{"requires at least 1 arg"}},
	} {
		code, _, errOut := e.run(tc.args...)
		if code != tc.code {
			t.Errorf("hab %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), code, tc.code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("hab %s: stderr lacks %q:\n%s", strings.Join(tc.args, " "), w, errOut)
			}
		}
	}
}
