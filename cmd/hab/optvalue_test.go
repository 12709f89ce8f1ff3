package main

import (
	"slices"
	"strings"
	"testing"
)

// TestOptionalValueArgs: the word after a bare optional-value flag is
// its value, as the original's parser takes it, unless it is a flag,
// follows "--", or the command passes its arguments on unparsed; other
// flags and arguments are untouched.
func TestOptionalValueArgs(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"sup run --ctl-server-certificate /d core/redis", "sup run --ctl-server-certificate=/d core/redis"},
		{"sup run --ctl-server-key /d --ctl-client-ca-certificate /c", "sup run --ctl-server-key=/d --ctl-client-ca-certificate=/c"},
		{"sup run --ctl-server-certificate --ctl-server-key core/redis", "sup run --ctl-server-certificate --ctl-server-key=core/redis"},
		{"sup run --ctl-server-certificate --json-logging core/redis", "sup run --ctl-server-certificate --json-logging core/redis"},
		{"sup run --ctl-server-certificate=/d core/redis", "sup run --ctl-server-certificate=/d core/redis"},
		{"sup run --org /d --ctl-server-certificate", "sup run --org /d --ctl-server-certificate"},
		{"sup run -- --ctl-server-certificate /d", "sup run -- --ctl-server-certificate /d"},
		{"start --ctl-server-certificate /d core/redis", "start --ctl-server-certificate=/d core/redis"},
		{"pkg exec core/x --ctl-server-certificate /d", "pkg exec core/x --ctl-server-certificate /d"},
		{"no-such-command --ctl-server-certificate /d", "no-such-command --ctl-server-certificate /d"},
	} {
		got := optionalValueArgs(clirefTree(t), strings.Fields(tt.in))
		if !slices.Equal(got, strings.Fields(tt.want)) {
			t.Errorf("%q: %q, want %q", tt.in, strings.Join(got, " "), tt.want)
		}
	}
}
