package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// TestPkgBindsAndConfig: hab pkg binds and hab pkg config read an installed
// package (the latest release matching the ident) as the original prints
// them; bad idents are usage errors, missing packages failures.
func TestPkgBindsAndConfig(t *testing.T) {
	e := newStoreEnv(t)
	storeWriteTree(t, e.root, "acme/app/1.0.0/20200101000000", map[string]string{
		"BINDS":          "database=port host\ncache=port\n",
		"BINDS_OPTIONAL": "metrics=endpoint\n",
		"default.toml":   "# the port\nport = 80\n[tls]\nenabled = false\n",
	})
	storeWriteTree(t, e.root, "acme/app/1.0.0/20190101000000", map[string]string{
		"BINDS":        "old=x\n",
		"default.toml": "port = 1\n",
	})
	storeWriteTree(t, e.root, "acme/plain/1.0.0/20200101000000", nil)

	tests := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"pkg", "binds", "acme/app"}, 0,
			"Showing binds for acme/app/1.0.0/20200101000000\nrequired:\n    database=port host\n    cache=port\noptional:\n    metrics=endpoint\n", ""},
		{[]string{"pkg", "binds", "acme/app/1.0.0/20190101000000"}, 0,
			"Showing binds for acme/app/1.0.0/20190101000000\nrequired:\n    old=x\noptional: none\n", ""},
		{[]string{"pkg", "binds", "acme/plain"}, 0,
			"Showing binds for acme/plain/1.0.0/20200101000000\nrequired: none\noptional: none\n", ""},
		{[]string{"pkg", "config", "acme/app"}, 0, "# the port\nport = 80\n[tls]\nenabled = false\n", ""},
		{[]string{"pkg", "config", "acme/app/1.0.0/20190101000000"}, 0, "port = 1\n", ""},
		{[]string{"pkg", "config", "acme/plain"}, 0, "", "No 'default.toml' found for acme/plain/1.0.0/20200101000000\n"},
		{[]string{"pkg", "binds", "acme/missing"}, 1, "", "acme/missing"},
		{[]string{"pkg", "config", "acme/missing"}, 1, "", "acme/missing"},
		{[]string{"pkg", "binds", "not an ident"}, 2, "", "not an ident"},
		{[]string{"pkg", "config"}, 2, "", "accepts 1 arg(s), received 0"},
		{[]string{"pkg", "binds", "a/b", "c/d"}, 2, "", "accepts 1 arg(s), received 2"},
	}
	for _, tt := range tests {
		code, out, errOut := e.run(tt.args...)
		if code != tt.code {
			t.Errorf("hab %s: exit %d, want %d\n%s%s", strings.Join(tt.args, " "), code, tt.code, out, errOut)
			continue
		}
		if out != tt.stdout {
			t.Errorf("hab %s: stdout\n%q\nwant\n%q", strings.Join(tt.args, " "), out, tt.stdout)
		}
		if tt.code == 0 && errOut != tt.stderr || tt.code != 0 && !strings.Contains(errOut, tt.stderr) {
			t.Errorf("hab %s: stderr\n%q\nwant %q", strings.Join(tt.args, " "), errOut, tt.stderr)
		}
		if tt.code == 1 && !strings.HasPrefix(errOut, "✗✗✗\n✗✗✗ ") {
			t.Errorf("hab %s: failure not framed:\n%s", strings.Join(tt.args, " "), errOut)
		}
	}
}

// TestLicense: hab license accept succeeds and writes nothing; the bare
// group is a usage error; HAB_LICENSE=accept changes nothing.
func TestLicense(t *testing.T) {
	e := newStoreEnv(t)
	out := e.mustRun("license", "accept")
	if !strings.Contains(out, "needs no license acceptance") {
		t.Errorf("license accept said %q", out)
	}
	e.mustFail(exitUsage, "requires a subcommand", "license")
	e.mustFail(exitUsage, "unknown command", "license", "deny")
	e.env["HAB_LICENSE"] = "accept"
	e.mustRun("license", "accept")
	for _, dir := range []string{e.root, e.env["HOME"]} {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("license accept made %s (%v)", dir, err)
		}
	}
}
