package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// docsPage is the command reference page, generated from the command tree
// by TestCommandReferencePage.
const docsPage = "../../docs/cli.md"

// docsTree is the command tree with no environment, so that nothing of the
// machine it runs on shows in the documentation.
func docsTree(t *testing.T) *cobra.Command {
	t.Helper()
	root := clirefTree(t)
	root.DisableAutoGenTag = true
	return root
}

// docsVisible lists c and every command below it that is shown in help
// (not hidden, not cobra's help), depth first in help's order.
func docsVisible(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() || sub.Name() == "completion" {
			out = append(out, docsVisible(sub)...)
		}
	}
	return out
}

// docsMarkdown is the reference page: every command with its usage, its
// description, its flags (short name, value, default, environment) and its
// subcommands.
func docsMarkdown(root *cobra.Command) []byte {
	var b bytes.Buffer
	b.WriteString("# hab command reference\n\n")
	b.WriteString("Generated from the command tree by `go test ./cmd/hab -run TestCommandReferencePage` " +
		"(`HAB_UPDATE_DOCS=1` rewrites it; the test fails while it is out of date). Man pages: `make man`.\n\n")
	b.WriteString("Exit codes: `0` success, `1` the command failed (the message framed by `✗✗✗` on standard error), " +
		"`2` the command line was wrong or a group was run without a subcommand; commands that run another program " +
		"(`hab pkg exec`, `hab studio run`) exit with its status. Flags marked with an environment variable fall back to it " +
		"when not given; an empty variable counts as unset.\n\n")
	cmds := docsVisible(root)
	b.WriteString("## Commands\n\n")
	for _, c := range cmds[1:] {
		depth := strings.Count(c.CommandPath(), " ") - 1
		fmt.Fprintf(&b, "%s- [`%s`](#%s) — %s\n", strings.Repeat("  ", depth), c.CommandPath(), docsAnchor(c), c.Short)
	}
	for _, c := range cmds {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", c.CommandPath(), c.Short)
		if c.Long != "" && c.Long != c.Short {
			fmt.Fprintf(&b, "%s\n\n", c.Long)
		}
		fmt.Fprintf(&b, "```\n%s\n```\n", c.UseLine())
		if len(c.Aliases) > 0 {
			fmt.Fprintf(&b, "\nAlso: %s.\n", "`"+strings.Join(c.Aliases, "`, `")+"`")
		}
		var rows []string
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			rows = append(rows, docsFlagRow(f))
		})
		if len(rows) > 0 {
			b.WriteString("\n| flag | value | default | environment | |\n|---|---|---|---|---|\n")
			for _, r := range rows {
				b.WriteString(r)
			}
		}
		var subs []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				subs = append(subs, fmt.Sprintf("[`%s`](#%s)", sub.Name(), docsAnchor(sub)))
			}
		}
		if len(subs) > 0 {
			fmt.Fprintf(&b, "\nSubcommands: %s.\n", strings.Join(subs, ", "))
		}
	}
	return b.Bytes()
}

// docsAnchor is the anchor GitHub gives a command's heading.
func docsAnchor(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

func docsFlagRow(f *pflag.Flag) string {
	name := "`--" + f.Name + "`"
	if f.Shorthand != "" {
		name = "`-" + f.Shorthand + "`, " + name
	}
	value, def := "", ""
	if f.NoOptDefVal == "" {
		value, _ = pflag.UnquoteUsage(f)
		if f.DefValue != "" && f.DefValue != "[]" && f.DefValue != "0" {
			def = "`" + f.DefValue + "`"
		}
	}
	env := ""
	if e := f.Annotations[envAnnotation]; len(e) > 0 {
		env = "`" + strings.Join(e, "`, `") + "`"
	}
	usage := f.Usage
	if i := strings.Index(usage, " [env: "); i >= 0 && env != "" {
		usage = usage[:i]
	}
	usage = strings.ReplaceAll(usage, "`", "")
	return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", name, value, def, env, strings.ReplaceAll(usage, "|", `\|`))
}

// TestCommandReferencePage: docs/cli.md is the page generated from the
// command tree; it fails when a command changed without the page
// (HAB_UPDATE_DOCS=1 rewrites it), and every command of the tree is on it.
func TestCommandReferencePage(t *testing.T) {
	root := docsTree(t)
	page := docsMarkdown(root)
	for _, c := range docsVisible(root) {
		if !bytes.Contains(page, []byte("\n## "+c.CommandPath()+"\n")) {
			t.Errorf("%s has no section", c.CommandPath())
		}
	}
	if os.Getenv("HAB_UPDATE_DOCS") != "" {
		if err := os.WriteFile(docsPage, page, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(docsPage)
	if err != nil {
		t.Fatalf("%v (HAB_UPDATE_DOCS=1 go test ./cmd/hab -run TestCommandReferencePage writes it)", err)
	}
	if !bytes.Equal(old, page) {
		t.Errorf("%s is out of date with the command tree: run HAB_UPDATE_DOCS=1 go test ./cmd/hab -run TestCommandReferencePage", docsPage)
	}
}

// TestManPages: a man page per visible command, generated with
// cobra/doc; each names its command and is reproducible (the date comes
// from SOURCE_DATE_EPOCH's rule: a fixed one). HAB_MAN_DIR=DIR writes
// them there (make man).
func TestManPages(t *testing.T) {
	dir := os.Getenv("HAB_MAN_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	date := time.Unix(0, 0).UTC()
	header := &doc.GenManHeader{Title: "HAB", Section: "1", Source: "hab " + version, Manual: "Habitat", Date: &date}
	root := docsTree(t)
	// md2man reads <PKG_IDENT> as an HTML tag and drops it: the man
	// pages' synopses name arguments without the angle brackets.
	for _, c := range docsVisible(root) {
		c.Use = strings.NewReplacer("<", "", ">", "").Replace(c.Use)
	}
	if err := doc.GenManTree(root, header, dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if data, err := os.ReadFile(filepath.Join(dir, "hab-pkg-binds.1")); err != nil || !bytes.Contains(data, []byte("hab pkg binds PKG_IDENT")) {
		t.Errorf("the synopsis of hab pkg binds does not name PKG_IDENT (%v):\n%s", err, data)
	}
	for _, c := range docsVisible(docsTree(t)) {
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		if !slices.Contains(names, name) {
			t.Errorf("no man page %s", name)
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// md2man may or may not escape the hyphen of a name like
		// generate-tls.
		path := c.CommandPath()
		if !bytes.Contains(data, []byte(".TH \"HAB\" \"1\"")) || !bytes.Contains(data, []byte(strings.ReplaceAll(path, "-", `\-`))) && !bytes.Contains(data, []byte(path)) {
			t.Errorf("%s does not read as the man page of %s:\n%.400s", name, c.CommandPath(), data)
		}
	}
}
