package main

import (
	"strings"
	"testing"
)

// TestExportCommandErrors: an unknown format is a usage error naming it;
// a package neither given as a hart, installed, cached nor in the depot
// fails naming it and the depot (here one that does not answer: the
// install resolves locally, saying so; exporters/tar's
// TestExportFromDepot exports from a real depot).
func TestExportCommandErrors(t *testing.T) {
	e := newStoreEnv(t)
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"pkg", "export", "nope", "habtest/service"}, exitUsage, []string{`unknown export format "nope"`, "container (alias docker)"}},
		{[]string{"pkg", "export", "docker", "-u", "http://127.0.0.1:1", "habtest/nothing"}, exitError, []string{"habtest/nothing", "http://127.0.0.1:1", "channel stable", "Could not reach"}},
		{[]string{"pkg", "export", "tar", "-u", "http://127.0.0.1:1", "-c", "unstable", "habtest/nothing"}, exitError, []string{"habtest/nothing", "http://127.0.0.1:1", "channel unstable"}},
		{[]string{"pkg", "export", "kubernetes", "--offline", "habtest/nothing"}, exitError, []string{"habtest/nothing", "the artifact cache"}},
		{[]string{"pkg", "export", "container"}, exitUsage, []string{"requires at least 1 arg"}},
		{[]string{"pkg", "export", "container", "--no-such-flag", "habtest/service"}, exitUsage, []string{"unknown flag: --no-such-flag", "hab pkg export container --help"}},
		{[]string{"pkg", "export", "tar", "habtest/service", "habtest/other"}, exitUsage, []string{"accepts 1 arg(s), received 2"}},
		{[]string{"pkg", "export", "tar", "--max-layers", "3", "habtest/service"}, exitUsage, []string{"unknown flag: --max-layers"}},
		{[]string{"pkg", "export", "container", "--push-image", "--registry-type", "quay", "habtest/service"}, exitUsage, []string{`--registry-type "quay"`, "docker, azure, amazon"}},
		{[]string{"pkg", "export", "container", "--push-image", "-R", "amazon", "habtest/service"}, exitUsage, []string{"--registry-type amazon needs --registry-url"}},
		{[]string{"pkg", "export", "container", "--push-image", "-R", "azure", "-U", "u", "-P", "p", "habtest/service"}, exitUsage, []string{"--registry-type azure needs --registry-url"}},
		{[]string{"pkg", "export", "container", "--push-image", "-R", "amazon", "-G", "1.dkr.ecr.eu-west-1.amazonaws.com", "-U", "AKID", "habtest/service"}, exitUsage, []string{"AWS access key id (--username) and secret access key (--password)"}},
		{[]string{"pkg", "export", "container", "--hab-binary", "./hab", "habtest/service"}, exitUsage, []string{`--hab-binary "./hab"`, "TARGET=PATH"}},
		{[]string{"pkg", "export", "tar", "--hab-binary", "nowhere-linux=./hab", "habtest/service"}, exitUsage, []string{`--hab-binary "nowhere-linux=./hab"`}},
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

// TestExportPassThroughHelp: export container and tar take their command
// line unparsed (the original hands it to the exporter program), so their
// own flag set parses it: --help and -h print the exporter's flags and
// exit 0, wherever they stand, and flags may follow the package.
func TestExportPassThroughHelp(t *testing.T) {
	e := newStoreEnv(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"pkg", "export", "container", "--help"}, []string{"--max-layers", "--registry-type", "--push-image"}},
		{[]string{"pkg", "export", "docker", "-h"}, []string{"--max-layers"}},
		{[]string{"pkg", "export", "container", "habtest/service", "--help"}, []string{"--oci-layout"}},
		{[]string{"pkg", "export", "tar", "--help"}, []string{"--no-hab-bin", "--output-dir"}},
		{[]string{"pkg", "export", "tar", "--no-hab-bin", "-h", "habtest/service"}, []string{"--no-hab-bin"}},
	} {
		code, out, errOut := e.run(tc.args...)
		if code != 0 {
			t.Errorf("hab %s: exit %d\n%s", strings.Join(tc.args, " "), code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("hab %s: help lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}
