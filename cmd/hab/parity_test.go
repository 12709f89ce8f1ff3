package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestJSONOutputsDocumented: every command of issue 13's list that answers
// a question has --json, and its help says what the JSON holds (the
// shapes the tests of each command decode: TestPkgDependenciesGraphAndJSON
// for pkg list and pkg dependencies, the store and depot client tests for
// pkg info, pkg channels, pkg search and origin info, TestSupCLIParity
// for svc status, sup status and config show).
func TestJSONOutputsDocumented(t *testing.T) {
	root := clirefTree(t)
	for _, path := range []string{"pkg list", "pkg info", "pkg dependencies", "pkg channels", "pkg search", "svc status", "sup status", "origin info", "config show"} {
		c := clirefFind(root, strings.Fields(path))
		if c == nil {
			t.Errorf("no hab %s", path)
			continue
		}
		if c.Flags().Lookup("json") == nil {
			t.Errorf("hab %s has no --json", path)
		}
		if !strings.Contains(c.Long, "--json") {
			t.Errorf("hab %s: its help does not say what --json prints:\n%s", path, c.Long)
		}
	}
}

// TestEmptyEnvironmentIsUnset: a variable set to the empty string counts
// as unset, as the original's habitat_core::env::var has it: each command
// below answers the same, exit code and output, with it empty as without
// it (HAB_ORIGIN for a missing origin, HAB_AUTH_TOKEN for a required
// token, HAB_BLDR_URL before the legacy HAB_DEPOT_URL, HAB_CTL_SECRET
// before cli.toml and the local CTL_SECRET, HAB_LICENSE).
func TestEmptyEnvironmentIsUnset(t *testing.T) {
	port := freeLoopbackPort(t)
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"HAB_ORIGIN", nil, []string{"origin", "key", "generate"}},
		{"HAB_AUTH_TOKEN", nil, []string{"origin", "create", "zz", "-u", fmt.Sprintf("http://127.0.0.1:%d", port)}},
		{"HAB_BLDR_URL", map[string]string{"HAB_DEPOT_URL": fmt.Sprintf("http://127.0.0.1:%d", port)}, []string{"origin", "rbac", "show", "m", "-o", "acme", "-z", "t"}},
		{"HAB_CTL_SECRET", nil, []string{"svc", "status", "-r", fmt.Sprintf("127.0.0.1:%d", port)}},
		{"HAB_LICENSE", nil, []string{"pkg", "list", "--all"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newStoreEnv(t)
			for k, v := range tt.env {
				e.env[k] = v
			}
			code, out, errOut := e.run(tt.args...)
			e.env[tt.name] = ""
			code2, out2, errOut2 := e.run(tt.args...)
			if code2 != code || out2 != out || errOut2 != errOut {
				t.Errorf("hab %s with %s empty: exit %d\n%s%s\nunset: exit %d\n%s%s", strings.Join(tt.args, " "), tt.name, code2, out2, errOut2, code, out, errOut)
			}
			if tt.name != "HAB_LICENSE" && code == 0 {
				t.Errorf("hab %s succeeded without %s: the comparison shows nothing", strings.Join(tt.args, " "), tt.name)
			}
		})
	}
}

// TestLicenseAcceptedSilently: HAB_LICENSE, whatever its value (accept,
// accept-no-persist, deny), changes nothing a command prints or writes.
func TestLicenseAcceptedSilently(t *testing.T) {
	e := newStoreEnv(t)
	storeWriteTree(t, e.root, "acme/widget/1.2.3/20200101000000", nil)
	_, want, wantErr := e.run("pkg", "list", "--all")
	for _, v := range []string{"accept", "accept-no-persist", "deny"} {
		e.env["HAB_LICENSE"] = v
		code, out, errOut := e.run("pkg", "list", "--all")
		if code != 0 || out != want || errOut != wantErr {
			t.Errorf("HAB_LICENSE=%s: exit %d\n%s%s\nwant exit 0\n%s%s", v, code, out, errOut, want, wantErr)
		}
	}
}

// TestHookFailureExitsWithItsStatus: hab pkg install exits with the
// status of the install hook that failed (5 here), framed as any failure,
// as the original's HookFailed does; with --ignore-install-hook it
// succeeds.
func TestHookFailureExitsWithItsStatus(t *testing.T) {
	e := newStoreEnv(t)
	id := "acme/widget/1.2.3/20200101000000"
	storeWriteTree(t, e.root, id, map[string]string{"hooks/install": "#!/bin/sh\necho hooked\nexit 5\n"})
	errOut := e.mustFail(5, "install hook of "+id+" failed: 'install' exited with status code 5", "pkg", "install", id)
	if !strings.HasPrefix(strings.TrimSpace(errOut), "✗✗✗") {
		t.Errorf("failure not framed:\n%s", errOut)
	}
	e.mustRun("pkg", "install", "--ignore-install-hook", id)
}
