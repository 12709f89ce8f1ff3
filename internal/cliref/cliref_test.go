package cliref

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// String is the command as the tests below write it: path, arguments
// (? optional, ... repeated, $ENV), then each flag on its own line.
func (c *Command) String() string {
	var b strings.Builder
	b.WriteString(c.Name())
	for _, a := range c.Args {
		fmt.Fprintf(&b, " %s", a.Name)
		if a.Optional {
			b.WriteString("?")
		}
		if a.Repeated {
			b.WriteString("...")
		}
		if a.Env != "" {
			b.WriteString("$" + a.Env)
		}
	}
	if c.Passthrough {
		b.WriteString(" (passthrough)")
	}
	for _, f := range c.Flags {
		b.WriteString("\n  ")
		var names []string
		if f.Short != "" {
			names = append(names, "-"+f.Short)
		}
		if f.Long != "" {
			names = append(names, "--"+f.Long)
		}
		b.WriteString(strings.Join(names, " "))
		v := f.Value
		if f.Repeated {
			v += "..."
		}
		switch {
		case f.OptionalValue:
			b.WriteString(" [" + v + "]")
		case f.Value != "":
			b.WriteString(" " + v)
		}
		if f.Default != "" {
			b.WriteString(" =" + f.Default)
		}
		if len(f.Env) > 0 {
			b.WriteString(" $" + strings.Join(f.Env, ","))
		}
		if f.Hidden {
			b.WriteString(" hidden")
		}
	}
	return b.String()
}

// TestReferenceCounts: the parse finds the 14 groups and, per group, the
// number of leaf commands section 14's count line gives (79 in all).
func TestReferenceCounts(t *testing.T) {
	r := Load(t)
	want := map[string]int{"bldr": 5, "cli": 2, "config": 2, "file": 1, "license": 1, "origin": 18, "pkg": 27,
		"plan": 2, "ring": 3, "studio": 1, "sup": 8, "supportbundle": 1, "svc": 7, "user": 1}
	got := map[string]int{}
	for _, c := range r.Commands {
		got[c.Path[0]]++
	}
	for g, n := range want {
		if got[g] != n {
			t.Errorf("group %s: %d commands, want %d", g, got[g], n)
		}
	}
	if len(r.Commands) != 79 {
		t.Errorf("%d commands, want 79", len(r.Commands))
	}
	groups := slices.Sorted(func(yield func(string) bool) {
		for g := range want {
			if !yield(g) {
				return
			}
		}
	})
	if !slices.Equal(r.Groups, groups) {
		t.Errorf("groups %v, want %v", r.Groups, groups)
	}
	if testing.Verbose() {
		for _, c := range r.Commands {
			t.Log(c)
		}
	}
}

