package main

import (
	"slices"
	"strings"
	"testing"
)

// TestClapArgs: the word after a bare optional-value flag is its value,
// and a list flag (wordsFlag) takes the words up to the next flag (at
// most its most), as the original's parser takes them, unless a word is a
// flag, follows "--", or the command passes its arguments on unparsed;
// other flags and arguments are untouched.
func TestClapArgs(t *testing.T) {
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
		{"svc load core/x --bind a:b.c d:e.f --force", "svc load core/x --bind a:b.c --bind=d:e.f --force"},
		{"svc load core/x --bind=a:b.c d:e.f", "svc load core/x --bind=a:b.c --bind=d:e.f"},
		{"svc load --bind a:b.c -- core/x", "svc load --bind a:b.c -- core/x"},
		{"svc update core/x --bind", "svc update core/x --bind"},
		{"svc update core/x --bind a:b.c d:e.f", "svc update core/x --bind=a:b.c --bind=d:e.f"},
		{"svc update core/x --bind --group g", "svc update core/x --bind --group g"},
		{"pkg download --file 1 2 3 4 5 6 7 8 9 10 11", "pkg download --file 1 --file=2 --file=3 --file=4 --file=5 --file=6 --file=7 --file=8 --file=9 --file=10 11"},
		{"svc load core/x --group a b", "svc load core/x --group a b"},
	} {
		got := clapArgs(clirefTree(t), strings.Fields(tt.in))
		if !slices.Equal(got, strings.Fields(tt.want)) {
			t.Errorf("%q: %q, want %q", tt.in, strings.Join(got, " "), tt.want)
		}
	}
}