// TestReferenceCommands: commands written in each of the reference's
// forms come out whole: table rows with bundles and per-flag env and
// defaults, the section-wide flags of bldr channel, list items with flag
// sub-items, flag tables, SharedLoad shared by sup run, short mentions
// of flags named before, pass-through commands, hidden flags.
func TestReferenceCommands(t *testing.T) {
	r := Load(t)
	for _, want := range []string{
		"pkg binlink IDENT BINARY?\n  -d --dest DEST_DIR =/bin $HAB_BINLINK_DIR\n  -f --force",
		"pkg channels FQIDENT PKG_TARGET?$HAB_PACKAGE_TARGET\n  -u --url BLDR_URL $HAB_BLDR_URL\n  -z --auth AUTH_TOKEN $HAB_AUTH_TOKEN",
		"bldr channel list ORIGIN?\n  -s --sandbox\n  -u --url BLDR_URL =https://bldr.habitat.sh $HAB_BLDR_URL",
		"origin key upload ORIGIN?\n  --pubfile PATH\n  -s --secret\n  --secfile PATH\n  --cache-key-path PATH $HAB_CACHE_KEY_PATH\n  -u --url BLDR_URL $HAB_BLDR_URL\n  -z --auth AUTH_TOKEN $HAB_AUTH_TOKEN",
		"origin rbac show MEMBER_ACCOUNT\n  -o --origin ORIGIN\n  -j --json\n  -u --url BLDR_URL $HAB_BLDR_URL\n  -z --auth AUTH_TOKEN $HAB_AUTH_TOKEN",
		"pkg list PKG_IDENT?\n  -a --all\n  -o --origin ORIGIN",
		"pkg provides FILE\n  -r\n  -p",
		"pkg exec IDENT CMD ARGS?... (passthrough)",
		"pkg export tar ARGS?... (passthrough)",
		"studio ARGS?... (passthrough)",
		"supportbundle",
		"license accept",
		"cli completers\n  -s --shell SHELL",
		"plan render TEMPLATE_PATH\n  -d --default-toml DEFAULT_TOML =./default.toml\n  -u --user-toml USER_TOML\n  -m --mock-data MOCK_DATA\n  -p --print\n  -r --render-dir RENDER_DIR =./results\n  -n --no-render\n  -q --quiet",
		"sup secret generate-tls path?\n  --subject-alternative-name DNS_NAME",
		"svc key generate SERVICE_GROUP ORG$HABITAT_ORG\n  --cache-key-path PATH $HAB_CACHE_KEY_PATH",
		"config apply SERVICE_GROUP VERSION_NUMBER FILE?\n  -u --user USER\n  -r --remote-sup REMOTE_SUP\n  --cache-key-path PATH $HAB_CACHE_KEY_PATH",
	} {
		name := strings.Fields(want)[0]
		for _, w := range strings.Fields(want)[1:] {
			if w == strings.ToUpper(w) || strings.ContainsAny(w, "(?") || strings.HasPrefix(w, "-") {
				break
			}
			name += " " + w
		}
		c := r.Find(name)
		if c == nil {
			t.Errorf("no command %q", name)
			continue
		}
		if got := c.String(); got != want {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", name, got, want)
		}
	}

	// Flags that need the whole file: pkg build's short mentions of -R
	// and -D, pkg install's hidden --offline, sup run's table and
	// SharedLoad, svc update's -t and -s from SharedLoad.
	for _, tt := range []struct{ cmd, flag, want string }{
		{"pkg build", "reuse", "-R --reuse"},
		{"pkg build", "keys", "-k --keys HAB_ORIGIN_KEYS"},
		{"pkg install", "offline", "--offline hidden"},
		{"pkg install", "channel", "-c --channel CHANNEL $HAB_BLDR_CHANNEL"},
		{"pkg install", "binlink-dir", "--binlink-dir BINLINK_DIR $HAB_BINLINK_DIR"},
		{"pkg download", "target", "-t --target PKG_TARGET $HAB_PACKAGE_TARGET"},
		{"pkg search", "limit", "-l --limit LIMIT =50"},
		{"sup run", "listen-gossip", "--listen-gossip =0.0.0.0:9638 $HAB_LISTEN_GOSSIP"},
		{"sup run", "ring-key", "--ring-key KEY $HAB_RING_KEY hidden"},
		{"sup run", "auto-update", "-A --auto-update"},
		{"sup run", "auto-update-period", "--auto-update-period =60"},
		{"sup run", "binding-mode", "--binding-mode strict\\|relaxed =strict"},
		// `[PATH]`: the value may be left out.
		{"sup run", "ctl-server-certificate", "--ctl-server-certificate [PATH]"},
		{"sup run", "ctl-server-key", "--ctl-server-key [PATH]"},
		{"sup run", "ctl-client-ca-certificate", "--ctl-client-ca-certificate [PATH]"},
		// `...`: one use takes several words.
		{"sup run", "peer", "--peer IP..."},
		{"sup run", "config-files", "--config-files F..."},
		{"sup run", "event-meta", "--event-meta K..."},
		{"svc update", "bind", "--bind [B...]"},
		{"svc load", "bind", "--bind NAME..."},
		{"pkg download", "file", "--file F..."},
		{"sup run", "health-check-interval", "--health-check-interval =30"},
		{"svc load", "group", "--group =default"},
		{"svc load", "generate-config", "--generate-config hidden"},
		{"svc load", "password", "--password"},
		{"svc update", "topology", "-t --topology standalone\\|leader"},
		{"svc update", "url", "-u --url BLDR_URL"},
		// Named without a value in svc update's list, a SharedLoad flag
		// takes one as SharedLoad's does (--shutdown-timeout: its table
		// does not say, so neither does this).
		{"svc update", "channel", "--channel CHANNEL"},
		{"svc update", "health-check-interval", "-i --health-check-interval HEALTH_CHECK_INTERVAL"},
		{"svc update", "shutdown-timeout", "--shutdown-timeout"},
		{"svc update", "strategy", "-s --strategy none\\|at-once\\|rolling"},
		{"svc update", "update-condition", "--update-condition =latest"},
		{"svc load", "strategy", "-s --strategy none\\|at-once\\|rolling =none"},
	} {
		c := r.Find(tt.cmd)
		if c == nil {
			t.Errorf("no command %q", tt.cmd)
			continue
		}
		f := c.Flag(tt.flag)
		if f == nil {
			t.Errorf("%s: no flag --%s:\n%s", tt.cmd, tt.flag, c)
			continue
		}
		one := &Command{Flags: []Flag{*f}}
		if got := strings.TrimSpace(one.String()); got != tt.want {
			t.Errorf("%s --%s: %q, want %q", tt.cmd, tt.flag, got, tt.want)
		}
	}
	if c := r.Find("bldr channel list"); c != nil && c.Flag("auth") != nil {
		t.Errorf("bldr channel list has -z, which the reference says it has not")
	}
	if c := r.Find("plan render"); c != nil && c.Flag("no-verbose") != nil {
		t.Errorf("plan render has --no-verbose, which the reference says is not accepted")
	}
}

// TestParseErrors: a reference without its list of groups, or naming a
// command twice, is refused with the line.
func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"## 1. `hab pkg` (x)\n\n| `path IDENT` | – | x |\n", "no list of groups"},
		{"- 14 groups: `pkg`\n## 1. `hab pkg` (x)\n| `path IDENT` | – | x |\n| `path IDENT` | – | x |\n", "line 4: command \"pkg path\" listed twice (line 3)"},
	} {
		_, err := Parse(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): %v, want %q", tt.in, err, tt.want)
		}
	}
}
